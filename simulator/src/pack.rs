//! `phalanx pack`: the packing experiment of the FGD paper (Weng et al., USENIX ATC'23, §6), which asks
//! how much of a cluster's GPU capacity each placement policy can actually hand out when GPU-sharing
//! pods arrive and none ever leaves.
//!
//! # One run (a workload, a policy, a seed)
//!
//! 1. **Cluster**: the node list, every node empty.
//! 2. **Arrivals**: the pod list sorted by name and shuffled with [`SplitMix64`] seeded with the seed;
//!    then *tuned* to `inflate` × the cluster's GPU capacity. If the pods ask for less, pods drawn
//!    uniformly from the name-sorted list are appended as copies, stopping at the first draw whose
//!    per-device share would pass the target (the reference's test; an 8-GPU copy may overshoot by
//!    up to 7 GPUs). If they ask for more, uniformly drawn pods are removed until they no longer do.
//! 3. **Placement**: pods go one at a time through the core [`Scheduler`] with the policy as its
//!    placement policy: a pod is submitted as a one-task job and the scheduler polled once. A pod that
//!    did not start is cancelled and counts as failed (never retried, as in the paper); so does a pod the
//!    scheduler rejects because it could never run on this cluster.
//! 4. **Samples** after every pod, placed or not: GPU milli arrived (failed pods included), GPU milli
//!    allocated, and the cluster's fragmentation (the sum of [`FragMeasure::node_frag`] over nodes,
//!    with the workload's typical pods computed from the untuned pod list).
//!
//! # Summary over seeds
//!
//! As the paper's analysis scripts do: a sample's arrived % is `round(arrived / gpus / 10)` and its
//! allocated % `round(allocated / gpus / 10, 2)` (Python's rounding, half to even); a run's value at
//! an integer arrived % `a` is the mean over its samples at `a` (or, if none, at `a ± 1`), rounded to 2
//! decimals. [`summarize`] then takes mean, median and sample standard deviation over seeds. The
//! headline figure is the *unallocated* GPU % at arrived = 100 %, `100 − mean`.
//!
//! The Go reference draws from Go's `math/rand`; this runner uses its own generator, so single seeds
//! differ but 10-seed means agree (see BENCHMARKS.md).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use phalanx_core::fgd::{FragMeasure, PaperPolicy, TypicalPods};
use phalanx_core::policy::Fifo;
use phalanx_core::rng::SplitMix64;
use phalanx_core::{
    Config, Decision, HeadOfLine, JobId, JobSpec, NodeId, Scheduler, TaskGroup, TaskRequest, Time, Topology,
};

use crate::csv::{Csv, TraceError};
use crate::engine::ClusterError;
use crate::openb::{OpenbNode, OpenbPod};

/// The largest arrived % summarised (the paper's range, 0..=130).
pub const MAX_ARRIVE_PCT: usize = 130;

/// A pod list to run: its name (the file's stem), its pods in name order, and their typical pods.
#[derive(Clone, Debug)]
pub struct Workload {
    name: String,
    pods: Vec<OpenbPod>,
    jobs: Vec<JobSpec>,
    typical: TypicalPods,
}

impl Workload {
    /// A workload called `name` (results use it as `workload`) of `pods`.
    pub fn new(name: impl Into<String>, mut pods: Vec<OpenbPod>) -> Workload {
        pods.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let jobs: Vec<JobSpec> = pods.iter().map(pod_job).collect();
        let typical = TypicalPods::from_requests(jobs.iter().map(|j| &j.groups[0].request));
        Workload {
            name: name.into(),
            pods,
            jobs,
            typical,
        }
    }

