//! The reporting loop: probe samples in, reports to the controller and the metrics endpoint out.
//!
//! Each cycle takes the probe's next sample, turns it into a report ([`crate::report`]), logs health
//! changes, posts the report to the controller when the retry backoff allows, and publishes the metrics
//! text. A controller that cannot be reached never stops the loop: the failure is logged, the next try
//! waits 1 s, then 2 s, 4 s … up to 60 s (tries happen at sampling cycles, so never more often than the
//! interval), and only the newest report is sent when it comes back.

mod backoff;
mod controller;
mod log;
mod serve;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use backoff::Backoff;
pub use controller::{BadControllerUrl, Controller, SendError, STATUS_PATH};
pub use log::{rfc3339_ms, Log};
pub use serve::{MetricsServer, ServeError};

use crate::probe::{BackendSpec, Probe, ProbeError, ProbeMsg};
use crate::report::{render_metrics, AgentStats, Report, ReportConfig, Reporter};

/// The first retry delay after the controller could not be reached.
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// The longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Time between samples.
    pub interval: Duration,
    /// The controller's base URL; `None` to only serve metrics.
    pub controller: Option<String>,
    /// Where to serve `/metrics`; `None` for nowhere.
    pub metrics: Option<SocketAddr>,
    /// Stop after this many cycles (tests and benchmarks); `None` to run until killed.
    pub cycles: Option<u64>,
    /// Time limit of each phase of a request to the controller (connect, send, receive).
    pub request_timeout: Duration,
    /// The first and the longest wait before trying an unreachable controller again.
    pub backoff: (Duration, Duration),
    /// What the operator adds to the node description.
    pub report: ReportConfig,
}

impl Default for RunConfig {
    fn default() -> RunConfig {
        RunConfig {
            interval: Duration::from_secs(5),
            controller: None,
            metrics: None,
            cycles: None,
            request_timeout: Duration::from_secs(5),
            backoff: (BACKOFF_INITIAL, BACKOFF_MAX),
            report: ReportConfig::default(),
        }
    }
}

/// Why the agent could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The hardware cannot be read.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The controller URL is unusable.
    #[error(transparent)]
    Controller(#[from] BadControllerUrl),
    /// The metrics address cannot be served.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// What a finished run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// The agent's counters at the end.
    pub stats: AgentStats,
}

/// A started agent: probe thread running, metrics served, ready to [`Agent::run`].
#[derive(Debug)]
pub struct Agent {
    cfg: RunConfig,
    log: Log,
    probe: Probe,
    reporter: Reporter,
    controller: Option<Controller>,
    backoff: Backoff,
    server: Option<MetricsServer>,
    stats: AgentStats,
    stop: Arc<AtomicBool>,
}

/// Asks a running [`Agent`] to return from [`Agent::run`] after its current cycle.
#[derive(Clone, Debug)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Requests the stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Agent {
    /// Opens the backend, checks the controller URL and binds the metrics address.
    pub fn start(spec: BackendSpec, cfg: RunConfig, log: Log) -> Result<Agent, RunError> {
        let controller = cfg
            .controller
            .as_deref()
            .map(|url| Controller::new(url, cfg.request_timeout))
            .transpose()?;
        let probe = Probe::start(spec, cfg.interval)?;
        let server = cfg.metrics.map(MetricsServer::start).transpose()?;
        if let Some(s) = &server {
            log.info(format!("serving metrics on http://{}/metrics", s.addr()));
        }
        match &controller {
            Some(c) => log.info(format!("reporting to {} every {:?}", c.endpoint(), cfg.interval)),
            None => log.info("no controller given: reports are only served on /status"),
        }
        Ok(Agent {
            reporter: Reporter::new(cfg.report.clone()),
            controller,
            backoff: Backoff::new(cfg.backoff.0, cfg.backoff.1),
            server,
            stats: AgentStats {
                controller_up: None,
                ..AgentStats::default()
            },
            probe,
            log,
            cfg,
            stop: Arc::default(),
        })
    }

    /// A handle that stops [`Agent::run`] from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.stop))
    }

    /// The address `/metrics` is served on, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(MetricsServer::addr)
    }

    /// Runs cycles until the configured count is reached or a [`Stopper`] asks, or forever. `Err` when the
    /// probe thread is gone.
    pub fn run(mut self) -> Result<RunSummary, RunError> {
        while self.cfg.cycles.is_none_or(|n| self.stats.cycles < n) && !self.stop.load(Ordering::Relaxed) {
            match self.probe.recv()? {
                ProbeMsg::Sample(s) => self.cycle(&s),
                ProbeMsg::Failed(e) => {
                    self.stats.cycles += 1;
                    self.log
                        .warn(format!("sampling failed: {e}; trying again at the next interval"));
                }
            }
        }
        Ok(RunSummary { stats: self.stats })
    }

    fn cycle(&mut self, sample: &crate::sample::NodeSample) {
        self.stats.cycles += 1;
        for w in &sample.warnings {
            self.log.warn(w);
        }
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let Report { status, changes } = self.reporter.report(sample, unix_ms);
        if status.seq == 0 {
            let healthy = status
                .gpus
                .iter()
                .filter(|g| g.health == phalanx_core::GpuHealth::Healthy)
                .count();
            let models: std::collections::BTreeSet<String> = status.gpus.iter().map(|g| g.model.to_string()).collect();
            self.log.info(format!(
                "node {}: {} GPUs ({}), {healthy} healthy, backend {}",
                status.node.name,
                status.gpus.len(),
                models.into_iter().collect::<Vec<_>>().join(", "),
                status.backend.as_str()
            ));
        }
        for c in &changes {
            self.log
                .warn(format!("GPU {} ({}) is {:?}: {}", c.gpu, c.uuid, c.health, c.reason));
        }

        let json = serde_json::to_string(&status).unwrap_or_default();
        if let Some(ctrl) = &self.controller {
            let now = Instant::now();
            if self.backoff.ready(now) {
                match ctrl.send(json.as_bytes()) {
                    Ok(()) => {
                        if self.stats.controller_up == Some(false) {
                            self.log.info(format!("controller {} reachable again", ctrl.endpoint()));
                        }
                        self.backoff.succeeded();
                        self.stats.reports_sent += 1;
                        self.stats.controller_up = Some(true);
                    }
                    Err(e) => {
                        let wait = self.backoff.failed(now);
                        self.stats.report_failures += 1;
                        self.stats.controller_up = Some(false);
                        self.log.warn(format!(
                            "controller {} unreachable: {e}; still sampling, next try in {:?}",
                            ctrl.endpoint(),
                            wait.max(self.cfg.interval)
                        ));
                    }
                }
            }
        }
        if let Some(server) = &self.server {
            server.publish(render_metrics(&status, &self.stats), json);
        }
    }
}

/// Parses `5s`, `500ms`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: expected e.g. `5s`, `500ms`, `2m`"))?;
    let secs = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        u => return Err(format!("`{text}`: unknown unit `{u}` (use ms, s, m or h)")),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("`{text}`: the duration must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("fast").is_err());
    }
}
