//! The controller client: `POST <controller>/v1/node-status` with a [`crate::report::NodeStatus`] as JSON.

use std::time::Duration;

/// The path, under the controller's base URL, that receives node reports.
pub const STATUS_PATH: &str = "/v1/node-status";

/// A controller URL the agent cannot use.
#[derive(Debug, thiserror::Error)]
#[error("`{url}` is not a controller URL: {problem} (expected e.g. `http://10.0.0.1:8080`)")]
pub struct BadControllerUrl {
    /// The URL given.
    pub url: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// A report that did not reach the controller.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(String);

/// Sends reports to one controller.
#[derive(Debug)]
pub struct Controller {
    endpoint: String,
    agent: ureq::Agent,
}

impl Controller {
    /// A client for the controller at `base` (`http://host:port`, optionally with a path prefix); each
    /// phase of a request (connect, send, receive) gives up after `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Controller, BadControllerUrl> {
        let bad = |problem| BadControllerUrl {
            url: base.to_owned(),
            problem,
        };
        let Some(rest) = base.strip_prefix("http://") else {
            return Err(if base.starts_with("https://") {
                bad("HTTPS is not supported; use plain HTTP inside the cluster network")
            } else {
                bad("it must start with `http://`")
            });
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("it has no host"));
        }
        // Each phase has its own limit rather than one global limit: with a global limit ureq resolves the
        // host name in a new thread on every request. Resolution itself is left to the system resolver.
        let t = Some(timeout);
        let config = ureq::Agent::config_builder()
            .timeout_connect(t)
            .timeout_send_request(t)
            .timeout_send_body(t)
            .timeout_recv_response(t)
            .timeout_recv_body(t)
            .proxy(None)
            .user_agent(concat!("phalanx-agent/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Controller {
            endpoint: format!("{}{STATUS_PATH}", base.trim_end_matches('/')),
            agent: config.into(),
        })
    }

    /// The full URL reports go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Posts one JSON report; any answer but 2xx is an error.
    pub fn send(&self, json: &[u8]) -> Result<(), SendError> {
        let resp = self
            .agent
            .post(&self.endpoint)
            .content_type("application/json")
            .send(json)
            .map_err(|e| SendError(e.to_string()))?;
        // Read the (small) answer so the connection can be reused.
        let _ = resp.into_body().read_to_vec();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_urls_are_checked() {
        let t = Duration::from_secs(1);
        let c = Controller::new("http://127.0.0.1:8080/", t).unwrap();
        assert_eq!(c.endpoint(), "http://127.0.0.1:8080/v1/node-status");
        let e = Controller::new("127.0.0.1:8080", t).unwrap_err().to_string();
        assert_eq!(
            e,
            "`127.0.0.1:8080` is not a controller URL: it must start with `http://` (expected e.g. `http://10.0.0.1:8080`)"
        );
        assert!(Controller::new("https://c", t).is_err());
        assert!(Controller::new("http://", t).is_err());
    }
}
