//! Test harness: the NVML stub library, a test controller on 127.0.0.1, fake nodes, HTTP GETs.
//!
//! Also compiled into the benchmarks (`#[path]`), so not every helper is used by every binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use phalanx_agent::probe::{BackendSpec, FakeNode, Probe, ProbeMsg};
use phalanx_agent::sample::NodeSample;

/// This process's directory under Cargo's target tmp dir; on first use, the directories of earlier test
/// processes that have ended are removed.
fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ended = name
                .strip_prefix("phalanx-agent-")
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
            if ended {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        root.join(format!("phalanx-agent-{}", std::process::id()))
    })
}

/// A fresh directory for this test process.
fn scratch(kind: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = process_dir().join(format!("{kind}-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// The stub `libnvidia-ml.so.1`, compiled once per test process with `$CC` (default `cc`).
fn stub_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stub/nvml_stub.c");
        let out = scratch("stub-build").join("libnvidia-ml.so.1");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
        let status = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&out)
            .arg(&src)
            .arg("-ldl")
            .status()
            .unwrap_or_else(|e| panic!("the NVML stub needs a C compiler: running `{cc}` failed: {e}"));
        assert!(status.success(), "compiling {} with `{cc}` failed", src.display());
        out
    })
}

/// A private copy of the stub library with its own configuration file (`nvml_stub.conf`).
///
/// Each copy is a separate library to the dynamic loader, so tests running in parallel do not share stub
/// state.
pub struct StubNode {
    dir: PathBuf,
    lib: PathBuf,
    conf: PathBuf,
}

impl StubNode {
    /// A stub node configured by `conf` lines (e.g. `"gpus 2"`).
    pub fn new(conf: &[&str]) -> StubNode {
        let dir = scratch("stub");
        let lib = dir.join("libnvidia-ml.so.1");
        std::fs::copy(stub_library(), &lib).expect("copy the stub library");
        let conf_path = dir.join("nvml_stub.conf");
        let mut text: String = conf.iter().map(|l| format!("{l}\n")).collect();
        text.insert_str(0, "# test configuration\n");
        std::fs::write(&conf_path, text).expect("write the stub configuration");
        StubNode {
            dir,
            lib,
            conf: conf_path,
        }
    }

    /// A stub node with the default eight GPUs and no configuration file: nothing can be injected, and the
    /// stub sleeps through event waits instead of polling for a file (what the benchmarks measure with).
    pub fn bare() -> StubNode {
        let node = StubNode::new(&[]);
        std::fs::remove_file(&node.conf).expect("remove the stub configuration");
        node
    }

    /// The library path to give the agent.
    pub fn lib(&self) -> &Path {
        &self.lib
    }

    /// The backend spec for this stub.
    pub fn spec(&self) -> BackendSpec {
        BackendSpec::Nvml {
            lib_path: Some(self.lib.clone()),
        }
    }

    /// Appends a fault line (`"xid 1 79"`, `"ecc 2 1"`, `"lost 3"`, `"count 7"`); the stub applies it the
    /// next time it reads its configuration. Written whole and renamed into place, so the stub never
    /// reads half a line.
    pub fn inject(&self, line: &str) {
        let mut text = std::fs::read_to_string(&self.conf).expect("read the stub configuration");
        text.push_str(line);
        text.push('\n');
        let tmp = self.dir.join("nvml_stub.conf.new");
        std::fs::write(&tmp, text).expect("write the stub configuration");
        std::fs::rename(&tmp, &self.conf).expect("replace the stub configuration");
    }
}

impl Drop for StubNode {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The next sample from `probe`, failing the test after 10 s.
pub fn next_sample(probe: &Probe) -> NodeSample {
    match probe
        .recv_timeout(Duration::from_secs(10))
        .expect("the probe thread is running")
    {
        Some(ProbeMsg::Sample(s)) => *s,
        Some(ProbeMsg::Failed(e)) => panic!("sampling failed: {e}"),
        None => panic!("no sample within 10 s"),
    }
}

/// An eight-GPU fake node; `extra` is spliced into the JSON object (e.g. `"faults": [...]`).
pub fn fake_json(extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{
  "host": {{ "name": "fake-a100", "cpus": 128, "memory_mib": 1048576, "cpu_model": "AMD EPYC 7763" }},
  "driver_version": "550.54.15",
  "gpus": [ {{ "count": 8, "name": "NVIDIA A100-SXM4-80GB", "memory_mib": 81920, "util_pct": 50,
              "memory_used_mib": 4096, "temperature_c": 45, "power_w": 300 }} ],
  "nvlink": {{ "nvswitch": 12 }}{sep}
  {extra}
}}"#
    )
}

/// A fake node from [`fake_json`].
pub fn fake_node(extra: &str) -> FakeNode {
    FakeNode::from_json(&fake_json(extra), "test").expect("a valid fake node")
}

/// Writes `json` to a fresh file and returns its path (kept for the test process's life).
pub fn fake_file(json: &str) -> PathBuf {
    let path = scratch("fake").join("node.json");
    std::fs::write(&path, json).expect("write the fake node");
    path
}

/// The built `phalanx-agent` binary.
pub fn agent_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phalanx-agent"))
}

/// One received request.
#[derive(Clone, Debug)]
pub struct Received {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body.
    pub body: String,
}

/// A controller stand-in on 127.0.0.1 that records what it is sent and answers 200.
pub struct TestController {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl TestController {
    /// Listens on a free loopback port.
    pub fn start() -> TestController {
        TestController::on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Listens on `addr` (a loopback address).
    pub fn on(addr: SocketAddr) -> TestController {
        assert!(addr.ip().is_loopback(), "tests only listen on loopback");
        let server = Arc::new(tiny_http::Server::http(addr).expect("bind the test controller"));
        let addr = server.server_addr().to_ip().expect("an IP address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let received = Arc::clone(&received);
            thread::spawn(move || {
                for mut req in server.incoming_requests() {
                    let mut body = String::new();
                    let _ = req.as_reader().read_to_string(&mut body);
                    let content_type = req
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Content-Type"))
                        .map(|h| h.value.to_string())
                        .unwrap_or_default();
                    received.lock().unwrap().push(Received {
                        method: req.method().to_string(),
                        path: req.url().to_owned(),
                        content_type,
                        body,
                    });
                    let _ = req.respond(tiny_http::Response::from_string("{}"));
                }
            })
        };
        TestController {
            server,
            addr,
            received,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it has received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until it has received `n` requests (10 s at most).
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.received();
            if r.len() >= n || Instant::now() > deadline {
                return r;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TestController {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback address nothing listens on (a port just bound and released).
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("its address")
}

/// `GET path` from a loopback server: (status code, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send the request");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read the answer");
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, body.to_owned())
}
