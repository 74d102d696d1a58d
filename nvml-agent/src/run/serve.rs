//! The agent's own HTTP endpoint: `/metrics` (Prometheus text) and `/status` (the last report as JSON).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::thread::{self, JoinHandle};

use tiny_http::{Header, Response, Server};

/// The metrics address could not be served.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {addr}: {reason}")]
pub struct ServeError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// Why.
    pub reason: String,
}

#[derive(Debug, Default)]
struct Pages {
    metrics: String,
    status: String,
}

/// A small HTTP server in its own thread; stops when dropped.
pub struct MetricsServer {
    server: Arc<Server>,
    addr: SocketAddr,
    pages: Arc<RwLock<Pages>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// Listens on `addr` (port 0 picks a free port).
    pub fn start(addr: SocketAddr) -> Result<MetricsServer, ServeError> {
        let server = Server::http(addr).map_err(|e| ServeError {
            addr,
            reason: e.to_string(),
        })?;
        let server = Arc::new(server);
        let bound = server.server_addr().to_ip().unwrap_or(addr);
        let pages = Arc::new(RwLock::new(Pages::default()));
        let thread = {
            let server = Arc::clone(&server);
            let pages = Arc::clone(&pages);
            thread::Builder::new()
                .name("phalanx-metrics".to_owned())
                .spawn(move || serve(&server, &pages))
                .map_err(|e| ServeError {
                    addr,
                    reason: e.to_string(),
                })?
        };
        Ok(MetricsServer {
            server,
            addr: bound,
            pages,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the pages served.
    pub fn publish(&self, metrics: String, status: String) {
        let mut p = self.pages.write().unwrap_or_else(|e| e.into_inner());
        p.metrics = metrics;
        p.status = status;
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: &Server, pages: &RwLock<Pages>) {
    let header = |v: &str| Header::from_bytes("Content-Type", v).expect("a valid literal header");
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or_default();
        let resp = {
            let p = pages.read().unwrap_or_else(|e| e.into_inner());
            match path {
                "/metrics" => Response::from_string(p.metrics.clone())
                    .with_header(header("text/plain; version=0.0.4; charset=utf-8")),
                "/status" => Response::from_string(p.status.clone()).with_header(header("application/json")),
                "/" => Response::from_string("phalanx-agent: see /metrics and /status\n")
                    .with_header(header("text/plain; charset=utf-8")),
                _ => Response::from_string("not found\n").with_status_code(404),
            }
        };
        let _ = req.respond(resp);
    }
}