    /// The workload of a pod file, named after the file's stem.
    pub fn from_file(path: &Path) -> Result<Workload, TraceError> {
        let pods = crate::openb::read_pods(path)?;
        let name = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        Ok(Workload::new(name, pods))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its pods, in name order.
    pub fn pods(&self) -> &[OpenbPod] {
        &self.pods
    }

    /// Its typical pods.
    pub fn typical(&self) -> &TypicalPods {
        &self.typical
    }
}

/// A pod as a one-task job (id 0) the way the paper's simulator reads it: a pod without GPUs has no
/// GPU model constraint.
fn pod_job(p: &OpenbPod) -> JobSpec {
    let gpu = p.num_gpu > 0;
    JobSpec {
        id: JobId(0),
        queue: String::new(),
        priority: 0,
        estimate: None,
        groups: vec![TaskGroup {
            name: String::new(),
            count: 1,
            request: TaskRequest {
                cpu_milli: p.cpu_milli,
                memory_mib: p.memory_mib,
                gpus: p.num_gpu,
                gpu_milli: if gpu { p.gpu_milli } else { 0 },
                models: if gpu { p.gpu_spec.clone() } else { Vec::new() },
            },
            elastic: None,
            topology: Topology::Any,
        }],
    }
}

/// The arrival sequence of one run: indices into `pods` (in name order), shuffled with `seed` and tuned to
/// `inflate` × `cluster_milli` (see the [module docs](self)).
pub fn arrivals(pods: &[OpenbPod], cluster_milli: u64, inflate: f64, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..pods.len()).collect();
    rng.shuffle(&mut order);
    let mut total: u64 = pods.iter().map(OpenbPod::total_gpu_milli).sum();
    let target = inflate * cluster_milli as f64;
    if (total as f64) < target && pods.iter().any(|p| p.gpu_milli > 0) {
        loop {
            let i = rng.below(pods.len() as u64) as usize;
            // The reference stops on the per-device share, not the pod's total.
            if total as f64 + f64::from(pods[i].gpu_milli) > target {
                break;
            }
            order.push(i);
            total += pods[i].total_gpu_milli();
        }
    } else {
        while (total as f64) > target && !order.is_empty() {
            let at = rng.below(order.len() as u64) as usize;
            total -= pods[order.remove(at)].total_gpu_milli();
        }
    }
    order
}

/// One sample bucket: the samples of a run whose arrived % rounds to one integer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Bucket {
    samples: u32,
    alloc_pct: f64,
    frag_milli: f64,
    ratio_samples: u32,
    frag_ratio_pct: f64,
}

impl Bucket {
    fn add(&mut self, other: &Bucket) {
        self.samples += other.samples;
        self.alloc_pct += other.alloc_pct;
        self.frag_milli += other.frag_milli;
        self.ratio_samples += other.ratio_samples;
        self.frag_ratio_pct += other.frag_ratio_pct;
    }
}

/// A run's values at one integer arrived %.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Allocated GPU % of the cluster (mean of the samples, 2 decimals).
    pub alloc_pct: f64,
    /// Fragmented GPU % of the cluster (2 decimals).
    pub frag_pct: f64,
    /// Fragmented % of the idle GPU capacity (mean of the samples; `None` if the cluster was full).
    pub frag_ratio_pct: Option<f64>,
}

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The workload's name.
    pub workload: String,
    /// The policy.
    pub policy: PaperPolicy,
    /// The seed.
    pub seed: u64,
    /// Pods that arrived (after tuning).
    pub pods: usize,
    /// Pods placed.
    pub placed: usize,
    /// Pods that failed (found no room, or could never run).
    pub failed: usize,
    /// Of the failed pods, those the scheduler rejected as impossible on this cluster even empty.
    pub rejected: usize,
    /// One rejected pod and the reason, for the report.
    pub reject_example: Option<(String, String)>,
    /// GPU milli of the failed pods.
    pub failed_gpu_milli: u64,
    /// GPU milli that arrived.
    pub arrived_gpu_milli: u64,
    /// GPU milli allocated at the end.
    pub used_gpu_milli: u64,
    /// The run's value at each integer arrived % (index) up to [`MAX_ARRIVE_PCT`].
    pub curve: Vec<Option<Point>>,
    /// How long the placements took.
    pub elapsed: Duration,
}

