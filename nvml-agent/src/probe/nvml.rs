//! The NVML backend, through `nvml-wrapper` (which loads `libnvidia-ml.so.1` at run time).
//!
//! Per sample: the device count, then for each device its handle, UUID, memory, utilisation, temperature,
//! power, energy, volatile ECC counts and MIG mode. What does not change while the device set stays the
//! same (name, PCI bus id, NUMA node, NVLink remotes, PCIe distances) is read once per device set.
//! A query a device does not support is left out of the sample; a device that answers "GPU is lost" is
//! reported lost.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use nvml_wrapper::bitmasks::event::EventTypes;
use nvml_wrapper::enum_wrappers::device::{EccCounter, MemoryError, TemperatureSensor, TopologyLevel};
use nvml_wrapper::enums::event::XidError;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, EventSet, Nvml};

use super::{Backend, ProbeError, Wait, DEFAULT_NVML_LIB};
use crate::host::read_host;
use crate::sample::{
    BackendKind, GpuEvent, GpuEventKind, GpuReading, GpuSample, HostInfo, MigInstanceSample, MigSample, NodeSample,
    PciePath,
};

/// NVML's `NVML_NVLINK_MAX_LINKS`: link indices run from 0 below it.
const NVLINK_MAX_LINKS: u32 = 18;

/// Loads the library and initialises NVML.
pub(super) fn open(lib_path: Option<&Path>) -> Result<Nvml, ProbeError> {
    let path: &OsStr = lib_path.map_or(OsStr::new(DEFAULT_NVML_LIB), Path::as_os_str);
    let shown = path.to_string_lossy().into_owned();
    Nvml::builder().lib_path(path).init().map_err(|e| match e {
        NvmlError::LibloadingError(le) => ProbeError::NoLibrary {
            path: shown,
            reason: le.to_string(),
        },
        NvmlError::FailedToLoadSymbol(s) => ProbeError::NoLibrary {
            path: shown,
            reason: format!("not an NVML library: {s}"),
        },
        other => ProbeError::Init {
            path: shown,
            reason: other.to_string(),
        },
    })
}

/// What is read once per device set.
#[derive(Clone, Debug, Default)]
struct Static {
    name: String,
    pci_bus_id: String,
    numa_node: Option<u32>,
    nvlink_remotes: Vec<String>,
    pcie_paths: Vec<(u32, PciePath)>,
}

/// Reads a node through NVML.
pub(super) struct NvmlBackend<'n> {
    nvml: &'n Nvml,
    host: HostInfo,
    driver: Option<String>,
    events: Option<EventSet<'n>>,
    registered: BTreeSet<String>,
    pending: Vec<GpuEvent>,
    warnings: Vec<String>,
    /// The device set (UUIDs by NVML index) `statics` was read for.
    static_for: Vec<String>,
    statics: Vec<Static>,
    /// Event waits that failed in a row (a lost GPU makes them fail at once).
    wait_failures: u32,
    /// Each GPU's energy counter (by UUID) and when it was read.
    energy: BTreeMap<String, (Instant, Option<u64>)>,
}

/// How often a GPU's energy counter is read. The read is the one costly NVML query of a cycle: on an H200
/// (driver 580.159.04) it took 3.0 ms of CPU (median; 5.7 ms p90) where every other query takes 1–5 µs
/// (MIG mode: 0.16 ms). Between reads the last value is reported; for a counter that is only a coarser
/// sample.
const ENERGY_EVERY: Duration = Duration::from_secs(30);

