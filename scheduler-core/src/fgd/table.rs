//! What the paper's policies share: a compact copy of every node's free resources, kept up to date
//! through the cluster's change feed, the feasibility filter, and the seeded node order that breaks ties.

use crate::cluster::Demand;
use crate::model::ModelId;
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
    /// The filter's GPU thresholds: fully free devices and the most free milli on one device needed.
    need_whole: u32,
    need_max: u32,
    /// The allowed models as two 64-bit words (cheaper to test than a 128-bit shift).
    model_words: [u64; 2],
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
            need_whole: if gpu && d.gpu_milli >= WHOLE_GPU { d.gpus } else { 0 },
            need_max: if gpu && d.gpu_milli < WHOLE_GPU { d.gpu_milli } else { 0 },
            model_words: [d.models.bits() as u64, (d.models.bits() >> 64) as u64],
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

/// One node's free resources, as the filter and the simple scores read them (kept small: a placement
/// reads every candidate node's).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snap {
    pub cpu_free: u64,
    pub mem_free: u64,
    /// Free milli-GPU over its devices (unhealthy ones count as fully used).
    pub gpu_left: u32,
    /// Its place in the seeded node order (smaller wins ties; equal ranks go to the smaller id).
    pub rank: u32,
    /// The most free milli on one device.
    pub max_free: u16,
    /// Devices with all 1000 milli free.
    pub free_whole: u8,
    /// Its GPU model's id (`NO_MODEL` for a CPU-only node).
    pub model: u8,
    pub schedulable: bool,
}

const NO_MODEL: u8 = u8::MAX;

/// Free milli on one device that the candidate sets of shared-GPU tasks distinguish.
const SHARE_LEVELS: [u32; 5] = [1, 200, 400, 600, 800];
/// Fully free devices that the candidate sets of whole-GPU tasks distinguish.
const WHOLE_LEVELS: [u32; 4] = [1, 2, 4, 8];

impl Snap {
    pub fn model(&self) -> Option<ModelId> {
        (self.model != NO_MODEL).then_some(ModelId(self.model))
    }
}

/// The rest of a node's copy.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Meta {
    /// The node's version when copied; 0: no such node.
    pub version: u64,
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
    metas: Vec<Meta>,
    /// Free milli per device, in device order.
    lefts: Vec<u32>,
    /// The same, ascending.
    sorted: Vec<u32>,
    /// Bit sets of schedulable nodes by free GPU capacity: `share[l]` holds the nodes with a device
    /// with at least [`SHARE_LEVELS`]`[l]` milli free, `whole[l]` those with at least
    /// [`WHOLE_LEVELS`]`[l]` fully free devices. A GPU task looks only at the smallest set that must
    /// contain every node its GPUs fit.
    share: [Vec<u64>; SHARE_LEVELS.len()],
    whole: [Vec<u64>; WHOLE_LEVELS.len()],
}

/// A node's place in the tie-breaking order of `seed`: 32 bits of a mix of the seed and the node id, so
/// the order (rank, then id) is a seeded random permutation that extends to nodes added later.
pub(crate) fn node_rank(seed: u64, id: NodeId) -> u32 {
    (mix64(mix64(seed).wrapping_add(u64::from(id.0).wrapping_mul(0x9e37_79b9_7f4a_7c15))) >> 32) as u32
}

fn set_bit(bits: &mut [u64], i: usize, on: bool) {
    let (w, b) = (i / 64, i % 64);
    if on {
        bits[w] |= 1 << b;
    } else {
        bits[w] &= !(1 << b);
    }
}

