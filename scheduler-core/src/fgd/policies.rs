//! The six placement policies of the FGD paper.

use std::collections::BTreeMap;

use crate::cluster::Demand;
use crate::policy::{Choice, PlacementPolicy};
use crate::rng::{mix64, SplitMix64};
use crate::spec::{NodeId, WHOLE_GPU};
use crate::view::ClusterView;
use crate::MAX_GPUS_PER_NODE;

use super::frag::{FragMeasure, FragMemo, TypicalPods};
use super::table::{NodeTable, Pod, Snap};

/// The CPU and GPU capacity the paper's scores normalise by (its largest node: 128 cores, 8 GPUs).
const MAX_SPEC_CPU: f64 = 128_000.0;
const MAX_SPEC_GPU: f64 = 8_000.0;
const MAX_SPEC_GPU_MILLI: i64 = 8_000;

/// Random: a feasible node chosen uniformly; a shared GPU goes on a uniformly chosen device that fits.
#[derive(Clone, Debug)]
pub struct Random {
    table: NodeTable,
    rng: SplitMix64,
    feasible: Vec<usize>,
}

impl Random {
    /// The policy with random stream `seed`.
    pub fn new(seed: u64) -> Random {
        Random {
            table: NodeTable::new(seed),
            rng: SplitMix64::new(mix64(seed ^ 0x5241_4e44_4f4d)),
            feasible: Vec::new(),
        }
    }
}

impl PlacementPolicy for Random {
    fn name(&self) -> &str {
        "random"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        self.table.refresh(view);
        let p = Pod::of(demand);
        self.feasible.clear();
        for i in self.table.candidates(&p) {
            if NodeTable::fits(&self.table.snaps()[i], &p)
                && (tasks <= 1 || view.node(NodeId(i as u32)).is_some_and(|n| n.has_room(demand, tasks)))
            {
                self.feasible.push(i);
            }
        }
        // As in the reference, a single feasible node is taken without drawing.
        let i = match self.feasible.len() {
            0 => return None,
            1 => self.feasible[0],
            n => self.feasible[self.rng.below(n as u64) as usize],
        };
        let device = if p.is_shared() {
            let lefts = self.table.lefts(i);
            let eligible = lefts.iter().filter(|&&g| g >= p.milli).count();
            let pick = if eligible > 1 {
                self.rng.below(eligible as u64) as usize
            } else {
                0
            };
            lefts
                .iter()
                .enumerate()
                .filter(|(_, &g)| g >= p.milli)
                .nth(pick)
                .map(|(d, _)| d as u32)
        } else {
            None
        };
        Some(Choice {
            node: NodeId(i as u32),
            device,
        })
    }
}

/// DotProd (Tetris' alignment heuristic, as the paper configures it): the node whose free (CPU, GPU),
/// normalised by the largest node, has the smallest dot product with the request's.
///
/// `score = ⌊100 · (1 − (cpu_free/128000 · cpu/128000 + gpu_free/8000 · gpu/8000) / 2)⌋`, GPU in total
/// milli-GPU over the node's devices and the request's.
#[derive(Clone, Debug)]
pub struct DotProd {
    table: NodeTable,
}

impl DotProd {
    /// The policy with tie-breaking order `seed`.
    pub fn new(seed: u64) -> DotProd {
        DotProd {
            table: NodeTable::new(seed),
        }
    }
}

#[inline]
pub(crate) fn dot_prod_score(s: &Snap, p: &Pod) -> i64 {
    dot_prod_fast(s.cpu_free, u64::from(s.gpu_left), p.cpu_nz, p.total_milli())
}

/// DotProd's score as the reference evaluates it, in doubles.
pub(crate) fn dot_prod_float(cpu_free: u64, gpu_free: u64, cpu: u64, gpu: u64) -> i64 {
    let node = [cpu_free as f64 / MAX_SPEC_CPU, gpu_free as f64 / MAX_SPEC_GPU];
    let pod = [cpu as f64 / MAX_SPEC_CPU, gpu as f64 / MAX_SPEC_GPU];
    let mut d = 0.0;
    d += node[0] * pod[0];
    d += node[1] * pod[1];
    (100.0 * (1.0 - d / 2.0)) as i64
}