impl<'n> NvmlBackend<'n> {
    pub(super) fn new(nvml: &'n Nvml) -> NvmlBackend<'n> {
        let mut warnings = Vec::new();
        let events = match nvml.create_event_set() {
            Ok(set) => Some(set),
            Err(e) => {
                warnings.push(format!(
                    "NVML events unavailable ({e}): XIDs are not watched, ECC counts still are"
                ));
                None
            }
        };
        NvmlBackend {
            nvml,
            host: read_host(),
            driver: nvml.sys_driver_version().ok(),
            events,
            registered: BTreeSet::new(),
            pending: Vec::new(),
            warnings,
            static_for: Vec::new(),
            statics: Vec::new(),
            wait_failures: 0,
            energy: BTreeMap::new(),
        }
    }

    /// Registers `dev` for XID and uncorrectable-ECC events, once per UUID.
    fn register(&mut self, dev: &Device<'n>, uuid: &str) {
        if self.registered.contains(uuid) {
            return;
        }
        self.registered.insert(uuid.to_owned());
        let Some(set) = self.events.take() else { return };
        let wanted = EventTypes::CRITICAL_XID_ERROR | EventTypes::DOUBLE_BIT_ECC_ERROR;
        let types = dev.supported_event_types().map_or(EventTypes::empty(), |s| s & wanted);
        if types.is_empty() {
            self.events = Some(set);
            return;
        }
        match dev.register_events(types, set) {
            Ok(set) => self.events = Some(set),
            Err(e) => self.warnings.push(format!(
                "NVML event registration failed for {uuid} ({e}): XIDs are no longer watched"
            )),
        }
    }

    /// The GPU's energy counter: read from NVML at most once per [`ENERGY_EVERY`], else the last reading.
    fn energy(&mut self, d: &Device<'n>, uuid: &str) -> Result<Option<u64>, NvmlError> {
        let now = Instant::now();
        if let Some((at, mj)) = self.energy.get(uuid) {
            if now.duration_since(*at) < ENERGY_EVERY {
                return Ok(*mj);
            }
        }
        let mj = opt(d.total_energy_consumption())?;
        self.energy.insert(uuid.to_owned(), (now, mj));
        Ok(mj)
    }

    fn read_statics(&self, devices: &[(u32, Device<'n>, String)]) -> Vec<Static> {
        devices
            .iter()
            .map(|(index, d, _)| {
                let mut nvlink_remotes = Vec::new();
                for link in 0..NVLINK_MAX_LINKS {
                    let l = d.link_wrapper_for(link);
                    match l.is_active() {
                        Ok(true) => {
                            if let Ok(pci) = l.remote_pci_info() {
                                nvlink_remotes.push(pci.bus_id);
                            }
                        }
                        Ok(false) => {}
                        Err(_) => break,
                    }
                }
                let pcie_paths = devices
                    .iter()
                    .filter(|(j, _, _)| j != index)
                    .filter_map(|(j, _, _)| {
                        let other = self.nvml.device_by_index(*j).ok()?;
                        let level = d.topology_common_ancestor(other).ok()?;
                        Some((*j, pcie_path(level)))
                    })
                    .collect();
                Static {
                    name: d.name().unwrap_or_default(),
                    pci_bus_id: d.pci_info().map(|p| p.bus_id).unwrap_or_default(),
                    numa_node: d.numa_node_id().ok(),
                    nvlink_remotes,
                    pcie_paths,
                }
            })
            .collect()
    }
}

fn pcie_path(level: TopologyLevel) -> PciePath {
    match level {
        TopologyLevel::Internal => PciePath::Board,
        TopologyLevel::Single => PciePath::Pix,
        TopologyLevel::Multiple => PciePath::Pxb,
        TopologyLevel::HostBridge => PciePath::Phb,
        TopologyLevel::Node => PciePath::Node,
        TopologyLevel::System => PciePath::Sys,
    }
}

/// `Some` for a value, `None` for an unsupported query, `Err` only when the GPU is lost.
fn opt<T>(r: Result<T, NvmlError>) -> Result<Option<T>, NvmlError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(NvmlError::GpuLost) => Err(NvmlError::GpuLost),
        Err(_) => Ok(None),
    }
}

fn read_dynamic(
    d: &Device<'_>,
    index: u32,
    uuid: &str,
    st: &Static,
    energy_mj: Option<u64>,
) -> Result<GpuSample, NvmlError> {
    let mem = opt(d.memory_info())?;
    let util = opt(d.utilization_rates())?;
    let mig = match opt(d.mig_mode())? {
        None => None,
        Some(mode) => {
            let enabled = mode.current == 1;
            let mut instances = Vec::new();
            if enabled {
                let max = opt(d.mig_device_count())?.unwrap_or(0);
                for k in 0..max {
                    let Ok(m) = d.mig_device_by_index(k) else { continue };
                    instances.push(MigInstanceSample {
                        uuid: m.uuid().unwrap_or_default(),
                        name: m.name().unwrap_or_default(),
                        memory_total_bytes: m.memory_info().map_or(0, |i| i.total),
                    });
                }
            }
            Some(MigSample {
                enabled,
                pending: mode.pending == 1,
                instances,
            })
        }
    };
    Ok(GpuSample {
        index,
        uuid: uuid.to_owned(),
        name: st.name.clone(),
        pci_bus_id: st.pci_bus_id.clone(),
        numa_node: st.numa_node,
        memory_total_bytes: mem.as_ref().map_or(0, |m| m.total),
        memory_used_bytes: mem.as_ref().map_or(0, |m| m.used),
        memory_free_bytes: mem.as_ref().map_or(0, |m| m.free),
        nvlink_remotes: st.nvlink_remotes.clone(),
        pcie_paths: st.pcie_paths.clone(),
        mig,
        util_gpu_pct: util.as_ref().map(|u| u.gpu),
        util_memory_pct: util.as_ref().map(|u| u.memory),
        temperature_c: opt(d.temperature(TemperatureSensor::Gpu))?,
        power_mw: opt(d.power_usage())?,
        energy_mj,
        ecc_corrected: opt(d.total_ecc_errors(MemoryError::Corrected, EccCounter::Volatile))?,
        ecc_uncorrected: opt(d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile))?,
    })
}