impl NodeTable {
    pub fn new(seed: u64) -> NodeTable {
        NodeTable {
            seed,
            seen: 0,
            snaps: Vec::new(),
            metas: Vec::new(),
            lefts: Vec::new(),
            sorted: Vec::new(),
            share: Default::default(),
            whole: Default::default(),
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
            self.metas.resize(i + 1, Meta::default());
            for set in self.share.iter_mut().chain(self.whole.iter_mut()) {
                set.resize(i / 64 + 1, 0);
            }
        }
        let Some(node) = view.node(id) else {
            self.metas[i].version = 0;
            self.snaps[i].schedulable = false;
            for set in self.share.iter_mut().chain(self.whole.iter_mut()) {
                set_bit(set, i, false);
            }
            return;
        };
        let n = node.gpu_count();
        let mut m = self.metas[i];
        if m.n != n {
            m.off = self.lefts.len() as u32;
            m.n = n;
            self.lefts.resize(self.lefts.len() + n as usize, 0);
            self.sorted.resize(self.sorted.len() + n as usize, 0);
        }
        let range = m.off as usize..(m.off + m.n) as usize;
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
        m.version = node.version();
        m.tags = 0;
        for t in node.tasks() {
            let k = t.gpus.len();
            if k == 0 {
                continue;
            }
            m.tags |= if k == 1 && t.gpu_milli < WHOLE_GPU {
                1
            } else {
                1u128 << k.min(127)
            };
        }
        self.metas[i] = m;
        let s = Snap {
            cpu_free: node.cpu_free(),
            mem_free: node.memory_free(),
            gpu_left: lefts.iter().sum(),
            rank: node_rank(self.seed, id),
            max_free: sorted.last().copied().unwrap_or(0).min(WHOLE_GPU) as u16,
            free_whole: lefts.iter().filter(|&&g| g >= WHOLE_GPU).count() as u8,
            model: node.model().map_or(NO_MODEL, |m| m.0),
            schedulable: node.state() == NodeState::Schedulable,
        };
        for (set, level) in self.share.iter_mut().zip(SHARE_LEVELS) {
            set_bit(set, i, s.schedulable && u32::from(s.max_free) >= level);
        }
        for (set, level) in self.whole.iter_mut().zip(WHOLE_LEVELS) {
            set_bit(set, i, s.schedulable && u32::from(s.free_whole) >= level);
        }
        self.snaps[i] = s;
    }

    /// Every node that may hold a task of `p`, in id order: every node for a CPU-only task, only nodes
    /// with free GPU capacity of the right kind for a GPU task.
    #[inline]
    pub fn candidates(&self, p: &Pod) -> Candidates<'_> {
        if p.gpus == 0 {
            return Candidates::All(0..self.snaps.len());
        }
        // The largest level the task needs: every node that fits it is in that set.
        let words = if p.need_whole > 0 {
            &self.whole[WHOLE_LEVELS.iter().rposition(|&l| l <= p.need_whole).unwrap_or(0)]
        } else {
            &self.share[SHARE_LEVELS.iter().rposition(|&l| l <= p.need_max).unwrap_or(0)]
        };
        Candidates::Bits {
            words,
            next: 0,
            bits: 0,
        }
    }

    /// The nodes' copies, by node id.
    pub fn snaps(&self) -> &[Snap] {
        &self.snaps
    }

    /// The rest of node `i`'s copy.
    pub fn meta(&self, i: usize) -> &Meta {
        &self.metas[i]
    }

    /// Node `i`'s devices' free milli, in device order.
    pub fn lefts(&self, i: usize) -> &[u32] {
        let m = &self.metas[i];
        &self.lefts[m.off as usize..(m.off + m.n) as usize]
    }

    /// Node `i`'s devices' free milli, ascending.
    pub fn sorted(&self, i: usize) -> &[u32] {
        let m = &self.metas[i];
        &self.sorted[m.off as usize..(m.off + m.n) as usize]
    }

    /// The filter: whether one task of `p` fits the node now (CPU, memory, GPU model, devices).
    #[inline]
    pub fn fits(s: &Snap, p: &Pod) -> bool {
        // Evaluated without short-circuits: one hard-to-predict branch instead of several.
        let word = p.model_words[usize::from(s.model >> 6) & 1];
        let model_ok = (s.model != NO_MODEL) & ((word >> (s.model & 63)) & 1 != 0);
        let gpu_ok = model_ok & (u32::from(s.free_whole) >= p.need_whole) & (u32::from(s.max_free) >= p.need_max);
        s.schedulable & (s.cpu_free >= p.cpu) & (s.mem_free >= p.mem) & ((p.gpus == 0) | gpu_ok)
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
        let mut best: Option<(i64, u32, usize, Option<u32>)> = None;
        // Candidates come in id order, so on equal ranks the smaller id stays.
        for i in self.candidates(p) {
            let s = &self.snaps[i];
            if !Self::fits(s, p) {
                continue;
            }
            if tasks > 1 && view.node(NodeId(i as u32)).is_none_or(|n| !n.has_room(demand, tasks)) {
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

/// The nodes [`NodeTable::candidates`] yields.
pub(crate) enum Candidates<'a> {
    /// Every node id in the range.
    All(std::ops::Range<usize>),
    /// The set bits of `words`.
    Bits {
        words: &'a [u64],
        /// The next word to load.
        next: usize,
        /// What is left of the current word.
        bits: u64,
    },
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            Candidates::All(r) => r.next(),
            Candidates::Bits { words, next, bits } => {
                while *bits == 0 {
                    *bits = *words.get(*next)?;
                    *next += 1;
                }
                let i = (*next - 1) * 64 + bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                Some(i)
            }
        }
    }
}
