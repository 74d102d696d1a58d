//! Pure conversion of probe samples into the core's node model, the wire format and the metrics text.
//!
//! Nothing here touches NVML, the network, files or the clock: [`Reporter::report`] takes a
//! [`NodeSample`] and the time it was taken, and returns a [`Report`]. The [`Reporter`] keeps what must
//! outlive one sample: which GPUs it has seen (so a GPU that vanishes is reported lost, not forgotten) and
//! each GPU's health.
//!
//! Health rules, applied in this order to each sample:
//! 1. a critical XID event marks the GPU unhealthy if [`xid_info`] says the XID is fatal;
//! 2. an uncorrectable-ECC event, or a rise of the volatile uncorrected ECC count (a count above zero in
//!    the first sample included, since the count restarts at zero when the driver loads), marks it
//!    unhealthy;
//! 3. a GPU the driver reports lost, or no longer lists, is marked unhealthy and not present.
//!
//! Unhealthy is sticky: a failed GPU needs a reset or a reboot, which restarts the agent. The first
//! reason is kept.

mod metrics;
mod model;
mod text;
mod wire;
mod xid;

use std::collections::BTreeMap;

use phalanx_core::{GpuHealth, GpuSpec, Location, NodeSpec, NodeState};

pub use metrics::{render_metrics, AgentStats};
pub use model::{model_for, unknown as unknown_model};
pub use text::render_inventory;
pub use wire::{GpuMetrics, GpuStatus, MigInstance, MigStatus, NodeStatus, PeerPath, WIRE_VERSION};
pub use xid::{xid_info, XidInfo, XID_TABLE};

use crate::sample::{GpuEventKind, GpuReading, GpuSample, NodeSample};

const MIB: u64 = 1024 * 1024;

/// What the operator adds to what the hardware says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportConfig {
    /// The node's name; the host name when `None`.
    pub node_name: Option<String>,
    /// Labels for the node.
    pub labels: BTreeMap<String, String>,
    /// Zone and rack.
    pub location: Location,
}

/// A GPU's health changed in this report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChange {
    /// The GPU's index in the node.
    pub gpu: u32,
    /// Its UUID.
    pub uuid: String,
    /// The new health.
    pub health: GpuHealth,
    /// Why.
    pub reason: String,
}

/// The result of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The node's status.
    pub status: NodeStatus,
    /// Health transitions in this report, by GPU index.
    pub changes: Vec<HealthChange>,
}

/// What the reporter remembers of one GPU.
#[derive(Clone, Debug)]
struct Slot {
    uuid: String,
    /// The NVML index the driver last listed it at.
    nvml_index: u32,
    /// The last good reading: identity and topology outlive the device's loss.
    last: Option<GpuSample>,
    present: bool,
    health: GpuHealth,
    reason: Option<String>,
    xid_events: u64,
    last_xid: Option<u64>,
    ecc_uncorrected_seen: u64,
}

impl Slot {
    fn new(uuid: String, nvml_index: u32) -> Slot {
        Slot {
            uuid,
            nvml_index,
            last: None,
            present: false,
            health: GpuHealth::Healthy,
            reason: None,
            xid_events: 0,
            last_xid: None,
            ecc_uncorrected_seen: 0,
        }
    }
}

/// Turns samples into reports, remembering GPUs and their health across samples.
#[derive(Clone, Debug)]
pub struct Reporter {
    cfg: ReportConfig,
    slots: Vec<Slot>,
    seq: u64,
}

impl Reporter {
    /// A reporter that has seen nothing yet.
    pub fn new(cfg: ReportConfig) -> Reporter {
        Reporter {
            cfg,
            slots: Vec::new(),
            seq: 0,
        }
    }

