//! A simulated node read from a JSON description (`--fake FILE`), for development and tests without GPUs.
//!
//! ```json
//! {
//!   "host": { "name": "fake-a100", "cpus": 128, "memory_mib": 1048576 },
//!   "driver_version": "550.54.15",
//!   "gpus": [ { "count": 8, "name": "NVIDIA A100-SXM4-80GB", "memory_mib": 81920, "util_pct": 50 } ],
//!   "nvlink": { "nvswitch": 12 },
//!   "faults": [ { "fault": "xid", "cycle": 3, "gpu": 1, "code": 79 } ]
//! }
//! ```
//!
//! Faults happen at a sampling cycle (the first sample is cycle 0): `xid` delivers a critical XID event,
//! `ecc` adds uncorrectable ECC errors (and their event), `lost` makes the GPU answer "GPU is lost" from
//! then on.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Backend, ProbeError, Wait};
use crate::sample::{
    BackendKind, GpuEvent, GpuEventKind, GpuReading, GpuSample, HostInfo, MigInstanceSample, MigSample, NodeSample,
    PciePath,
};

const MIB: u64 = 1024 * 1024;

/// A simulated node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeNode {
    /// The host.
    pub host: FakeHost,
    /// The driver version to report.
    #[serde(default)]
    pub driver_version: Option<String>,
    /// GPU groups, in index order.
    pub gpus: Vec<FakeGpu>,
    /// How the GPUs are linked.
    #[serde(default)]
    pub nvlink: FakeNvLink,
    /// Faults to inject.
    #[serde(default)]
    pub faults: Vec<FakeFault>,
}

/// The simulated host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeHost {
    /// Host name.
    pub name: String,
    /// Logical CPUs.
    pub cpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// CPU model name.
    #[serde(default)]
    pub cpu_model: String,
}

/// `count` identical simulated GPUs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeGpu {
    /// How many (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// NVML product name, e.g. `NVIDIA A100-SXM4-80GB`.
    pub name: String,
    /// Device memory in MiB.
    pub memory_mib: u64,
    /// GPU utilisation, percent.
    #[serde(default)]
    pub util_pct: u32,
    /// Device memory in use, MiB.
    #[serde(default)]
    pub memory_used_mib: u64,
    /// Temperature, °C (default 40).
    #[serde(default = "forty")]
    pub temperature_c: u32,
    /// Power draw, watts.
    #[serde(default)]
    pub power_w: u32,
    /// NUMA node; by default the first half of the node's GPUs is on node 0 and the rest on node 1.
    #[serde(default)]
    pub numa_node: Option<u32>,
    /// MIG state; absent for a GPU without MIG support.
    #[serde(default)]
    pub mig: Option<FakeMig>,
}

fn one() -> u32 {
    1
}

fn forty() -> u32 {
    40
}

/// MIG state of a simulated GPU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeMig {
    /// MIG mode on.
    pub enabled: bool,
    /// Instance profiles, e.g. `["3g.40gb", "3g.40gb"]`.
    #[serde(default)]
    pub instances: Vec<String>,
}

/// NVLink layout of a simulated node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FakeNvLink {
    /// No NVLink (`"none"`).
    #[default]
    None,
    /// Every GPU has this many links to a set of NVSwitches (`{"nvswitch": 12}`).
    Nvswitch(u32),
    /// Direct links, `[gpu, gpu, links]` (`{"pairs": [[0, 1, 4]]}`).
    Pairs(Vec<[u32; 3]>),
}

/// A fault injected at a sampling cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum FakeFault {
    /// A critical XID event.
    Xid {
        /// The cycle it happens at.
        cycle: u64,
        /// The GPU index.
        gpu: u32,
        /// The XID.
        code: u64,
    },
    /// Uncorrectable ECC errors.
    Ecc {
        /// The cycle it happens at.
        cycle: u64,
        /// The GPU index.
        gpu: u32,
        /// How many errors.
        count: u64,
    },
    /// The GPU falls off the bus.
    Lost {
        /// The cycle it happens at.
        cycle: u64,
        /// The GPU index.
        gpu: u32,
    },
}

impl FakeFault {
    fn cycle(&self) -> u64 {
        match *self {
            FakeFault::Xid { cycle, .. } | FakeFault::Ecc { cycle, .. } | FakeFault::Lost { cycle, .. } => cycle,
        }
    }

    fn gpu(&self) -> u32 {
        match *self {
            FakeFault::Xid { gpu, .. } | FakeFault::Ecc { gpu, .. } | FakeFault::Lost { gpu, .. } => gpu,
        }
    }
}

