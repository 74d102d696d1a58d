//! # phalanx-agent
//!
//! Phalanx's node agent: it tells the scheduler the truth about a GPU host — which GPUs exist, how they
//! are linked, whether MIG is on, and whether a GPU has just failed — in the core's own node model.
//!
//! The agent is three layers, each usable alone:
//!
//! - [`probe`] reads the hardware through NVML (`nvml-wrapper`, which loads `libnvidia-ml.so.1` at run
//!   time) or a simulated node ([`probe::FakeNode`]), in a background thread, and yields plain
//!   [`sample::NodeSample`]s;
//! - [`report`] turns samples into a [`report::NodeStatus`] — the core's [`phalanx_core::NodeSpec`] plus
//!   per-GPU identity, topology, health and readings — and into Prometheus text. It is pure: no NVML, no
//!   I/O, no clock;
//! - [`run`] is the loop: sample, report, post to the controller with backoff, serve `/metrics`.
//!
//! ```
//! use phalanx_agent::probe::{BackendSpec, FakeNode, Probe};
//! use phalanx_agent::report::{ReportConfig, Reporter};
//!
//! let node = FakeNode::from_json(
//!     r#"{"host": {"name": "dev", "cpus": 8, "memory_mib": 32768},
//!         "gpus": [{"count": 2, "name": "NVIDIA L4", "memory_mib": 23034}]}"#,
//!     "inline",
//! )?;
//! let sample = Probe::once(BackendSpec::Fake(node))?;
//! let report = Reporter::new(ReportConfig::default()).report(&sample, 0);
//! assert_eq!(report.status.node.gpus.len(), 2);
//! assert_eq!(report.status.node.gpus[0].model.as_str(), "nvidia/L4");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod host;
pub mod probe;
pub mod report;
pub mod run;
pub mod sample;