    /// The report for `sample`, taken at `unix_ms`.
    pub fn report(&mut self, sample: &NodeSample, unix_ms: u64) -> Report {
        let mut changes = Vec::new();
        let mut seen = vec![false; self.slots.len()];

        // Identity and presence.
        for reading in &sample.gpus {
            let GpuReading::Ok(g) = reading else { continue };
            let i = match self.slots.iter().position(|s| s.uuid == g.uuid) {
                Some(i) => i,
                None => {
                    self.slots.push(Slot::new(g.uuid.clone(), g.index));
                    seen.push(false);
                    self.slots.len() - 1
                }
            };
            seen[i] = true;
            let slot = &mut self.slots[i];
            slot.nvml_index = g.index;
            slot.present = true;
            slot.last = Some((**g).clone());
        }

        // 1-2. Events.
        for ev in &sample.events {
            let Some(i) = self.slots.iter().position(|s| s.uuid == ev.uuid) else {
                continue;
            };
            let reason = match ev.kind {
                GpuEventKind::Xid(xid) => {
                    let slot = &mut self.slots[i];
                    slot.xid_events += 1;
                    slot.last_xid = xid.or(slot.last_xid);
                    let info = xid_info(xid);
                    if !info.fatal {
                        continue;
                    }
                    match xid {
                        Some(x) => format!("XID {x}: {}", info.meaning),
                        None => "XID of unknown number: treated as fatal".to_owned(),
                    }
                }
                GpuEventKind::UncorrectableEcc => "uncorrectable ECC error".to_owned(),
            };
            mark_unhealthy(&mut self.slots[i], i, reason, &mut changes);
        }

        // 2. ECC counters.
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(count) = slot.last.as_ref().and_then(|g| g.ecc_uncorrected) else {
                continue;
            };
            if seen[i] && count > slot.ecc_uncorrected_seen {
                slot.ecc_uncorrected_seen = count;
                let reason = format!("{count} uncorrectable ECC error(s) since the driver loaded");
                mark_unhealthy(slot, i, reason, &mut changes);
            }
        }

        // 3. Lost devices: reported lost at an index, or no longer listed.
        for reading in &sample.gpus {
            let GpuReading::Lost { index, reason } = reading else {
                continue;
            };
            let i = match (0..self.slots.len()).find(|&i| !seen[i] && self.slots[i].nvml_index == *index) {
                Some(i) => i,
                None => {
                    self.slots.push(Slot::new(format!("unknown-{index}"), *index));
                    seen.push(false);
                    self.slots.len() - 1
                }
            };
            seen[i] = true;
            self.slots[i].present = false;
            mark_unhealthy(&mut self.slots[i], i, format!("lost: {reason}"), &mut changes);
        }
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if !seen[i] {
                slot.present = false;
                let reason = "lost: no longer listed by the driver".to_owned();
                mark_unhealthy(slot, i, reason, &mut changes);
            }
        }

        changes.sort_by_key(|c| c.gpu);
        let status = self.status(sample, unix_ms);
        self.seq += 1;
        Report { status, changes }
    }

    fn status(&self, sample: &NodeSample, unix_ms: u64) -> NodeStatus {
        let fallback_model = self
            .slots
            .iter()
            .find_map(|s| s.last.as_ref())
            .map_or_else(unknown_model, |g| model_for(&g.name, g.memory_total_bytes / MIB));

        // Bus id -> GPU index, over every GPU ever seen; NVML index -> GPU index over the present ones.
        let by_bus: BTreeMap<&str, u32> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.last.as_ref().map(|g| (g.pci_bus_id.as_str(), i as u32)))
            .collect();
        let by_nvml: BTreeMap<u32, u32> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.present)
            .map(|(i, s)| (s.nvml_index, i as u32))
            .collect();

        let gpus: Vec<GpuStatus> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| gpu_status(i as u32, s, &self.slots, &by_bus, &by_nvml, &fallback_model))
            .collect();

        let node = NodeSpec {
            name: self.cfg.node_name.clone().unwrap_or_else(|| sample.host.name.clone()),
            labels: self.cfg.labels.clone(),
            location: self.cfg.location.clone(),
            cpu_milli: u64::from(sample.host.cpus) * 1000,
            memory_mib: sample.host.memory_mib,
            gpus: gpus
                .iter()
                .map(|g| GpuSpec {
                    model: g.model.clone(),
                    memory_mib: g.memory_mib,
                    health: g.health,
                })
                .collect(),
            state: NodeState::Schedulable,
        };

        NodeStatus {
            version: WIRE_VERSION,
            agent: concat!("phalanx-agent ", env!("CARGO_PKG_VERSION")).to_owned(),
            seq: self.seq,
            unix_ms,
            backend: sample.backend,
            driver_version: sample.driver_version.clone(),
            cpu_model: sample.host.cpu_model.clone(),
            node,
            gpus,
        }
    }
}