impl Backend for NvmlBackend<'_> {
    fn sample(&mut self) -> Result<NodeSample, ProbeError> {
        let count = self.nvml.device_count().map_err(|source| ProbeError::Nvml {
            call: "nvmlDeviceGetCount_v2",
            source,
        })?;
        let mut readings: Vec<Option<GpuReading>> = vec![None; count as usize];
        let mut devices = Vec::with_capacity(count as usize);
        for i in 0..count {
            match self.nvml.device_by_index(i).and_then(|d| d.uuid().map(|u| (d, u))) {
                Ok((d, u)) => devices.push((i, d, u)),
                Err(e) => {
                    readings[i as usize] = Some(GpuReading::Lost {
                        index: i,
                        reason: e.to_string(),
                    })
                }
            }
        }
        let uuids: Vec<String> = devices.iter().map(|(_, _, u)| u.clone()).collect();
        if uuids != self.static_for {
            self.statics = self.read_statics(&devices);
            self.static_for = uuids;
        }
        for (k, (i, d, uuid)) in devices.iter().enumerate() {
            self.register(d, uuid);
            let read = self
                .energy(d, uuid)
                .and_then(|energy| read_dynamic(d, *i, uuid, &self.statics[k], energy));
            let reading = match read {
                Ok(g) => GpuReading::Ok(Box::new(g)),
                Err(e) => GpuReading::Lost {
                    index: *i,
                    reason: e.to_string(),
                },
            };
            readings[*i as usize] = Some(reading);
        }
        Ok(NodeSample {
            backend: BackendKind::Nvml,
            host: self.host.clone(),
            driver_version: self.driver.clone(),
            gpus: readings.into_iter().flatten().collect(),
            events: std::mem::take(&mut self.pending),
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    fn wait_events(&mut self, timeout: Duration) -> Wait {
        let Some(set) = &self.events else {
            return Wait::Unsupported;
        };
        // Round up: a wait rounded down to 0 ms returns at once and the caller would spin until its deadline.
        let ms = u32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(u32::MAX);
        match set.wait(ms) {
            Ok(data) => {
                let uuid = data.device.uuid().unwrap_or_default();
                let kind = if data.event_type.contains(EventTypes::CRITICAL_XID_ERROR) {
                    GpuEventKind::Xid(match data.event_data {
                        Some(XidError::Value(v)) => Some(v),
                        _ => None,
                    })
                } else {
                    GpuEventKind::UncorrectableEcc
                };
                self.pending.push(GpuEvent { uuid, kind });
                self.wait_failures = 0;
                Wait::Event
            }
            Err(NvmlError::Timeout) => {
                self.wait_failures = 0;
                Wait::Timeout
            }
            Err(e) => {
                // A lost GPU makes the wait fail at once: sample now to report it, then sleep until the next
                // interval rather than spin on a wait that keeps failing.
                self.wait_failures += 1;
                if self.wait_failures == 1 {
                    self.warnings.push(format!("waiting for NVML events failed: {e}"));
                    Wait::Event
                } else {
                    Wait::Unsupported
                }
            }
        }
    }
}