impl RunResult {
    /// Unallocated GPU % at arrived % `a`, if the run reached it.
    pub fn unalloc_at(&self, a: usize) -> Option<f64> {
        self.curve.get(a).copied().flatten().map(|p| 100.0 - p.alloc_pct)
    }
}

/// Python's `round(x)` (half to even) of a double.
fn round0(x: f64) -> f64 {
    x.round_ties_even()
}

/// Python's `round(x, 2)`: the decimal with 2 places nearest to the double's exact value, half to even.
fn round2(x: f64) -> f64 {
    let y = x * 100.0;
    let frac = y - y.floor();
    if (frac - 0.5).abs() > 1e-6 {
        return y.round() / 100.0;
    }
    // Near a tie the product may have rounded: decide on the exact value, as Python does.
    format!("{x:.2}").parse().expect("a formatted number parses")
}

/// Places one workload with one policy and seed on `nodes`.
pub fn run(
    nodes: &[OpenbNode],
    workload: &Workload,
    policy: PaperPolicy,
    seed: u64,
    inflate: f64,
) -> Result<RunResult, ClusterError> {
    let config = Config {
        head_of_line: HeadOfLine::Block,
        ..Config::default()
    };
    let mut sched = Scheduler::with_policies(config, Box::new(Fifo), policy.build(seed, &workload.typical));
    let gpus = crate::engine::add_nodes(&mut sched, nodes.iter().map(OpenbNode::to_spec))?;
    let order = arrivals(&workload.pods, gpus * 1000, inflate, seed);
    let started = Instant::now();
    let measure: FragMeasure = workload.typical.measure(sched.view().models());
    let mut node_frag: Vec<f64> = Vec::new();
    let mut frag = 0.0;
    for n in sched.view().nodes() {
        let i = n.id().0 as usize;
        if node_frag.len() <= i {
            node_frag.resize(i + 1, 0.0);
        }
        node_frag[i] = measure.node_frag(&n);
        frag += node_frag[i];
    }
    let mut buckets = vec![Bucket::default(); MAX_ARRIVE_PCT + 2 + 8];
    let mut r = RunResult {
        workload: workload.name.clone(),
        policy,
        seed,
        pods: order.len(),
        placed: 0,
        failed: 0,
        rejected: 0,
        reject_example: None,
        failed_gpu_milli: 0,
        arrived_gpu_milli: 0,
        used_gpu_milli: 0,
        curve: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let cluster_milli = (gpus * 1000) as f64;
    for (k, &i) in order.iter().enumerate() {
        let pod = &workload.pods[i];
        let milli = pod.total_gpu_milli();
        let id = JobId(k as u64);
        let mut job = workload.jobs[i].clone();
        job.id = id;
        sched
            .handle_submit(Time::ZERO, job)
            .expect("job ids are arrival positions, unique");
        r.arrived_gpu_milli += milli;
        match sched.poll_decision() {
            Some(Decision::Start { tasks, .. }) => {
                r.placed += 1;
                r.used_gpu_milli += milli;
                let node: NodeId = tasks[0].node;
                let view = sched.view();
                let f = measure.node_frag(&view.node(node).expect("a node just used is present"));
                frag += f - node_frag[node.0 as usize];
                node_frag[node.0 as usize] = f;
            }
            Some(Decision::Reject { reason, .. }) => {
                r.failed += 1;
                r.rejected += 1;
                r.failed_gpu_milli += milli;
                if r.reject_example.is_none() {
                    r.reject_example = Some((pod.name.clone(), reason.to_string()));
                }
            }
            other => {
                debug_assert!(other.is_none(), "a packing run only starts or rejects pods");
                sched.handle_cancel(Time::ZERO, id).expect("the pod is pending");
                r.failed += 1;
                r.failed_gpu_milli += milli;
            }
        }
        let gpus_f = gpus as f64;
        let arrive = round0(r.arrived_gpu_milli as f64 / gpus_f / 10.0) as usize;
        let b = &mut buckets[arrive.min(MAX_ARRIVE_PCT + 9)];
        b.samples += 1;
        b.alloc_pct += round2(r.used_gpu_milli as f64 / gpus_f / 10.0);
        b.frag_milli += frag;
        let idle = cluster_milli - r.used_gpu_milli as f64;
        if idle > 0.0 {
            b.ratio_samples += 1;
            b.frag_ratio_pct += 100.0 * frag / idle;
        }
    }
    r.elapsed = started.elapsed();
    r.curve = (0..=MAX_ARRIVE_PCT)
        .map(|a| {
            let mut b = buckets[a];
            if b.samples == 0 {
                if a > 0 {
                    b.add(&buckets[a - 1]);
                }
                b.add(&buckets[a + 1]);
            }
            (b.samples > 0).then(|| {
                let n = f64::from(b.samples);
                Point {
                    alloc_pct: round2(b.alloc_pct / n),
                    frag_pct: round2(100.0 * (b.frag_milli / n) / 1000.0 / gpus as f64),
                    frag_ratio_pct: (b.ratio_samples > 0).then(|| b.frag_ratio_pct / f64::from(b.ratio_samples)),
                }
            })
        })
        .collect();
    Ok(r)
}

/// Runs every workload × policy × seed on `threads` threads; results come back in that order.
pub fn run_all(
    nodes: &[OpenbNode],
    workloads: &[Workload],
    policies: &[PaperPolicy],
    seeds: &[u64],
    inflate: f64,
    threads: usize,
) -> Result<Vec<RunResult>, ClusterError> {
    let mut jobs: Vec<(usize, usize, usize)> = Vec::new();
    for w in 0..workloads.len() {
        for p in 0..policies.len() {
            for s in 0..seeds.len() {
                jobs.push((w, p, s));
            }
        }
    }
    // Slowest first, so that the last runs to finish are short ones.
    let mut schedule: Vec<usize> = (0..jobs.len()).collect();
    schedule.sort_by_key(|&j| (policies[jobs[j].1] != PaperPolicy::Fgd, j));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Result<RunResult, ClusterError>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&j) = schedule.get(k) else { break };
                let (w, p, s) = jobs[j];
                let r = run(nodes, &workloads[w], policies[p], seeds[s], inflate);
                done.lock().expect("no run panics while holding the lock")[j] = Some(r);
            });
        }
    });
    done.into_inner()
        .expect("no run panics while holding the lock")
        .into_iter()
        .map(|r| r.expect("every run ran"))
        .collect()
}