/// The same integer without floating point where that is safe. Exactly, the score is
/// `⌊(100·128000² − 50·(cpu_free·cpu + 256·gpu_free·gpu)) / 128000²⌋`; the doubles' rounding error is far
/// below the distance of that fraction from an integer unless it *is* an integer, where the doubles may
/// land just below it, so those cases take the reference's path.
#[inline]
pub(crate) fn dot_prod_fast(cpu_free: u64, gpu_free: u64, cpu: u64, gpu: u64) -> i64 {
    const DEN: u64 = 128_000 * 128_000;
    const LIMIT: u64 = 1 << 31;
    if cpu_free >= LIMIT || gpu_free >= LIMIT || cpu >= LIMIT || gpu >= LIMIT {
        return dot_prod_float(cpu_free, gpu_free, cpu, gpu);
    }
    // Below 2^31 each product is below 2^62 and 50·m below 2^70 only if the products are huge: check.
    let m = (cpu_free * cpu).checked_add(256u64.saturating_mul(gpu_free * gpu));
    let Some(m50) = m.and_then(|m| m.checked_mul(50)) else {
        return dot_prod_float(cpu_free, gpu_free, cpu, gpu);
    };
    match (100 * DEN).checked_sub(m50) {
        Some(num) if num % DEN != 0 => (num / DEN) as i64,
        _ => dot_prod_float(cpu_free, gpu_free, cpu, gpu),
    }
}

impl PlacementPolicy for DotProd {
    fn name(&self) -> &str {
        "dotprod"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        self.table.refresh(view);
        let p = Pod::of(demand);
        self.table
            .best(view, demand, tasks, &p, |_, s| (dot_prod_score(s, &p), None))
    }
}

/// GpuClustering: keeps GPU tasks of one kind together. A task's kind is "shared GPU" or "k whole GPUs";
/// a node scores `⌊25 · (8000 − gpu_free) / 8000⌋` plus 75 if it runs only tasks of the same kind, 50 if
/// of that kind and others, 25 if no GPU task, 0 if only other kinds. CPU-only tasks: every node scores
/// 0, so the seeded node order decides.
#[derive(Clone, Debug)]
pub struct GpuClustering {
    table: NodeTable,
}

impl GpuClustering {
    /// The policy with tie-breaking order `seed`.
    pub fn new(seed: u64) -> GpuClustering {
        GpuClustering {
            table: NodeTable::new(seed),
        }
    }
}

/// `tags`: the node's GPU-affinity tags.
pub(crate) fn clustering_score(s: &Snap, tags: u128, p: &Pod) -> i64 {
    let tag = p.tag();
    if tag == 0 {
        return 0;
    }
    let base = 25 * (MAX_SPEC_GPU_MILLI - i64::from(s.gpu_left)) / MAX_SPEC_GPU_MILLI;
    let bonus = if tags & tag != 0 {
        if tags == tag {
            75
        } else {
            50
        }
    } else if tags == 0 {
        25
    } else {
        0
    };
    base + bonus
}

impl PlacementPolicy for GpuClustering {
    fn name(&self) -> &str {
        "clustering"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        self.table.refresh(view);
        let p = Pod::of(demand);
        let table = &self.table;
        table.best(view, demand, tasks, &p, |i, s| {
            (clustering_score(s, table.meta(i).tags, &p), None)
        })
    }
}

/// GpuPacking: prefers, in this order, devices already shared (the fuller the better), then fully free
/// devices on a node already in use, then an idle node (the fewer GPUs the better). CPU-only tasks:
/// every node scores 0, so the seeded node order decides.
///
/// On an idle node: `max(33 − n, n)` for `n` GPUs. Otherwise the devices that fit, taken in ascending
/// free order: if `f > 0` of them are fully free, `max(50 − f, 33)`; else `max(100 − s/10, 50)` with `s`
/// the sum of their free percentages.
#[derive(Clone, Debug)]
pub struct GpuPacking {
    table: NodeTable,
}

impl GpuPacking {
    /// The policy with tie-breaking order `seed`.
    pub fn new(seed: u64) -> GpuPacking {
        GpuPacking {
            table: NodeTable::new(seed),
        }
    }
}

/// `sorted`: the node's devices' free milli, ascending.
pub(crate) fn packing_score(sorted: &[u32], p: &Pod) -> i64 {
    if p.gpus == 0 {
        return 0;
    }
    let n = sorted.len() as i64;
    let full = sorted.iter().filter(|&&g| g >= WHOLE_GPU).count() as i64;
    if full == n {
        return (33 - full).max(full);
    }
    let mut need = p.gpus;
    let mut fully_free = 0i64;
    let mut pct = 0i64;
    for &g in sorted {
        if need == 0 {
            break;
        }
        if g >= p.milli {
            need -= 1;
            if g >= WHOLE_GPU {
                fully_free += 1;
            }
            pct += i64::from(g) * 100 / i64::from(WHOLE_GPU);
        }
    }
    if need > 0 {
        0
    } else if fully_free > 0 {
        (50 - fully_free).max(33)
    } else {
        (100 - pct / 10).max(50)
    }
}