/// A fake node description that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// The file cannot be read.
    #[error("cannot read the fake node `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The JSON does not parse or does not have the expected shape.
    #[error(
        "{path}:{line}:{column}: {message}; a fake node is JSON of the form \
         {{\"host\": {{\"name\": …, \"cpus\": …, \"memory_mib\": …}}, \"gpus\": [{{\"name\": …, \"memory_mib\": …}}]}} \
         (see the agent's README)"
    )]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The JSON is well-formed but inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl FakeNode {
    /// Reads and checks a description file.
    pub fn from_file(path: &Path) -> Result<FakeNode, FakeError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FakeError::Read {
            path: shown.clone(),
            source,
        })?;
        FakeNode::from_json(&text, &shown)
    }

    /// Parses and checks a description; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<FakeNode, FakeError> {
        let node: FakeNode = serde_json::from_str(text).map_err(|e| FakeError::Parse {
            path: origin.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        })?;
        node.check().map_err(|message| FakeError::Invalid {
            path: origin.to_owned(),
            message,
        })?;
        Ok(node)
    }

    /// The number of GPUs.
    pub fn gpu_count(&self) -> u32 {
        self.gpus.iter().map(|g| g.count).sum()
    }

    fn check(&self) -> Result<(), String> {
        let n = self.gpu_count();
        for f in &self.faults {
            if f.gpu() >= n {
                return Err(format!(
                    "a fault names GPU {} but the node has {n} GPUs (0 to {})",
                    f.gpu(),
                    n.max(1) - 1
                ));
            }
        }
        if let FakeNvLink::Pairs(pairs) = &self.nvlink {
            for &[a, b, _] in pairs {
                if a >= n || b >= n || a == b {
                    return Err(format!("NVLink pair [{a}, {b}] must name two different GPUs below {n}"));
                }
            }
        }
        if let Some(g) = self.gpus.iter().find(|g| g.memory_used_mib > g.memory_mib) {
            return Err(format!("GPU `{}` uses more memory than it has", g.name));
        }
        Ok(())
    }
}

/// One expanded simulated GPU.
#[derive(Clone, Debug)]
struct Gpu {
    spec: FakeGpu,
    uuid: String,
    bus_id: String,
    numa: u32,
    nvlink_remotes: Vec<String>,
    ecc_uncorrected: u64,
    lost: bool,
}

/// The simulated node's backend.
pub(super) struct FakeBackend {
    node: FakeNode,
    gpus: Vec<Gpu>,
    cycle: u64,
}