/// One line of `summary.csv`: a workload × policy × arrived % over the seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The workload.
    pub workload: String,
    /// The policy's name (Phalanx's, or the paper's in an expected file).
    pub policy: String,
    /// Seeds that reached this arrived %.
    pub n_seeds: usize,
    /// Arrived GPU % of the cluster.
    pub arrive_pct: usize,
    /// Mean allocated GPU %.
    pub alloc_mean: f64,
    /// Median allocated GPU %.
    pub alloc_median: f64,
    /// Sample standard deviation of the allocated GPU % (0 with one seed).
    pub alloc_sd: f64,
    /// `100 − alloc_mean`.
    pub unalloc_mean: f64,
    /// Mean fragmented GPU % of the cluster.
    pub frag_mean: f64,
    /// Mean fragmented % of the idle GPU capacity.
    pub frag_ratio_mean: f64,
}

/// The columns of `summary.csv`, as in the paper's expected results.
pub const SUMMARY_HEADER: &str = "workload,policy,n_seeds,arrive_pct,alloc_gpu_pct_mean,alloc_gpu_pct_median,\
alloc_gpu_pct_sd,unalloc_gpu_pct_mean,frag_gpu_pct_of_cluster_mean,frag_ratio_pct_of_idle_mean";

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Means, medians and standard deviations over seeds, per workload × policy × arrived % (in the order of
/// `results`, arrived % ascending).
pub fn summarize(results: &[RunResult]) -> Vec<SummaryRow> {
    let mut groups: Vec<(&str, PaperPolicy, Vec<&RunResult>)> = Vec::new();
    for r in results {
        match groups.iter_mut().find(|(w, p, _)| *w == r.workload && *p == r.policy) {
            Some(g) => g.2.push(r),
            None => groups.push((&r.workload, r.policy, vec![r])),
        }
    }
    let mut rows = Vec::new();
    for (workload, policy, runs) in groups {
        for a in 0..=MAX_ARRIVE_PCT {
            let points: Vec<Point> = runs.iter().filter_map(|r| r.curve[a]).collect();
            if points.is_empty() {
                continue;
            }
            let mut alloc: Vec<f64> = points.iter().map(|p| p.alloc_pct).collect();
            alloc.sort_by(f64::total_cmp);
            let n = alloc.len();
            let m = mean(&alloc);
            let median = if n % 2 == 1 {
                alloc[n / 2]
            } else {
                (alloc[n / 2 - 1] + alloc[n / 2]) / 2.0
            };
            let sd = if n > 1 {
                (alloc.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64).sqrt()
            } else {
                0.0
            };
            let frag: Vec<f64> = points.iter().map(|p| p.frag_pct).collect();
            let ratio: Vec<f64> = points.iter().filter_map(|p| p.frag_ratio_pct).collect();
            rows.push(SummaryRow {
                workload: workload.to_owned(),
                policy: policy.name().to_owned(),
                n_seeds: n,
                arrive_pct: a,
                alloc_mean: m,
                alloc_median: median,
                alloc_sd: sd,
                unalloc_mean: 100.0 - m,
                frag_mean: mean(&frag),
                frag_ratio_mean: mean(&ratio),
            });
        }
    }
    rows
}

/// `summary.csv`'s text.
pub fn summary_csv(rows: &[SummaryRow]) -> String {
    let mut out = String::from(SUMMARY_HEADER);
    out.push('\n');
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            r.workload,
            r.policy,
            r.n_seeds,
            r.arrive_pct,
            r.alloc_mean,
            r.alloc_median,
            r.alloc_sd,
            r.unalloc_mean,
            r.frag_mean,
            r.frag_ratio_mean
        );
    }
    out
}