impl PlacementPolicy for GpuPacking {
    fn name(&self) -> &str {
        "packing"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        self.table.refresh(view);
        let p = Pod::of(demand);
        let table = &self.table;
        table.best(view, demand, tasks, &p, |i, _| {
            (packing_score(table.sorted(i), &p), None)
        })
    }
}

/// BestFit as the paper defines it: the node left with the least free CPU and GPU, each normalised by
/// the largest node and weighted ½: `score = ⌊100 · (1 − ((cpu_free − cpu)/128000 · ½ + (gpu_free −
/// gpu)/8000 · ½))⌋`, GPU in total milli-GPU.
///
/// Not the core's index-based [`crate::policy::BestFit`], which orders nodes by whole free GPUs.
#[derive(Clone, Debug)]
pub struct BestFit {
    table: NodeTable,
}

impl BestFit {
    /// The policy with tie-breaking order `seed`.
    pub fn new(seed: u64) -> BestFit {
        BestFit {
            table: NodeTable::new(seed),
        }
    }
}

#[inline]
pub(crate) fn best_fit_score(s: &Snap, p: &Pod) -> i64 {
    best_fit_fast(s.cpu_free, u64::from(s.gpu_left), p.cpu_nz, p.total_milli())
}

/// BestFit's score as the reference evaluates it, in doubles (0 if the request exceeds what is free).
pub(crate) fn best_fit_float(cpu_free: u64, gpu_free: u64, cpu: u64, gpu: u64) -> i64 {
    if cpu_free < cpu || gpu_free < gpu {
        return 0;
    }
    let mut x = 0.0;
    x += (cpu_free - cpu) as f64 / MAX_SPEC_CPU * 0.5;
    x += (gpu_free - gpu) as f64 / MAX_SPEC_GPU * 0.5;
    ((1.0 - x) * 100.0) as i64
}

/// The same integer without floating point where that is safe: exactly, the score is
/// `⌊(256000 − (cpu_free − cpu) − 16·(gpu_free − gpu)) / 2560⌋` (truncated towards zero), and the doubles
/// can only disagree where that fraction is an integer, which takes the reference's path.
#[inline]
pub(crate) fn best_fit_fast(cpu_free: u64, gpu_free: u64, cpu: u64, gpu: u64) -> i64 {
    if cpu_free < cpu || gpu_free < gpu {
        return 0;
    }
    const LIMIT: u64 = 1 << 40;
    if cpu_free >= LIMIT || gpu_free >= LIMIT {
        return best_fit_float(cpu_free, gpu_free, cpu, gpu);
    }
    let num = 256_000 - (cpu_free - cpu) as i64 - 16 * (gpu_free - gpu) as i64;
    if num % 2560 == 0 {
        return best_fit_float(cpu_free, gpu_free, cpu, gpu);
    }
    num / 2560
}

impl PlacementPolicy for BestFit {
    fn name(&self) -> &str {
        "bestfit"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        self.table.refresh(view);
        let p = Pod::of(demand);
        self.table
            .best(view, demand, tasks, &p, |_, s| (best_fit_score(s, &p), None))
    }
}

/// FGD, fragmentation gradient descent: the node (and for a shared GPU the device) where the task
/// increases the cluster's fragmentation the least.
///
/// `score = ⌊100 · σ((F(node) − F(node with the task)) / 1000)⌋` with `F` the [`FragMeasure`] of the
/// workload's typical pods and `σ` the logistic function; 50 means "fragmentation unchanged". A shared
/// GPU tries every device it fits and keeps the best (the first such device); whole GPUs take the fully
/// free devices with the lowest index.
///
/// Scores are cached per node version and request shape, and `F` is memoised by node state, so a
/// placement costs a pass over the nodes plus new work only for nodes that changed.
#[derive(Clone, Debug)]
pub struct Fgd {
    table: NodeTable,
    typical: TypicalPods,
    state: Option<FgdState>,
}

impl Fgd {
    /// The policy for a workload with these typical pods, with tie-breaking order `seed`.
    pub fn new(seed: u64, typical: TypicalPods) -> Fgd {
        Fgd {
            table: NodeTable::new(seed),
            typical,
            state: None,
        }
    }

    /// The typical pods it scores with.
    pub fn typical(&self) -> &TypicalPods {
        &self.typical
    }
}

const NO_DEVICE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Default)]
struct Cached {
    version: u64,
    score: i32,
    device: u32,
}

#[derive(Clone, Debug)]
struct FgdState {
    measure: FragMeasure,
    memo: FragMemo,
    /// `F` of each node, with the version it was computed for.
    before: Vec<(u64, f64)>,
    /// Request shapes seen (non-zero CPU, milli-GPU, GPUs) and their row in `cache`.
    classes: BTreeMap<(u64, u32, u32), usize>,
    /// `cache[class][node]`: the node's score and device for the shape, at a node version.
    cache: Vec<Vec<Cached>>,
}

