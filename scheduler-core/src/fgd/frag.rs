//! Typical pods and the fragmentation measure of FGD (see [`FragMeasure`]).

use std::collections::BTreeMap;

use crate::model::{GpuModel, GpuModels, ModelId, ModelSet};
use crate::rng::mix64;
use crate::spec::{GpuHealth, TaskRequest, WHOLE_GPU};
use crate::view::NodeView;

/// The CPU request the paper's scheduler assumes for a pod that asks for none (Kubernetes' non-zero
/// default request, 100 milli-CPU). Scores use it; the feasibility filter uses the actual request.
pub const DEFAULT_CPU_MILLI: u64 = 100;

/// A CPU request as the scores see it: 0 becomes [`DEFAULT_CPU_MILLI`].
pub fn nonzero_cpu(cpu_milli: u64) -> u64 {
    if cpu_milli == 0 {
        DEFAULT_CPU_MILLI
    } else {
        cpu_milli
    }
}

/// A pod's resources as FGD groups pods into typical pods: memory is ignored, the CPU request is the
/// non-zero one, and a pod without GPUs has no GPU share and no model constraint.
///
/// Ordered lexicographically by (CPU, GPU share, GPU count, models), which breaks ties between equally
/// common shapes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodShape {
    /// Milli-CPU ([`nonzero_cpu`] of the request).
    pub cpu_milli: u64,
    /// Milli-GPU on each device (0 for CPU-only pods, at most 1000).
    pub gpu_milli: u32,
    /// GPU devices.
    pub gpus: u32,
    /// Allowed GPU models in the order the request gives them; empty: any model.
    pub models: Vec<GpuModel>,
}

impl PodShape {
    /// The shape of one task's request.
    pub fn of(request: &TaskRequest) -> PodShape {
        let gpu = request.gpus > 0 && request.gpu_milli > 0;
        PodShape {
            cpu_milli: nonzero_cpu(request.cpu_milli),
            gpu_milli: if gpu { request.gpu_milli.min(WHOLE_GPU) } else { 0 },
            gpus: if gpu { request.gpus } else { 0 },
            models: if gpu { request.models.clone() } else { Vec::new() },
        }
    }
}

/// One typical pod: a shape, how many pods of the workload have it, and its weight in `F`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypicalPod {
    /// The shape.
    pub shape: PodShape,
    /// Pods of the workload with this shape.
    pub count: u64,
    /// Its share among the typical pods (the weights sum to 1).
    pub weight: f64,
}

/// The typical pods of a workload: its most common shapes, covering a popularity threshold of its pods.
///
/// Shapes are counted over the workload's pods (CPU-only ones included), sorted by count (most common
/// first; equal counts by [`PodShape`], larger first), and taken in that order until they cover at least
/// the threshold (95 % by default) of all pods; the shape that crosses it is included. A kept shape's
/// weight is its count over the kept shapes' total count, computed as the reference does,
/// `(count / total) / (kept / total)` in doubles.
#[derive(Clone, Debug, PartialEq)]
pub struct TypicalPods {
    pods: Vec<TypicalPod>,
    total: u64,
}

impl TypicalPods {
    /// The popularity threshold of the paper, in percent of the workload's pods.
    pub const DEFAULT_POPULARITY_PCT: u32 = 95;

    /// The typical pods of a workload given by its task requests, at the default threshold.
    pub fn from_requests<'a>(requests: impl IntoIterator<Item = &'a TaskRequest>) -> TypicalPods {
        TypicalPods::from_shapes(requests.into_iter().map(PodShape::of), Self::DEFAULT_POPULARITY_PCT)
    }

    /// The typical pods of a workload given by its pods' shapes, covering `popularity_pct` % of them.
    pub fn from_shapes(shapes: impl IntoIterator<Item = PodShape>, popularity_pct: u32) -> TypicalPods {
        let mut counts: BTreeMap<PodShape, u64> = BTreeMap::new();
        for s in shapes {
            *counts.entry(s).or_default() += 1;
        }
        let total: u64 = counts.values().sum();
        let mut groups: Vec<(PodShape, u64)> = counts.into_iter().collect();
        // Most common first; equal counts: the larger shape first.
        groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        let expected = f64::from(popularity_pct) * total as f64 / 100.0;
        let mut kept = 0usize;
        let mut cum = 0u64;
        while (cum as f64) < expected && kept < groups.len() {
            cum += groups[kept].1;
            kept += 1;
        }
        let all = kept == groups.len();
        groups.truncate(kept);
        let pods = groups
            .into_iter()
            .map(|(shape, count)| {
                let share = count as f64 / total as f64;
                let weight = if all {
                    share
                } else {
                    share / (cum as f64 / total as f64)
                };
                TypicalPod { shape, count, weight }
            })
            .collect();
        TypicalPods { pods, total }
    }

    /// The typical pods, most common first.
    pub fn pods(&self) -> &[TypicalPod] {
        &self.pods
    }

    /// How many typical pods there are.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// Whether there are none (an empty workload).
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// How many pods the workload had.
    pub fn workload_pods(&self) -> u64 {
        self.total
    }

    /// The fragmentation measure over these typical pods, with their GPU models resolved in `models`
    /// (a model no node has matches no node).
    pub fn measure(&self, models: &GpuModels) -> FragMeasure {
        let mut thresholds: Vec<u64> = self.pods.iter().map(|t| t.shape.cpu_milli).collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        let pods = self
            .pods
            .iter()
            .map(|t| {
                let s = &t.shape;
                let models = if s.models.is_empty() {
                    ModelSet::ANY
                } else {
                    let mut set = ModelSet::EMPTY;
                    for m in &s.models {
                        if let Some(id) = models.get(m) {
                            set.insert(id);
                        }
                    }
                    set
                };
                Typical {
                    cpu_rank: thresholds.partition_point(|&c| c < s.cpu_milli) + 1,
                    gpu_milli: s.gpu_milli,
                    gpus: s.gpus as usize,
                    models,
                    weight: t.weight,
                }
            })
            .collect();
        FragMeasure {
            pods,
            thresholds,
            models_known: models.len(),
        }
    }
}