/// `runs.csv`'s text: one line per run, with its failed pods.
pub fn runs_csv(results: &[RunResult]) -> String {
    let mut out = String::from(
        "workload,policy,seed,pods,placed,failed,rejected,failed_gpu_milli,arrived_gpu_milli,used_gpu_milli,\
unalloc_gpu_pct_at_100,millis\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{:.1}",
            r.workload,
            r.policy,
            r.seed,
            r.pods,
            r.placed,
            r.failed,
            r.rejected,
            r.failed_gpu_milli,
            r.arrived_gpu_milli,
            r.used_gpu_milli,
            r.unalloc_at(100).map_or_else(String::new, |u| format!("{u:.2}")),
            r.elapsed.as_secs_f64() * 1e3
        );
    }
    out
}

/// Reads a `summary.csv` (ours or the paper's expected results).
pub fn read_summary(path: &Path) -> Result<Vec<SummaryRow>, TraceError> {
    let cols: Vec<&str> = SUMMARY_HEADER.split(',').collect();
    let csv = Csv::open(path, &cols)?;
    let c: Vec<usize> = cols.iter().map(|n| csv.col(n)).collect();
    csv.rows(|row| {
        let count = |i: usize| row.u64(c[i])?.try_into().map_err(|_| row.error(c[i], "a count"));
        Ok(SummaryRow {
            workload: row.str(c[0]).to_owned(),
            policy: row.str(c[1]).to_owned(),
            n_seeds: count(2)?,
            arrive_pct: count(3)?,
            alloc_mean: row.f64(c[4])?,
            alloc_median: row.f64(c[5])?,
            alloc_sd: row.f64(c[6])?,
            unalloc_mean: row.f64(c[7])?,
            frag_mean: row.f64(c[8])?,
            frag_ratio_mean: row.f64(c[9])?,
        })
    })
}