/// `⌊100 · σ((before − after) / 1000)⌋`, evaluated as the reference does.
pub(crate) fn sigmoid_score(before: f64, after: f64) -> i32 {
    let x = (before - after) / 1000.0;
    (1.0 / (1.0 + (-x).exp()) * 100.0) as i32
}

impl FgdState {
    fn new(measure: FragMeasure) -> FgdState {
        FgdState {
            measure,
            memo: FragMemo::default(),
            before: Vec::new(),
            classes: BTreeMap::new(),
            cache: Vec::new(),
        }
    }

    fn class(&mut self, p: &Pod, nodes: usize) -> usize {
        let next = self.cache.len();
        let c = *self.classes.entry((p.cpu_nz, p.milli, p.gpus)).or_insert(next);
        if c == next {
            self.cache.push(Vec::new());
        }
        if self.cache[c].len() < nodes {
            self.cache[c].resize(nodes, Cached::default());
        }
        if self.before.len() < nodes {
            self.before.resize(nodes, (0, 0.0));
        }
        c
    }

    fn score(&mut self, table: &NodeTable, class: usize, i: usize, s: &Snap, p: &Pod) -> (i64, Option<u32>) {
        let version = table.meta(i).version;
        let c = self.cache[class][i];
        let (score, device) = if c.version == version {
            (c.score, c.device)
        } else {
            let (score, device) = self.compute(table, i, version, s, p);
            self.cache[class][i] = Cached { version, score, device };
            (score, device)
        };
        (i64::from(score), (device != NO_DEVICE).then_some(device))
    }

    fn compute(&mut self, table: &NodeTable, i: usize, version: u64, s: &Snap, p: &Pod) -> (i32, u32) {
        let sorted = table.sorted(i);
        let model = s.model();
        let before = if self.before[i].0 == version {
            self.before[i].1
        } else {
            let f = self.measure.frag_memo(&mut self.memo, model, s.cpu_free as i64, sorted);
            self.before[i] = (version, f);
            f
        };
        let cpu_after = s.cpu_free as i64 - p.cpu_nz as i64;
        let n = sorted.len();
        let mut buf = [0u32; MAX_GPUS_PER_NODE];
        if p.is_shared() {
            // Every device the share fits, in index order; devices with equal free milli score alike.
            let mut tried = [(0u32, 0i32); MAX_GPUS_PER_NODE];
            let mut n_tried = 0;
            let mut best: Option<(i32, u32)> = None;
            for (d, &g) in table.lefts(i).iter().enumerate() {
                if g < p.milli {
                    continue;
                }
                let score = match tried[..n_tried].iter().find(|(v, _)| *v == g) {
                    Some(&(_, sc)) => sc,
                    None => {
                        buf[..n].copy_from_slice(sorted);
                        let mut at = sorted.partition_point(|&v| v < g);
                        buf[at] -= p.milli;
                        while at > 0 && buf[at - 1] > buf[at] {
                            buf.swap(at - 1, at);
                            at -= 1;
                        }
                        let after = self.measure.frag_memo(&mut self.memo, model, cpu_after, &buf[..n]);
                        let sc = sigmoid_score(before, after);
                        tried[n_tried] = (g, sc);
                        n_tried += 1;
                        sc
                    }
                };
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, d as u32));
                }
            }
            best.unwrap_or((0, NO_DEVICE))
        } else {
            buf[..n].copy_from_slice(sorted);
            if p.gpus > 0 {
                // The first devices, in ascending free order, that hold the share.
                let mut need = p.gpus;
                for g in buf[..n].iter_mut() {
                    if need == 0 {
                        break;
                    }
                    if *g >= p.milli {
                        *g -= p.milli;
                        need -= 1;
                    }
                }
                buf[..n].sort_unstable();
            }
            let after = self.measure.frag_memo(&mut self.memo, model, cpu_after, &buf[..n]);
            (sigmoid_score(before, after), NO_DEVICE)
        }
    }
}

impl PlacementPolicy for Fgd {
    fn name(&self) -> &str {
        "fgd"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        self.table.refresh(view);
        // Typical pods name GPU models: resolve them again when the cluster learns a new model.
        if self
            .state
            .as_ref()
            .is_none_or(|st| st.measure.models_known() != view.models().len())
        {
            self.state = Some(FgdState::new(self.typical.measure(view.models())));
        }
        let st = self.state.as_mut().expect("set above");
        let p = Pod::of(demand);
        let class = st.class(&p, self.table.snaps().len());
        let table = &self.table;
        table.best(view, demand, tasks, &p, |i, s| st.score(table, class, i, s, &p))
    }
}
