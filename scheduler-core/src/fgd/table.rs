//! What the paper's policies share: a compact copy of every node's free resources, kept up to date
//! through the cluster's change feed, the feasibility filter, and the seeded node order that breaks ties.

use crate::cluster::Demand;
use crate::model::{ModelId, ModelSet};
use crate::policy::Choice;
use crate::rng::mix64;
use crate::spec::{GpuHealth, NodeId, NodeState, WHOLE_GPU};
use crate::view::ClusterView;

use super::frag::nonzero_cpu;

/// A task's demand as the scores see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pod {
    /// Milli-CPU requested (the filter's).
    pub cpu: u64,
    /// Milli-CPU as the scores count it ([`nonzero_cpu`]).
    pub cpu_nz: u64,
    /// MiB requested.
    pub mem: u64,
    /// Milli-GPU per device.
    pub milli: u32,
    /// Devices.
    pub gpus: u32,
    /// Allowed models.
    pub models: ModelSet,
}

impl Pod {
    pub fn of(d: &Demand) -> Pod {
        let gpu = d.gpus > 0 && d.gpu_milli > 0;
        Pod {
            cpu: d.cpu_milli,
            cpu_nz: nonzero_cpu(d.cpu_milli),
            mem: d.memory_mib,
            milli: if gpu { d.gpu_milli } else { 0 },
            gpus: if gpu { d.gpus } else { 0 },
            models: d.models,
        }
    }

    /// Shares one device with others.
    pub fn is_shared(&self) -> bool {
        self.gpus == 1 && self.milli < WHOLE_GPU
    }

    /// Total milli-GPU.
    pub fn total_milli(&self) -> u64 {
        u64::from(self.gpus) * u64::from(self.milli)
    }

    /// The GPU-affinity tag of GpuClustering: bit 0 for a shared GPU, bit `k` for `k` whole GPUs.
    pub fn tag(&self) -> u128 {
        if self.gpus == 0 {
            0
        } else if self.is_shared() {
            1
        } else {
            1u128 << self.gpus.min(127)
        }
    }
}

/// One node's free resources, as the policies read them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snap {
    /// The node's version when copied; 0: no such node.
    pub version: u64,
    /// Its place in the seeded node order (smaller wins ties).
    pub rank: u64,
    pub schedulable: bool,
    pub model: Option<ModelId>,
    pub cpu_free: u64,
    pub mem_free: u64,
    /// Free milli-GPU over its devices (unhealthy ones count as fully used).
    pub gpu_left: u64,
    /// Devices with all 1000 milli free.
    pub free_whole: u32,
    /// The most free milli on one device.
    pub max_free: u32,
    /// Where its devices' free milli sit in [`NodeTable`]'s arenas, and how many devices it has.
    off: u32,
    n: u32,
    /// GpuClustering's affinity tags of the GPU tasks on it (see [`Pod::tag`]).
    pub tags: u128,
}

/// The policies' copy of the cluster's nodes, indexed by node id.
#[derive(Clone, Debug)]
pub(crate) struct NodeTable {
    seed: u64,
    /// The cluster stamp the copy is current with.
    seen: u64,
    snaps: Vec<Snap>,
    /// Free milli per device, in device order.
    lefts: Vec<u32>,
    /// The same, ascending.
    sorted: Vec<u32>,
}