/// The expected row for `workload`, `policy` (by the paper's name) at arrived `pct` %, if any.
pub fn expected_at<'a>(
    expected: &'a [SummaryRow],
    workload: &str,
    policy: PaperPolicy,
    pct: usize,
) -> Option<&'a SummaryRow> {
    expected
        .iter()
        .find(|e| e.workload == workload && e.policy == policy.paper_name() && e.arrive_pct == pct)
}

const COLORS: [&str; 6] = ["#7f7f7f", "#9467bd", "#2ca02c", "#ff7f0e", "#1f77b4", "#d62728"];

/// An SVG chart of allocated GPU % against arrived GPU % (median over seeds), one line per policy and one
/// panel per workload, like the paper's figure 9a.
pub fn allocation_svg(rows: &[SummaryRow]) -> String {
    let mut workloads: Vec<&str> = Vec::new();
    for r in rows {
        if !workloads.contains(&r.workload.as_str()) {
            workloads.push(&r.workload);
        }
    }
    let (pw, ph) = (420.0, 320.0);
    let cols = workloads.len().clamp(1, 3);
    let rows_n = workloads.len().div_ceil(cols).max(1);
    let (width, height) = (pw * cols as f64, ph * rows_n as f64);
    let (x0, x1, y0, y1) = (50.0, 130.0, 50.0, 100.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (wi, w) in workloads.iter().enumerate() {
        let (ox, oy) = (pw * (wi % cols) as f64, ph * (wi / cols) as f64);
        let (left, right, top, bottom) = (ox + 50.0, ox + pw - 15.0, oy + 30.0, oy + ph - 45.0);
        let px = |x: f64| left + (x.clamp(x0, x1) - x0) / (x1 - x0) * (right - left);
        let py = |y: f64| bottom - (y.clamp(y0, y1) - y0) / (y1 - y0) * (bottom - top);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>"#,
            (left + right) / 2.0,
            oy + 18.0,
            xml_escape(w)
        );
        for g in (50..=130).step_by(10) {
            let x = px(f64::from(g));
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#e5e5e5"/><text x="{x:.1}" y="{}" text-anchor="middle">{g}</text>"##,
                bottom + 14.0
            );
        }
        for g in (50..=100).step_by(10) {
            let y = py(f64::from(g));
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end">{g}</text>"##,
                left - 4.0,
                y + 4.0
            );
        }
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="black"/>"#,
            right - left,
            bottom - top
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">arrived GPU % of the cluster</text>"#,
            (left + right) / 2.0,
            bottom + 30.0
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">allocated GPU %</text>"#,
            ox + 14.0,
            (top + bottom) / 2.0
        );
        for (pi, p) in PaperPolicy::ALL.iter().enumerate() {
            let pts: Vec<String> = rows
                .iter()
                .filter(|r| r.workload == *w && r.policy == p.name() && r.arrive_pct as f64 >= x0)
                .map(|r| format!("{:.1},{:.1}", px(r.arrive_pct as f64), py(r.alloc_median)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.6" points="{}"/>"#,
                COLORS[pi],
                pts.join(" ")
            );
            // The legend sits bottom right, below the curves' plateau.
            let ly = bottom - 10.0 - 14.0 * (PaperPolicy::ALL.len() - 1 - pi) as f64;
            let _ = writeln!(
                s,
                r#"<line x1="{}" y1="{ly:.1}" x2="{}" y2="{ly:.1}" stroke="{}" stroke-width="2"/><text x="{}" y="{:.1}">{}</text>"#,
                right - 95.0,
                right - 75.0,
                COLORS[pi],
                right - 70.0,
                ly + 4.0,
                p.name()
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, gpus: u32, milli: u32) -> OpenbPod {
        OpenbPod {
            name: name.into(),
            cpu_milli: 1000,
            memory_mib: 1024,
            num_gpu: gpus,
            gpu_milli: milli,
            gpu_spec: Vec::new(),
            creation_time: None,
            deletion_time: None,
        }
    }

    #[test]
    fn python_rounding() {
        assert_eq!(round0(2.5), 2.0);
        assert_eq!(round0(3.5), 4.0);
        assert_eq!(round2(0.125), 0.12);
        assert_eq!(round2(0.375), 0.38);
        assert_eq!(round2(93.555_000_1), 93.56);
        assert_eq!(round2(1.0 / 3.0), 0.33);
    }

    #[test]
    fn arrivals_tune_up_and_down() {
        let pods: Vec<OpenbPod> = (0..10).map(|i| pod(&format!("p{i}"), 1, 1000)).collect();
        // 10 GPUs asked of a 10-GPU cluster at 1.3: three copies appended after a permutation of all ten.
        let a = arrivals(&pods, 10_000, 1.3, 42);
        assert_eq!(a.len(), 13);
        let mut head = a[..10].to_vec();
        head.sort_unstable();
        assert_eq!(head, (0..10).collect::<Vec<_>>());
        assert_eq!(a, arrivals(&pods, 10_000, 1.3, 42), "reproducible");
        assert_ne!(a, arrivals(&pods, 10_000, 1.3, 43));
        // 10 GPUs asked of a 5-GPU cluster at 1.3 (6.5): removed down to 6.
        assert_eq!(arrivals(&pods, 5_000, 1.3, 42).len(), 6);
        // CPU-only pods never stop the tuning, and a workload without GPU pods is not tuned.
        let cpu: Vec<OpenbPod> = (0..3).map(|i| pod(&format!("c{i}"), 0, 0)).collect();
        assert_eq!(arrivals(&cpu, 10_000, 1.3, 1).len(), 3);
    }

    /// `n` nodes of two T4s, `cpu_milli` milli-CPU and 64 GiB each.
    fn t4_nodes(n: usize, cpu_milli: u64) -> Vec<OpenbNode> {
        (0..n)
            .map(|i| OpenbNode {
                name: format!("n{i}"),
                cpu_milli,
                memory_mib: 65_536,
                gpus: 2,
                model: crate::openb::openb_model("T4"),
            })
            .collect()
    }

    #[test]
    fn a_small_run_is_summarised() {
        let nodes = t4_nodes(2, 32_000);
        let pods = vec![pod("a", 1, 500), pod("b", 1, 700), pod("c", 2, 1000), pod("d", 0, 0)];
        let w = Workload::new("tiny", pods);
        let runs = run_all(&nodes, &[w], &PaperPolicy::ALL, &[1, 2], 1.3, 2).unwrap();
        assert_eq!(runs.len(), 12);
        for r in &runs {
            assert_eq!(r.placed + r.failed, r.pods, "{r:?}");
            assert!(r.used_gpu_milli <= 4000);
        }
        let rows = summarize(&runs);
        let csv = summary_csv(&rows);
        assert!(csv.starts_with(SUMMARY_HEADER));
        assert!(rows.iter().all(|r| r.n_seeds <= 2 && r.alloc_mean <= 100.0));
        let svg = allocation_svg(&rows);
        assert!(svg.starts_with("<svg") && svg.contains("polyline"));
    }

    #[test]
    fn a_run_replays_identically() {
        let nodes = t4_nodes(3, 16_000);
        let pods: Vec<OpenbPod> = (0..12).map(|i| pod(&format!("p{i:02}"), 1, 150 + 70 * i)).collect();
        let w = Workload::new("replay", pods);
        for policy in PaperPolicy::ALL {
            let mut a = run(&nodes, &w, policy, 7, 1.3).unwrap();
            let mut b = run(&nodes, &w, policy, 7, 1.3).unwrap();
            (a.elapsed, b.elapsed) = (Duration::ZERO, Duration::ZERO);
            assert_eq!(a, b, "{policy}");
        }
    }
}
