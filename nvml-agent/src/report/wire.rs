//! The wire format: what the agent sends to the controller and prints for `inventory --json`.
//!
//! A [`NodeStatus`] carries the core's own [`NodeSpec`], so a controller feeds it to
//! `Scheduler::handle_node_added` as is, and each [`GpuStatus::health`] to `Scheduler::handle_gpu_health`
//! with the GPU's [`GpuStatus::index`]; everything else is for people and dashboards.

use phalanx_core::{GpuHealth, GpuModel, NodeSpec};
use serde::{Deserialize, Serialize};

use crate::sample::{BackendKind, PciePath};

/// The version of this format; bumped on incompatible changes.
pub const WIRE_VERSION: u32 = 1;

/// One report of a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// [`WIRE_VERSION`].
    pub version: u32,
    /// `phalanx-agent <crate version>`.
    pub agent: String,
    /// Report number since the agent started, from 0.
    pub seq: u64,
    /// When the sample was taken, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// Where the readings came from.
    pub backend: BackendKind,
    /// The NVIDIA driver version, if known.
    pub driver_version: Option<String>,
    /// The CPU model name, if known.
    pub cpu_model: String,
    /// The node in the core's model: resources, GPU models and health, in device-index order.
    pub node: NodeSpec,
    /// Every GPU the agent has seen since it started, in the same order as `node.gpus`.
    pub gpus: Vec<GpuStatus>,
}

/// One GPU: identity, topology, health and the latest readings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuStatus {
    /// The index into `node.gpus` (the NVML index when the agent first saw the device).
    pub index: u32,
    /// The device UUID.
    pub uuid: String,
    /// NVML's product name.
    pub name: String,
    /// The Phalanx model it maps to.
    pub model: GpuModel,
    /// Device memory in MiB.
    pub memory_mib: u64,
    /// PCI bus id.
    pub pci_bus_id: String,
    /// NUMA node, if known.
    pub numa_node: Option<u32>,
    /// Active NVLinks.
    pub nvlinks: u32,
    /// Whether the NVLinks go to NVSwitches (all GPUs on the same switches are peers).
    pub nvswitch: bool,
    /// Indices of the GPUs reachable over NVLink, directly or through NVSwitches.
    pub nvlink_peers: Vec<u32>,
    /// PCIe distance to each other present GPU.
    pub pcie: Vec<PeerPath>,
    /// MIG state, if the device supports MIG.
    pub mig: Option<MigStatus>,
    /// The driver lists the device and answers for it.
    pub present: bool,
    /// Health as the core sees it.
    pub health: GpuHealth,
    /// Why it is unhealthy; `None` when healthy.
    pub health_reason: Option<String>,
    /// Critical XID events seen since the agent started.
    pub xid_events: u64,
    /// The last XID seen, if any.
    pub last_xid: Option<u64>,
    /// The latest readings; `None` while the device is not present.
    pub metrics: Option<GpuMetrics>,
}

/// PCIe distance to a peer GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerPath {
    /// The peer's index.
    pub gpu: u32,
    /// The distance.
    pub path: PciePath,
}

/// MIG state of a GPU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigStatus {
    /// MIG mode is on.
    pub enabled: bool,
    /// MIG mode is on after the next reset.
    pub pending: bool,
    /// The instances.
    pub instances: Vec<MigInstance>,
}

/// One MIG instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigInstance {
    /// Its UUID.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Its memory in MiB.
    pub memory_mib: u64,
}

/// The latest readings of a GPU. `None` fields are not supported by the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuMetrics {
    /// GPU utilisation, percent.
    pub gpu_util_pct: Option<u32>,
    /// Memory bandwidth utilisation, percent.
    pub mem_util_pct: Option<u32>,
    /// Device memory used, MiB.
    pub fb_used_mib: u64,
    /// Device memory free, MiB.
    pub fb_free_mib: u64,
    /// Temperature, °C.
    pub temperature_c: Option<u32>,
    /// Power draw, milliwatts.
    pub power_mw: Option<u32>,
    /// Energy since the driver loaded, millijoules (the NVML backend reads it at most every 30 s).
    pub energy_mj: Option<u64>,
    /// Corrected ECC errors since the driver loaded.
    pub ecc_corrected: Option<u64>,
    /// Uncorrected ECC errors since the driver loaded.
    pub ecc_uncorrected: Option<u64>,
}