/// A node's place in the tie-breaking order of `seed`: a bijective mix of the seed and the node id, so
/// the order is a seeded random permutation that extends to nodes added later.
pub(crate) fn node_rank(seed: u64, id: NodeId) -> u64 {
    mix64(mix64(seed).wrapping_add(u64::from(id.0).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

impl NodeTable {
    pub fn new(seed: u64) -> NodeTable {
        NodeTable {
            seed,
            seen: 0,
            snaps: Vec::new(),
            lefts: Vec::new(),
            sorted: Vec::new(),
        }
    }

    /// Brings the copy up to date with the nodes that changed since the last call.
    pub fn refresh(&mut self, view: &ClusterView<'_>) {
        let stamp = view.stamp();
        if stamp == self.seen {
            return;
        }
        for id in view.nodes_changed_since(self.seen) {
            self.update(view, id);
        }
        self.seen = stamp;
    }

    fn update(&mut self, view: &ClusterView<'_>, id: NodeId) {
        let i = id.0 as usize;
        if self.snaps.len() <= i {
            self.snaps.resize(i + 1, Snap::default());
        }
        let Some(node) = view.node(id) else {
            self.snaps[i].version = 0;
            self.snaps[i].schedulable = false;
            return;
        };
        let n = node.gpu_count();
        let mut s = self.snaps[i];
        if s.n != n {
            s.off = self.lefts.len() as u32;
            s.n = n;
            self.lefts.resize(self.lefts.len() + n as usize, 0);
            self.sorted.resize(self.sorted.len() + n as usize, 0);
        }
        let range = s.off as usize..(s.off + s.n) as usize;
        let lefts = &mut self.lefts[range.clone()];
        for g in node.gpus() {
            lefts[g.index as usize] = if g.health == GpuHealth::Healthy {
                g.free_milli
            } else {
                0
            };
        }
        let sorted = &mut self.sorted[range];
        sorted.copy_from_slice(lefts);
        sorted.sort_unstable();
        s.version = node.version();
        s.rank = node_rank(self.seed, id);
        s.schedulable = node.state() == NodeState::Schedulable;
        s.model = node.model();
        s.cpu_free = node.cpu_free();
        s.mem_free = node.memory_free();
        s.gpu_left = lefts.iter().map(|&g| u64::from(g)).sum();
        s.free_whole = lefts.iter().filter(|&&g| g >= WHOLE_GPU).count() as u32;
        s.max_free = sorted.last().copied().unwrap_or(0);
        s.tags = 0;
        for t in node.tasks() {
            let k = t.gpus.len();
            if k == 0 {
                continue;
            }
            s.tags |= if k == 1 && t.gpu_milli < WHOLE_GPU {
                1
            } else {
                1u128 << k.min(127)
            };
        }
        self.snaps[i] = s;
    }

    /// The nodes' copies, by node id.
    pub fn snaps(&self) -> &[Snap] {
        &self.snaps
    }

    /// A node's devices' free milli, in device order.
    pub fn lefts(&self, s: &Snap) -> &[u32] {
        &self.lefts[s.off as usize..(s.off + s.n) as usize]
    }

    /// A node's devices' free milli, ascending.
    pub fn sorted(&self, s: &Snap) -> &[u32] {
        &self.sorted[s.off as usize..(s.off + s.n) as usize]
    }

    /// The filter: whether one task of `p` fits the node now (CPU, memory, GPU model, devices).
    #[inline]
    pub fn fits(s: &Snap, p: &Pod) -> bool {
        s.schedulable
            && s.cpu_free >= p.cpu
            && s.mem_free >= p.mem
            && (p.gpus == 0
                || s.model.is_some_and(|m| p.models.contains(m))
                    && if p.milli >= WHOLE_GPU {
                        s.free_whole >= p.gpus
                    } else {
                        s.max_free >= p.milli
                    })
    }

    /// The feasible node with the highest score, ties broken by the seeded node order. `score` gives a
    /// node's score and, for a shared GPU, the device to use. With `tasks > 1` a node must hold them all.
    pub fn best(
        &self,
        view: &ClusterView<'_>,
        demand: &Demand,
        tasks: u32,
        p: &Pod,
        mut score: impl FnMut(usize, &Snap) -> (i64, Option<u32>),
    ) -> Option<Choice> {
        let mut best: Option<(i64, u64, usize, Option<u32>)> = None;
        for (i, s) in self.snaps.iter().enumerate() {
            if !Self::fits(s, p) {
                continue;
            }
            if tasks > 1 && view.node(NodeId(i as u32)).is_none_or(|n| n.room_for(demand) < tasks) {
                continue;
            }
            let (sc, device) = score(i, s);
            let better = match best {
                None => true,
                Some((b, r, _, _)) => sc > b || (sc == b && s.rank < r),
            };
            if better {
                best = Some((sc, s.rank, i, device));
            }
        }
        best.map(|(_, _, i, device)| Choice {
            node: NodeId(i as u32),
            device,
        })
    }
}