/// A typical pod resolved against a model table.
#[derive(Clone, Debug)]
struct Typical {
    /// 1-based position of its CPU request among the distinct typical CPU requests: a node with CPU
    /// level `>= cpu_rank` has room for its CPU.
    cpu_rank: usize,
    gpu_milli: u32,
    gpus: usize,
    models: ModelSet,
    weight: f64,
}

const Q1_LACK_BOTH: usize = 0;
const Q2_LACK_GPU: usize = 1;
const Q4_LACK_CPU: usize = 3;
const XL_SATISFIED: usize = 4;
const XR_LACK_CPU: usize = 5;
const NO_ACCESS: usize = 6;

/// A node's fragmentation `F(node)` is the GPU capacity it holds that the *typical* pods of the workload,
/// weighted by how common they are, could not use: for each typical pod `t` with weight `w_t`, with `G` the
/// node's free milli-GPU over all devices:
///
/// | `t` against the node | adds to `F` |
/// |---|---|
/// | `t` is CPU-only | `w_t · G` (idle GPUs are fragment for a CPU-only pod, whether it fits or not) |
/// | the node's GPU model is not one `t` accepts | `w_t · G` |
/// | `t` does not fit (too few devices with `t`'s share free, or too little CPU) | `w_t · G` |
/// | `t` fits | `w_t · Σ` free milli of the devices with less free than `t`'s share |
///
/// The amounts are accumulated in IEEE doubles in the order of the reference implementation (one bin
/// per class, typical pods in order, then the bins summed in order) so that the FGD score, which
/// truncates a sigmoid of the difference of two such sums, gives the same integers: a change of exactly
/// zero must score 50, not 49.
///
/// Built by [`TypicalPods::measure`].
#[derive(Clone, Debug)]
pub struct FragMeasure {
    pods: Vec<Typical>,
    /// The distinct CPU requests of the typical pods, ascending.
    thresholds: Vec<u64>,
    models_known: usize,
}

impl FragMeasure {
    /// How many models the model table had when the measure was built.
    pub fn models_known(&self) -> usize {
        self.models_known
    }

    /// `F` of a node as it is now, in milli-GPU. Unhealthy devices count as fully used.
    pub fn node_frag(&self, node: &NodeView<'_>) -> f64 {
        let mut free = [0u32; crate::MAX_GPUS_PER_NODE];
        let n = node.gpu_count() as usize;
        for g in node.gpus() {
            free[g.index as usize] = if g.health == GpuHealth::Healthy {
                g.free_milli
            } else {
                0
            };
        }
        self.frag(node.model(), node.cpu_free() as i64, &free[..n])
    }

    /// `F` of a node of GPU model `model` with `cpu_left` milli-CPU and `gpu_left` milli-GPU free per device.
    pub fn frag(&self, model: Option<ModelId>, cpu_left: i64, gpu_left: &[u32]) -> f64 {
        self.frag_at(model, self.cpu_level(cpu_left), gpu_left)
    }

    /// How many distinct typical CPU requests `cpu_left` covers.
    fn cpu_level(&self, cpu_left: i64) -> usize {
        if cpu_left < 0 {
            return 0;
        }
        self.thresholds.partition_point(|&c| c <= cpu_left as u64)
    }

