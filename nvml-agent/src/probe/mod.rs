//! Reading the hardware: a [`Backend`] (NVML or a fake node) driven in a background thread.
//!
//! NVML calls can block for hundreds of milliseconds (a GPU being reset, a driver busy with an XID), so
//! nothing else waits on them: [`Probe::start`] opens the backend in its own thread, which samples the node
//! every interval and sends each [`NodeSample`] over a channel. Between samples the thread waits for NVML's
//! health events (critical XID, uncorrectable ECC); such an event ends the wait early, so the next sample,
//! carrying the event, goes out at once rather than at the end of the interval.

mod fake;
mod nvml;

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use fake::{FakeError, FakeFault, FakeGpu, FakeHost, FakeMig, FakeNode, FakeNvLink};

use crate::sample::NodeSample;

/// The NVML library the agent loads unless told otherwise.
pub const DEFAULT_NVML_LIB: &str = "libnvidia-ml.so.1";

/// The longest one wait for health events lasts before the probe thread checks whether it should stop.
const EVENT_WAIT_SLICE: Duration = Duration::from_millis(200);

/// Where readings come from.
#[derive(Clone, Debug)]
pub enum BackendSpec {
    /// NVML, from this library path (a bare name is searched for like any shared library); `None` for
    /// [`DEFAULT_NVML_LIB`].
    Nvml {
        /// The library to load.
        lib_path: Option<PathBuf>,
    },
    /// A simulated node.
    Fake(FakeNode),
}

/// Why the hardware could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The NVML library is not there (no NVIDIA driver on this machine).
    #[error(
        "cannot load the NVIDIA driver library `{path}` ({reason}): install the NVIDIA driver, which provides \
         it (Debian: `libnvidia-ml1`, Ubuntu: `libnvidia-compute-<version>`), point `--nvml-lib` at it, or run \
         with `--fake FILE` to simulate a node"
    )]
    NoLibrary {
        /// The library the agent tried to load.
        path: String,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library loaded but NVML did not start (no kernel driver, no permission, driver mismatch).
    #[error(
        "the NVIDIA driver library `{path}` loaded but NVML did not start ({reason}): check that the NVIDIA \
         kernel driver is loaded and `nvidia-smi` works, or run with `--fake FILE` to simulate a node"
    )]
    Init {
        /// The library the agent loaded.
        path: String,
        /// What NVML said.
        reason: String,
    },
    /// An NVML call the agent cannot do without failed.
    #[error("NVML call `{call}` failed: {source}")]
    Nvml {
        /// The NVML function.
        call: &'static str,
        /// NVML's error.
        #[source]
        source: nvml_wrapper::error::NvmlError,
    },
    /// The fake node description is invalid.
    #[error(transparent)]
    Fake(#[from] FakeError),
    /// The probe thread ended (it panicked or its backend failed for good).
    #[error("the probe thread stopped")]
    Stopped,
}

/// What happened while a backend waited for health events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A health event arrived (it is kept for the next sample): sample now.
    Event,
    /// The timeout passed without an event.
    Timeout,
    /// This backend cannot wait for events: the caller sleeps instead.
    Unsupported,
}

/// A source of node samples. Implementations may block.
pub trait Backend {
    /// Reads the node once. Health events seen since the last call are included and then forgotten.
    fn sample(&mut self) -> Result<NodeSample, ProbeError>;

    /// Waits up to `timeout` for a health event.
    fn wait_events(&mut self, timeout: Duration) -> Wait;
}

/// Opens the backend `spec` on the current thread and runs `f` with it.
///
/// NVML's handles borrow the library object, so a backend lives inside this call; [`Probe::start`]
/// runs it in a thread of its own.
pub fn with_backend<R>(spec: &BackendSpec, f: impl FnOnce(&mut dyn Backend) -> R) -> Result<R, ProbeError> {
    match spec {
        BackendSpec::Nvml { lib_path } => {
            let lib = nvml::open(lib_path.as_deref())?;
            let mut backend = nvml::NvmlBackend::new(&lib);
            Ok(f(&mut backend))
        }
        BackendSpec::Fake(node) => {
            let mut backend = fake::FakeBackend::new(node.clone())?;
            Ok(f(&mut backend))
        }
    }
}

/// A message from the probe thread.
#[derive(Debug)]
pub enum ProbeMsg {
    /// A sample of the node.
    Sample(Box<NodeSample>),
    /// A sample failed; the thread goes on and tries again at the next interval.
    Failed(ProbeError),
}

/// The background thread that samples a node every interval.
///
/// Dropping the probe stops the thread and waits for it (at most one NVML call plus 200 ms).
#[derive(Debug)]
pub struct Probe {
    rx: Receiver<ProbeMsg>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Probe {
    /// Opens the backend in a new thread and starts sampling every `interval`; the first sample is taken at
    /// once. Returns when the backend is open, with its error if it could not be opened.
    pub fn start(spec: BackendSpec, interval: Duration) -> Result<Probe, ProbeError> {
        // Unbounded: a consumer held up by a slow controller must not make the probe drop a sample (and the
        // health events in it) or stall; the backlog is bounded by the controller's request timeouts.
        let (tx, rx) = mpsc::channel::<ProbeMsg>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), ProbeError>>(1);
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("phalanx-probe".to_owned())
            .spawn(move || {
                let opened = with_backend(&spec, |backend| {
                    let _ = ready_tx.send(Ok(()));
                    drive(backend, interval, &tx, &stop_rx);
                });
                if let Err(e) = opened {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|_| ProbeError::Stopped)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Probe {
                rx,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(ProbeError::Stopped)
            }
        }
    }

    /// Takes one sample in a background thread and stops.
    pub fn once(spec: BackendSpec) -> Result<NodeSample, ProbeError> {
        thread::Builder::new()
            .name("phalanx-probe".to_owned())
            .spawn(move || with_backend(&spec, |backend| backend.sample()))
            .map_err(|_| ProbeError::Stopped)?
            .join()
            .map_err(|_| ProbeError::Stopped)?
            .and_then(|sample| sample)
    }

    /// The next message, waiting as long as it takes. `Err` when the thread has ended.
    pub fn recv(&self) -> Result<ProbeMsg, ProbeError> {
        self.rx.recv().map_err(|_| ProbeError::Stopped)
    }

    /// The next message if one comes within `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<ProbeMsg>, ProbeError> {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => Ok(Some(m)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(ProbeError::Stopped),
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // Closing the stop channel wakes a sleeping thread; a thread in an NVML wait notices within a slice.
        self.stop = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The probe thread's loop: sample, send, wait for events or the next interval, until stopped.
fn drive(backend: &mut dyn Backend, interval: Duration, tx: &Sender<ProbeMsg>, stop: &Receiver<()>) {
    let stopped = || matches!(stop.try_recv(), Err(mpsc::TryRecvError::Disconnected) | Ok(()));
    loop {
        let started = Instant::now();
        let msg = match backend.sample() {
            Ok(s) => ProbeMsg::Sample(Box::new(s)),
            Err(e) => ProbeMsg::Failed(e),
        };
        if tx.send(msg).is_err() {
            return;
        }
        let deadline = started + interval;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let left = deadline - now;
            match backend.wait_events(left.min(EVENT_WAIT_SLICE)) {
                Wait::Event => break,
                Wait::Timeout => {
                    if stopped() {
                        return;
                    }
                }
                Wait::Unsupported => match stop.recv_timeout(left) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                },
            }
        }
        if stopped() {
            return;
        }
    }
}