fn mark_unhealthy(slot: &mut Slot, i: usize, reason: String, changes: &mut Vec<HealthChange>) {
    if slot.health == GpuHealth::Unhealthy {
        return;
    }
    slot.health = GpuHealth::Unhealthy;
    slot.reason = Some(reason.clone());
    changes.push(HealthChange {
        gpu: i as u32,
        uuid: slot.uuid.clone(),
        health: GpuHealth::Unhealthy,
        reason,
    });
}

fn gpu_status(
    index: u32,
    s: &Slot,
    slots: &[Slot],
    by_bus: &BTreeMap<&str, u32>,
    by_nvml: &BTreeMap<u32, u32>,
    fallback_model: &phalanx_core::GpuModel,
) -> GpuStatus {
    let Some(g) = &s.last else {
        return GpuStatus {
            index,
            uuid: s.uuid.clone(),
            name: String::new(),
            model: fallback_model.clone(),
            memory_mib: 0,
            pci_bus_id: String::new(),
            numa_node: None,
            nvlinks: 0,
            nvswitch: false,
            nvlink_peers: Vec::new(),
            pcie: Vec::new(),
            mig: None,
            present: s.present,
            health: s.health,
            health_reason: s.reason.clone(),
            xid_events: s.xid_events,
            last_xid: s.last_xid,
            metrics: None,
        };
    };
    let memory_mib = g.memory_total_bytes / MIB;

    // NVLink: remotes that are GPUs are direct peers; other remotes are switches, shared with every GPU
    // that reaches one of the same switches.
    let switches: Vec<&str> = g
        .nvlink_remotes
        .iter()
        .map(String::as_str)
        .filter(|b| !by_bus.contains_key(b))
        .collect();
    let mut peers: Vec<u32> = g
        .nvlink_remotes
        .iter()
        .filter_map(|b| by_bus.get(b.as_str()).copied())
        .collect();
    if !switches.is_empty() {
        for (j, other) in slots.iter().enumerate() {
            let Some(o) = &other.last else { continue };
            if o.nvlink_remotes.iter().any(|b| switches.contains(&b.as_str())) {
                peers.push(j as u32);
            }
        }
    }
    peers.retain(|&p| p != index);
    peers.sort_unstable();
    peers.dedup();

    let mut pcie: Vec<PeerPath> = g
        .pcie_paths
        .iter()
        .filter_map(|&(nvml, path)| by_nvml.get(&nvml).map(|&gpu| PeerPath { gpu, path }))
        .filter(|p| p.gpu != index)
        .collect();
    pcie.sort_by_key(|p| p.gpu);

    GpuStatus {
        index,
        uuid: s.uuid.clone(),
        name: g.name.clone(),
        model: model_for(&g.name, memory_mib),
        memory_mib,
        pci_bus_id: g.pci_bus_id.clone(),
        numa_node: g.numa_node,
        nvlinks: g.nvlink_remotes.len() as u32,
        nvswitch: !switches.is_empty(),
        nvlink_peers: peers,
        pcie,
        mig: g.mig.as_ref().map(|m| MigStatus {
            enabled: m.enabled,
            pending: m.pending,
            instances: m
                .instances
                .iter()
                .map(|x| MigInstance {
                    uuid: x.uuid.clone(),
                    name: x.name.clone(),
                    memory_mib: x.memory_total_bytes / MIB,
                })
                .collect(),
        }),
        present: s.present,
        health: s.health,
        health_reason: s.reason.clone(),
        xid_events: s.xid_events,
        last_xid: s.last_xid,
        metrics: s.present.then_some(GpuMetrics {
            gpu_util_pct: g.util_gpu_pct,
            mem_util_pct: g.util_memory_pct,
            fb_used_mib: g.memory_used_bytes / MIB,
            fb_free_mib: g.memory_free_bytes / MIB,
            temperature_c: g.temperature_c,
            power_mw: g.power_mw,
            energy_mj: g.energy_mj,
            ecc_corrected: g.ecc_corrected,
            ecc_uncorrected: g.ecc_uncorrected,
        }),
    }
}

#[cfg(test)]
mod tests;
