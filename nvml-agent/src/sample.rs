//! What the probe reads from the hardware in one cycle, before any interpretation.
//!
//! These are plain values: raw counters in the units NVML gives (bytes, milliwatts, millijoules), NVML's
//! device indices and PCI bus ids. [`crate::report`] turns them into the core's node model and the wire
//! format; nothing here decides health.

use serde::{Deserialize, Serialize};

/// Which backend produced a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The NVIDIA driver's management library (`libnvidia-ml.so.1`) through `nvml-wrapper`.
    Nvml,
    /// A simulated node described by a JSON file (`--fake`).
    Fake,
}

impl BackendKind {
    /// The name used on the wire and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Nvml => "nvml",
            BackendKind::Fake => "fake",
        }
    }
}

/// The host's CPUs and memory.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HostInfo {
    /// Host name.
    pub name: String,
    /// Online logical CPUs.
    pub cpus: u32,
    /// CPU model name, empty if unknown.
    pub cpu_model: String,
    /// Physical memory in MiB.
    pub memory_mib: u64,
}

/// One probing cycle of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSample {
    /// Which backend read it.
    pub backend: BackendKind,
    /// The host.
    pub host: HostInfo,
    /// The driver version, if the backend reports one.
    pub driver_version: Option<String>,
    /// The devices the driver lists, in NVML index order.
    pub gpus: Vec<GpuReading>,
    /// Health events (XID, uncorrectable ECC) seen since the previous sample, oldest first.
    pub events: Vec<GpuEvent>,
    /// Problems of the probe itself since the previous sample (for the log).
    pub warnings: Vec<String>,
}

/// One listed device: either readable, or answering that it is lost.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuReading {
    /// The device answered.
    Ok(Box<GpuSample>),
    /// The device at this NVML index answered "GPU is lost" (fallen off the bus) or could not be read.
    Lost {
        /// NVML device index.
        index: u32,
        /// What the driver said.
        reason: String,
    },
}

/// PCIe distance between two devices, as NVML's `nvmlDeviceGetTopologyCommonAncestor` reports it.
///
/// The names are those of `nvidia-smi topo -m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PciePath {
    /// The same board (multi-GPU boards).
    Board,
    /// `PIX`: at most one PCIe bridge apart.
    Pix,
    /// `PXB`: several PCIe bridges apart, without crossing a host bridge.
    Pxb,
    /// `PHB`: through a PCIe host bridge.
    Phb,
    /// `NODE`: through the interconnect between host bridges within one NUMA node.
    Node,
    /// `SYS`: across NUMA nodes (the SMP interconnect).
    Sys,
}

impl PciePath {
    /// The `nvidia-smi topo -m` abbreviation.
    pub fn as_str(self) -> &'static str {
        match self {
            PciePath::Board => "board",
            PciePath::Pix => "pix",
            PciePath::Pxb => "pxb",
            PciePath::Phb => "phb",
            PciePath::Node => "node",
            PciePath::Sys => "sys",
        }
    }
}

/// A MIG instance of a device in MIG mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigInstanceSample {
    /// The instance's UUID (`MIG-…`).
    pub uuid: String,
    /// Its name, e.g. `NVIDIA A100-SXM4-80GB MIG 3g.40gb`.
    pub name: String,
    /// Its memory in bytes.
    pub memory_total_bytes: u64,
}

/// MIG state of a device that supports MIG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigSample {
    /// MIG mode is on now.
    pub enabled: bool,
    /// MIG mode will be on after the next reset.
    pub pending: bool,
    /// The instances, when enabled.
    pub instances: Vec<MigInstanceSample>,
}

/// What one device reported. `None` means the device does not support that query.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GpuSample {
    /// NVML device index.
    pub index: u32,
    /// The device UUID (`GPU-…`), stable across reboots.
    pub uuid: String,
    /// NVML's product name, e.g. `NVIDIA A100-SXM4-80GB`.
    pub name: String,
    /// PCI bus id, e.g. `00000000:07:00.0`.
    pub pci_bus_id: String,
    /// NUMA node the device is attached to.
    pub numa_node: Option<u32>,
    /// Device memory, in bytes.
    pub memory_total_bytes: u64,
    /// Device memory in use, in bytes.
    pub memory_used_bytes: u64,
    /// Device memory free, in bytes.
    pub memory_free_bytes: u64,
    /// One entry per active NVLink: the PCI bus id of the device at the other end (a GPU or an NVSwitch).
    pub nvlink_remotes: Vec<String>,
    /// PCIe distance to each other device, by NVML index.
    pub pcie_paths: Vec<(u32, PciePath)>,
    /// MIG state, if the device supports MIG.
    pub mig: Option<MigSample>,
    /// Percent of time a kernel was running over the last sample period.
    pub util_gpu_pct: Option<u32>,
    /// Percent of time device memory was read or written over the last sample period.
    pub util_memory_pct: Option<u32>,
    /// Core temperature, °C.
    pub temperature_c: Option<u32>,
    /// Power draw, milliwatts.
    pub power_mw: Option<u32>,
    /// Energy used since the driver loaded, millijoules (the NVML backend reads it at most every 30 s).
    pub energy_mj: Option<u64>,
    /// Volatile (since the driver loaded) corrected ECC errors.
    pub ecc_corrected: Option<u64>,
    /// Volatile (since the driver loaded) uncorrected ECC errors.
    pub ecc_uncorrected: Option<u64>,
}

/// A health event from the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuEvent {
    /// The device's UUID.
    pub uuid: String,
    /// What happened.
    pub kind: GpuEventKind,
}

/// The kinds of health event the agent listens for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuEventKind {
    /// A critical XID error; `None` when the driver did not say which.
    Xid(Option<u64>),
    /// An uncorrectable (double-bit) ECC error.
    UncorrectableEcc,
}