    /// `F` from the node's CPU level and its devices' free milli (in any order).
    fn frag_at(&self, model: Option<ModelId>, level: usize, gpu_left: &[u32]) -> f64 {
        let total: u64 = gpu_left.iter().map(|&g| u64::from(g)).sum();
        let total = total as f64;
        let mut bins = [0.0f64; 7];
        for t in &self.pods {
            let cpu_ok = level >= t.cpu_rank;
            if t.gpu_milli == 0 {
                bins[if cpu_ok { XL_SATISFIED } else { XR_LACK_CPU }] += t.weight * total;
                continue;
            }
            if !model.is_some_and(|m| t.models.contains(m)) && !t.models.is_any() {
                bins[NO_ACCESS] += t.weight * total;
                continue;
            }
            let fitting = gpu_left.iter().filter(|&&g| g >= t.gpu_milli).count();
            let gpu_ok = fitting >= t.gpus;
            match (gpu_ok, cpu_ok) {
                (true, true) => {
                    // Satisfied: only the devices too small for it are fragment.
                    let small: u64 = gpu_left
                        .iter()
                        .filter(|&&g| g < t.gpu_milli)
                        .map(|&g| u64::from(g))
                        .sum();
                    bins[Q2_LACK_GPU] += t.weight * small as f64;
                }
                (true, false) => bins[Q4_LACK_CPU] += t.weight * total,
                (false, true) => bins[Q2_LACK_GPU] += t.weight * total,
                (false, false) => bins[Q1_LACK_BOTH] += t.weight * total,
            }
        }
        let mut f = 0.0;
        for (i, b) in bins.iter().enumerate() {
            if i != 2 {
                f += b;
            }
        }
        f
    }

    /// `F` of a node state, memoised: `sorted` is the devices' free milli in ascending order.
    pub(crate) fn frag_memo(&self, memo: &mut FragMemo, model: Option<ModelId>, cpu_left: i64, sorted: &[u32]) -> f64 {
        let level = self.cpu_level(cpu_left);
        let Some(key) = memo_key(model, level, sorted) else {
            return self.frag_at(model, level, sorted);
        };
        if let Some(f) = memo.get(key) {
            return f;
        }
        let f = self.frag_at(model, level, sorted);
        memo.insert(key, f);
        f
    }
}

/// Packs a node state into 100 bits: model (8), CPU level (8), device count (4), 10 bits per device.
fn memo_key(model: Option<ModelId>, level: usize, sorted: &[u32]) -> Option<u128> {
    if sorted.len() > 8 || level > 0xff || sorted.iter().any(|&g| g > 0x3ff) {
        return None;
    }
    let mut k = u128::from(model.map_or(0xff, |m| m.0));
    k = (k << 8) | level as u128;
    k = (k << 4) | sorted.len() as u128;
    for &g in sorted {
        k = (k << 10) | u128::from(g);
    }
    Some(k)
}

/// A memo of `F` by node state: open addressing with linear probing. Lookups only; nothing is ever
/// decided by its order. Cleared when it grows past a bound, so a long-lived scheduler stays small.
#[derive(Clone, Debug)]
pub(crate) struct FragMemo {
    keys: Vec<u128>,
    values: Vec<f64>,
    len: usize,
}

const EMPTY_KEY: u128 = u128::MAX;
const MEMO_MAX: usize = 1 << 22;

impl Default for FragMemo {
    fn default() -> Self {
        FragMemo {
            keys: vec![EMPTY_KEY; 1 << 12],
            values: vec![0.0; 1 << 12],
            len: 0,
        }
    }
}

impl FragMemo {
    fn slot(&self, key: u128) -> usize {
        let h = mix64((key as u64) ^ mix64((key >> 64) as u64));
        h as usize & (self.keys.len() - 1)
    }

    fn get(&self, key: u128) -> Option<f64> {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(self.values[i]);
            }
            if k == EMPTY_KEY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, key: u128, value: f64) {
        if (self.len + 1) * 2 > self.keys.len() {
            if self.keys.len() >= MEMO_MAX {
                *self = FragMemo::default();
            } else {
                let old = std::mem::replace(
                    self,
                    FragMemo {
                        keys: vec![EMPTY_KEY; self.keys.len() * 2],
                        values: vec![0.0; self.keys.len() * 2],
                        len: 0,
                    },
                );
                for (k, v) in old.keys.into_iter().zip(old.values) {
                    if k != EMPTY_KEY {
                        self.insert(k, v);
                    }
                }
            }
        }
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        while self.keys[i] != EMPTY_KEY && self.keys[i] != key {
            i = (i + 1) & mask;
        }
        if self.keys[i] == EMPTY_KEY {
            self.len += 1;
        }
        self.keys[i] = key;
        self.values[i] = value;
    }
}