/// A stable 32-bit hash (FNV-1a), so UUIDs differ between fake hosts and never between runs.
fn fnv1a(s: &str) -> u32 {
    s.bytes()
        .fold(0x811c_9dc5, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

fn bus_id(bus: u32) -> String {
    format!("00000000:{bus:02X}:00.0")
}

/// GiB in a MIG profile name such as `3g.40gb`.
fn profile_gib(profile: &str) -> u64 {
    profile
        .split('.')
        .nth(1)
        .and_then(|m| m.trim_end_matches("gb").parse().ok())
        .unwrap_or(0)
}

impl FakeBackend {
    pub(super) fn new(node: FakeNode) -> Result<FakeBackend, ProbeError> {
        node.check().map_err(|message| FakeError::Invalid {
            path: "fake node".to_owned(),
            message,
        })?;
        let n = node.gpu_count();
        let host_hash = fnv1a(&node.host.name);
        let mut gpus = Vec::with_capacity(n as usize);
        for spec in &node.gpus {
            for _ in 0..spec.count {
                let i = gpus.len() as u32;
                gpus.push(Gpu {
                    spec: spec.clone(),
                    uuid: format!("GPU-{host_hash:08x}-0000-4000-8000-{i:012x}"),
                    bus_id: bus_id(0x10 + i),
                    numa: spec.numa_node.unwrap_or(if i < n.div_ceil(2) { 0 } else { 1 }),
                    nvlink_remotes: Vec::new(),
                    ecc_uncorrected: 0,
                    lost: false,
                });
            }
        }
        match &node.nvlink {
            FakeNvLink::None => {}
            FakeNvLink::Nvswitch(links) => {
                for g in &mut gpus {
                    g.nvlink_remotes = (0..*links).map(|l| bus_id(0xC0 + l % 6)).collect();
                }
            }
            FakeNvLink::Pairs(pairs) => {
                for &[a, b, links] in pairs {
                    for _ in 0..links {
                        let (ba, bb) = (gpus[a as usize].bus_id.clone(), gpus[b as usize].bus_id.clone());
                        gpus[a as usize].nvlink_remotes.push(bb);
                        gpus[b as usize].nvlink_remotes.push(ba);
                    }
                }
            }
        }
        Ok(FakeBackend { node, gpus, cycle: 0 })
    }

    fn reading(&self, i: usize) -> GpuReading {
        let g = &self.gpus[i];
        if g.lost {
            return GpuReading::Lost {
                index: i as u32,
                reason: "GPU is lost (simulated)".to_owned(),
            };
        }
        let s = &g.spec;
        let pcie_paths = self
            .gpus
            .iter()
            .enumerate()
            .filter(|&(j, o)| j != i && !o.lost)
            .map(|(j, o)| {
                let path = if o.numa != g.numa {
                    PciePath::Sys
                } else if j / 2 == i / 2 {
                    PciePath::Pix
                } else {
                    PciePath::Node
                };
                (j as u32, path)
            })
            .collect();
        let mig = s.mig.as_ref().map(|m| MigSample {
            enabled: m.enabled,
            pending: m.enabled,
            instances: if m.enabled {
                m.instances
                    .iter()
                    .enumerate()
                    .map(|(k, p)| MigInstanceSample {
                        uuid: format!("MIG-{}-{k}", &g.uuid[4..]),
                        name: format!("{} MIG {p}", s.name),
                        memory_total_bytes: profile_gib(p) * 1024 * MIB,
                    })
                    .collect()
            } else {
                Vec::new()
            },
        });
        GpuReading::Ok(Box::new(GpuSample {
            index: i as u32,
            uuid: g.uuid.clone(),
            name: s.name.clone(),
            pci_bus_id: g.bus_id.clone(),
            numa_node: Some(g.numa),
            memory_total_bytes: s.memory_mib * MIB,
            memory_used_bytes: s.memory_used_mib * MIB,
            memory_free_bytes: (s.memory_mib - s.memory_used_mib) * MIB,
            nvlink_remotes: g.nvlink_remotes.clone(),
            pcie_paths,
            mig,
            util_gpu_pct: Some(s.util_pct),
            util_memory_pct: Some(s.util_pct / 2),
            temperature_c: Some(s.temperature_c),
            power_mw: Some(s.power_w * 1000),
            energy_mj: None,
            ecc_corrected: Some(0),
            ecc_uncorrected: Some(g.ecc_uncorrected),
        }))
    }
}

impl Backend for FakeBackend {
    fn sample(&mut self) -> Result<NodeSample, ProbeError> {
        let mut events = Vec::new();
        for f in self.node.faults.iter().filter(|f| f.cycle() == self.cycle) {
            let g = &mut self.gpus[f.gpu() as usize];
            let kind = match *f {
                FakeFault::Xid { code, .. } => GpuEventKind::Xid(Some(code)),
                FakeFault::Ecc { count, .. } => {
                    g.ecc_uncorrected += count;
                    GpuEventKind::UncorrectableEcc
                }
                FakeFault::Lost { .. } => {
                    g.lost = true;
                    continue;
                }
            };
            events.push(GpuEvent {
                uuid: g.uuid.clone(),
                kind,
            });
        }
        self.cycle += 1;
        let h = &self.node.host;
        Ok(NodeSample {
            backend: BackendKind::Fake,
            host: HostInfo {
                name: h.name.clone(),
                cpus: h.cpus,
                cpu_model: h.cpu_model.clone(),
                memory_mib: h.memory_mib,
            },
            driver_version: self.node.driver_version.clone(),
            gpus: (0..self.gpus.len()).map(|i| self.reading(i)).collect(),
            events,
            warnings: Vec::new(),
        })
    }

    fn wait_events(&mut self, _timeout: Duration) -> Wait {
        Wait::Unsupported
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_place_and_the_expected_form() {
        let e = FakeNode::from_json("{\"host\": {\"name\": \"x\", \"cpus\": 1}}", "node.json").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("node.json:1:"), "{msg}");
        assert!(msg.contains("missing field `memory_mib`"), "{msg}");
        assert!(msg.contains("a fake node is JSON of the form"), "{msg}");

        let bad_fault = r#"{"host": {"name": "x", "cpus": 1, "memory_mib": 1},
            "gpus": [{"name": "NVIDIA L4", "memory_mib": 23034}],
            "faults": [{"fault": "xid", "cycle": 0, "gpu": 3, "code": 79}]}"#;
        let msg = FakeNode::from_json(bad_fault, "n.json").unwrap_err().to_string();
        assert_eq!(msg, "n.json: a fault names GPU 3 but the node has 1 GPUs (0 to 0)");
    }

    #[test]
    fn faults_happen_at_their_cycle() {
        let node = FakeNode::from_json(
            r#"{"host": {"name": "x", "cpus": 2, "memory_mib": 1024},
                "gpus": [{"count": 2, "name": "NVIDIA L4", "memory_mib": 23034}],
                "faults": [{"fault": "ecc", "cycle": 1, "gpu": 0, "count": 2},
                           {"fault": "lost", "cycle": 2, "gpu": 1}]}"#,
            "t",
        )
        .unwrap();
        let mut b = FakeBackend::new(node).unwrap();
        let s0 = b.sample().unwrap();
        assert!(s0.events.is_empty());
        let s1 = b.sample().unwrap();
        assert_eq!(s1.events.len(), 1);
        let GpuReading::Ok(g) = &s1.gpus[0] else {
            panic!("GPU 0 lost")
        };
        assert_eq!(g.ecc_uncorrected, Some(2));
        let s2 = b.sample().unwrap();
        assert!(matches!(s2.gpus[1], GpuReading::Lost { index: 1, .. }));
    }
}
