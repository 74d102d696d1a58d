//! Experiments: a trace, a cluster, policies and seeds, described in TOML (`experiments/*.toml`) or built by
//! the command line, run in parallel, written as one folder per run plus `summary.csv` and the plots.
//!
//! ```toml
//! name = "helios-philly"
//! split_by_queue = true                # one run per virtual cluster, each on its own cluster
//! [trace]
//! format = "helios"                    # philly | helios | itp | openb | pollux | native | synthetic
//! path = "traces/philly/philly.csv"
//! vcs = "traces/philly/philly_vc.csv"
//! estimates = "oracle"                 # none | oracle
//! [cluster]
//! per_queue = "traces/philly/philly_vc.csv"   # or: spec = "64x8:nvidia/V100"   or: nodes = "FILE.csv"
//! gpu_model = "nvidia/P100"
//! [[policies]]
//! name = "fifo"
//! queue = "fifo"                       # fifo | priority | sjf | srtf
//! placement = "consolidate"            # firstfit | bestfit | worstfit | consolidate
//! head_of_line = "block"               # block | skip
//! checkpoint = "helios"                # none | helios
//! ```
//!
//! Relative paths are taken from the directory the program runs in (the repository root for the shipped
//! experiments).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use phalanx_core::{CheckpointCost, Config, HeadOfLine, NodeSpec, Placement, QueueOrder, Span};
use serde::Deserialize;

use crate::engine::{simulate, SimConfig, SimResult};
use crate::metrics::{summarize, write_run, Summary};
use crate::plot::{cdf, Chart, Series};
use crate::workload::Workload;

/// An experiment description.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Its name (used in `summary.csv`).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The jobs.
    pub trace: TraceConfig,
    /// The cluster.
    pub cluster: ClusterConfig,
    /// The policies to compare.
    pub policies: Vec<PolicyConfig>,
    /// Seeds (one run per seed; policies here are deterministic, so one seed is the default).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// One run per queue (virtual cluster), each on its own cluster (`cluster.per_queue`) or on the whole one.
    #[serde(default)]
    pub split_by_queue: bool,
    /// Time-series sampling interval in seconds.
    #[serde(default = "default_sample")]
    pub sample_every_s: u64,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

fn default_sample() -> u64 {
    60
}

/// Where the jobs come from.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// The trace format.
    pub format: TraceFormat,
    /// The trace file (or, for `pollux`, the workload file; unused for `synthetic`).
    #[serde(default)]
    pub path: PathBuf,
    /// `philly_vc.csv` for the `helios` format.
    #[serde(default)]
    pub vcs: Option<PathBuf>,
    /// Runtime estimates the scheduler sees.
    #[serde(default)]
    pub estimates: EstimatesConfig,
    /// Jobs to generate (`synthetic`).
    #[serde(default)]
    pub jobs: Option<usize>,
    /// Generator seed (`synthetic`).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Mean arrivals per hour (`synthetic`).
    #[serde(default)]
    pub jobs_per_hour: Option<f64>,
    /// Profiles folder (`pollux`; default `traces/pollux/profiles`).
    #[serde(default)]
    pub profiles: Option<PathBuf>,
}

/// Trace formats.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    /// Microsoft Philly `philly.csv`, all jobs.
    Philly,
    /// Philly with the Helios experiment's selection (needs `vcs`).
    Helios,
    /// Microsoft ITP `clusterNN.csv`.
    Itp,
    /// Alibaba openb pod list replayed in time.
    Openb,
    /// Pollux `workload-N.csv` (profiles from `traces/pollux/profiles`).
    Pollux,
    /// Phalanx native JSON Lines.
    Native,
    /// The seeded generator (`jobs`, `seed`, `jobs_per_hour`).
    Synthetic,
}

/// Runtime estimates.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EstimatesConfig {
    /// None (or what the trace carries).
    #[default]
    None,
    /// The true duration (an oracle, as Helios gives SJF and SRTF).
    Oracle,
}

/// The cluster: exactly one of `spec`, `nodes`, `per_queue`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// A compact spec such as `64x8:nvidia/V100,16x4:huawei/Ascend910B`.
    #[serde(default)]
    pub spec: Option<String>,
    /// An openb node list.
    #[serde(default)]
    pub nodes: Option<PathBuf>,
    /// A `vc,node num` table: one cluster of 8-GPU nodes per queue.
    #[serde(default)]
    pub per_queue: Option<PathBuf>,
    /// GPU model of `per_queue` clusters.
    #[serde(default)]
    pub gpu_model: Option<String>,
}

/// One policy to run.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Its name in outputs.
    pub name: String,
    /// Queue order: `fifo`, `priority`, `sjf`, `srtf`.
    pub queue: String,
    /// Placement: `firstfit`, `bestfit`, `worstfit`, `consolidate`.
    #[serde(default = "default_placement")]
    pub placement: String,
    /// `block` or `skip`.
    #[serde(default = "default_hol")]
    pub head_of_line: String,
    /// Checkpoint cost on preemption: `none` or `helios` (7 s / 30 s / 60 s).
    #[serde(default = "default_checkpoint")]
    pub checkpoint: String,
}

fn default_placement() -> String {
    "bestfit".into()
}
fn default_hol() -> String {
    "block".into()
}
fn default_checkpoint() -> String {
    "helios".into()
}

/// A problem with an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The TOML file could not be read or parsed.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A bad value in the description.
    #[error("experiment `{experiment}`: {message}")]
    Invalid {
        /// The experiment.
        experiment: String,
        /// What is wrong.
        message: String,
    },
    /// A trace or cluster file is bad.
    #[error(transparent)]
    Trace(#[from] crate::csv::TraceError),
    /// The cluster was refused by the scheduler.
    #[error(transparent)]
    Cluster(#[from] crate::engine::ClusterError),
    /// A cluster spec does not parse.
    #[error(transparent)]
    Spec(#[from] crate::trace::cluster::ClusterSpecError),
    /// The synthetic generator refused its configuration.
    #[error("synthetic trace: {0}")]
    Synthetic(#[from] crate::trace::synthetic::SyntheticError),
    /// Writing results failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl PolicyConfig {
    /// A policy named after its queue order, with the given placement.
    pub fn named(queue: &str, placement: &str) -> PolicyConfig {
        PolicyConfig {
            name: queue.to_owned(),
            queue: queue.to_owned(),
            placement: placement.to_owned(),
            head_of_line: default_hol(),
            checkpoint: default_checkpoint(),
        }
    }

    /// The scheduler configuration, or what is wrong.
    pub fn config(&self) -> Result<Config, String> {
        let queue = match self.queue.as_str() {
            "fifo" => QueueOrder::Fifo,
            "priority" => QueueOrder::Priority,
            "sjf" => QueueOrder::ShortestFirst,
            "srtf" => QueueOrder::ShortestRemaining,
            q => {
                return Err(format!(
                    "unknown queue order `{q}` (expected fifo, priority, sjf or srtf)"
                ))
            }
        };
        let placement = match self.placement.as_str() {
            "firstfit" => Placement::FirstFit,
            "bestfit" => Placement::BestFit,
            "worstfit" => Placement::WorstFit,
            "consolidate" => Placement::Consolidate,
            p => {
                return Err(format!(
                    "unknown placement `{p}` (expected firstfit, bestfit, worstfit or consolidate)"
                ))
            }
        };
        let head_of_line = match self.head_of_line.as_str() {
            "block" => HeadOfLine::Block,
            "skip" => HeadOfLine::SkipAhead,
            h => return Err(format!("unknown head_of_line `{h}` (expected block or skip)")),
        };
        let checkpoint = match self.checkpoint.as_str() {
            "none" => CheckpointCost::default(),
            "helios" => CheckpointCost::HELIOS,
            c => return Err(format!("unknown checkpoint `{c}` (expected none or helios)")),
        };
        Ok(Config {
            queue,
            placement,
            head_of_line,
            checkpoint,
        })
    }
}

impl Experiment {
    /// Reads an experiment from a TOML file.
    pub fn from_file(path: &Path) -> Result<Experiment, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::Config {
            path: path.to_owned(),
            message: format!("cannot read the file: {e}"),
        })?;
        toml::from_str(&text).map_err(|e| ExperimentError::Config {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    fn invalid(&self, message: impl Into<String>) -> ExperimentError {
        ExperimentError::Invalid {
            experiment: self.name.clone(),
            message: message.into(),
        }
    }
}

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    /// `policy` or `policy-vc`, plus `-sSEED` with several seeds: the run's folder name.
    pub name: String,
    /// The queue (VC) of a split run, `all` otherwise.
    pub vc: String,
    /// The policy's name.
    pub policy: String,
    /// The seed.
    pub seed: u64,
    /// The jobs it ran.
    pub workload: Workload,
    /// What happened.
    pub result: SimResult,
    /// Its summary.
    pub summary: Summary,
}

/// Everything an experiment produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Runs in (policy, VC, seed) order.
    pub runs: Vec<Run>,
    /// For split experiments, per policy and seed, the summary over all VCs together (job-weighted).
    pub overall: Vec<(String, u64, Summary)>,
}

struct Task {
    policy: usize,
    seed: u64,
    vc: Option<usize>,
}

/// Runs `exp` on `threads` threads (at least 1), calling `progress(done, total)` as runs finish.
pub fn run(
    exp: &Experiment,
    loaded: &Loaded,
    threads: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Outcome, ExperimentError> {
    let configs: Vec<Config> = exp
        .policies
        .iter()
        .map(|p| p.config().map_err(|m| exp.invalid(format!("policy `{}`: {m}", p.name))))
        .collect::<Result<_, _>>()?;
    if exp.policies.is_empty() {
        return Err(exp.invalid("no policies"));
    }
    let parts: Vec<(String, Workload, &[NodeSpec])> = if exp.split_by_queue {
        split(&loaded.workload)
            .into_iter()
            .map(|(vc, w)| {
                let nodes = loaded.per_queue.get(&vc).map(Vec::as_slice).unwrap_or(&loaded.nodes);
                (vc, w, nodes)
            })
            .collect()
    } else {
        vec![("all".to_owned(), loaded.workload.clone(), &loaded.nodes[..])]
    };
    if exp.split_by_queue {
        if let Some((vc, _, _)) = parts.iter().find(|(_, _, n)| n.is_empty()) {
            return Err(exp.invalid(format!("no cluster for queue `{vc}`")));
        }
    }
    let mut tasks = Vec::new();
    for p in 0..exp.policies.len() {
        for &seed in &exp.seeds {
            for vc in 0..parts.len() {
                tasks.push(Task {
                    policy: p,
                    seed,
                    vc: exp.split_by_queue.then_some(vc),
                });
            }
        }
    }
    let sample = (exp.sample_every_s > 0).then(|| Span::from_secs(exp.sample_every_s));
    let next = AtomicUsize::new(0);
    let total = tasks.len();
    let (tx, rx) = mpsc::channel();
    let mut results: Vec<Option<Result<SimResult, ExperimentError>>> = (0..total).map(|_| None).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, total.max(1)) {
            let tx = tx.clone();
            let (tasks, parts, configs, next) = (&tasks, &parts, &configs, &next);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(t) = tasks.get(i) else { break };
                let (_, w, nodes) = &parts[t.vc.unwrap_or(0)];
                let config = SimConfig {
                    scheduler: configs[t.policy],
                    sample_every: sample,
                };
                let r = simulate(w, nodes, &config).map_err(ExperimentError::from);
                if tx.send((i, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (done, (i, r)) in rx.iter().enumerate() {
            results[i] = Some(r);
            progress(done + 1, total);
        }
    });
    let mut runs = Vec::with_capacity(total);
    for (t, r) in tasks.iter().zip(results) {
        let result = r.expect("every task reports")?;
        let (vc, w, _) = &parts[t.vc.unwrap_or(0)];
        let policy = exp.policies[t.policy].name.clone();
        let mut name = policy.clone();
        if exp.split_by_queue {
            name = format!("{name}-{vc}");
        }
        if exp.seeds.len() > 1 {
            name = format!("{name}-s{}", t.seed);
        }
        let summary = summarize(&result, |_| true);
        runs.push(Run {
            name,
            vc: vc.clone(),
            policy,
            seed: t.seed,
            workload: w.clone(),
            result,
            summary,
        });
    }
    let mut overall = Vec::new();
    if exp.split_by_queue {
        for p in &exp.policies {
            for &seed in &exp.seeds {
                let mine: Vec<&Run> = runs.iter().filter(|r| r.policy == p.name && r.seed == seed).collect();
                overall.push((p.name.clone(), seed, combine(&mine)));
            }
        }
    }
    Ok(Outcome { runs, overall })
}

/// The summary of several runs' jobs together (job-weighted), e.g. all VCs of a split experiment.
fn combine(runs: &[&Run]) -> Summary {
    let results: Vec<&SimResult> = runs.iter().map(|r| &r.result).collect();
    summarize(&combine_results(&results), |_| true)
}

/// Several runs as one (their jobs in order, their clusters' GPUs, events and work added up; no time
/// series): what the summary of a split experiment is taken over.
pub fn combine_results(results: &[&SimResult]) -> SimResult {
    let mut all = SimResult {
        jobs: Vec::new(),
        series: Vec::new(),
        cluster_gpus: 0,
        events: 0,
        gpu_busy_ms: 0,
        end: phalanx_core::Time::ZERO,
    };
    for r in results {
        all.jobs.extend(r.jobs.iter().cloned());
        all.cluster_gpus += r.cluster_gpus;
        all.events += r.events;
        all.gpu_busy_ms += r.gpu_busy_ms;
        all.end = all.end.max(r.end);
    }
    all
}

/// Splits a workload by queue, in queue order; jobs keep their relative order.
pub fn split(w: &Workload) -> Vec<(String, Workload)> {
    let mut parts: Vec<Workload> = w
        .queues
        .iter()
        .map(|q| Workload {
            name: format!("{}-{q}", w.name),
            source: w.source.clone(),
            queues: w.queues.clone(),
            shapes: w.shapes.clone(),
            jobs: Vec::new(),
        })
        .collect();
    for j in &w.jobs {
        parts[j.queue as usize].jobs.push(j.clone());
    }
    w.queues
        .iter()
        .cloned()
        .zip(parts)
        .filter(|(_, p)| !p.jobs.is_empty())
        .collect()
}

/// A trace and its clusters, loaded.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The jobs.
    pub workload: Workload,
    /// The cluster (for unsplit runs, and split runs without per-queue clusters).
    pub nodes: Vec<NodeSpec>,
    /// Per-queue clusters.
    pub per_queue: BTreeMap<String, Vec<NodeSpec>>,
    /// What the reader left out on purpose, if anything.
    pub report: Option<String>,
}

/// `summary.csv`: one row per run, then (split experiments) one `all` row per policy and seed.
pub fn summary_csv(exp: &Experiment, out: &Outcome) -> String {
    let mut s = String::from(
        "experiment,run,vc,policy,seed,jobs_submitted,jobs_finished,jobs_rejected,jobs_unfinished,avg_jct_s,p50_jct_s,p95_jct_s,p99_jct_s,avg_queue_s,makespan_s,gpu_utilization,preemptions,events\n",
    );
    let mut row = |run: &str, vc: &str, policy: &str, seed: u64, m: &Summary| {
        let _ = writeln!(
            s,
            "{},{run},{vc},{policy},{seed},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.6},{},{}",
            exp.name,
            m.jobs_submitted,
            m.jobs_finished,
            m.jobs_rejected,
            m.jobs_unfinished,
            m.avg_jct_s,
            m.p50_jct_s,
            m.p95_jct_s,
            m.p99_jct_s,
            m.avg_queue_s,
            m.makespan_s,
            m.gpu_utilization,
            m.preemptions,
            m.events
        );
    };
    for r in &out.runs {
        row(&r.name, &r.vc, &r.policy, r.seed, &r.summary);
    }
    for (policy, seed, m) in &out.overall {
        row(&format!("{policy}-all"), "all", policy, *seed, m);
    }
    s
}

/// A terminal table: per policy (and seed), the overall JCT and queueing figures.
pub fn table(exp: &Experiment, out: &Outcome) -> String {
    let mut rows: Vec<(String, &Summary)> = Vec::new();
    if exp.split_by_queue {
        for (p, seed, m) in &out.overall {
            let name = if exp.seeds.len() > 1 {
                format!("{p} s{seed}")
            } else {
                p.clone()
            };
            rows.push((name, m));
        }
    } else {
        for r in &out.runs {
            rows.push((r.name.clone(), &r.summary));
        }
    }
    let mut s = format!(
        "{:<16} {:>8} {:>8} {:>8} {:>12} {:>12} {:>12} {:>12} {:>8}\n",
        "policy", "jobs", "finished", "rejected", "avg JCT s", "p95 JCT s", "avg queue s", "makespan s", "GPU util"
    );
    for (name, m) in rows {
        let _ = writeln!(
            s,
            "{:<16} {:>8} {:>8} {:>8} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>7.1}%",
            name,
            m.jobs_submitted,
            m.jobs_finished,
            m.jobs_rejected,
            m.avg_jct_s,
            m.p95_jct_s,
            m.avg_queue_s,
            m.makespan_s,
            100.0 * m.gpu_utilization
        );
    }
    s
}

/// Writes one folder per run (`jobs.csv`, `summary.json`, `timeseries.csv`), `summary.csv`, and the plots
/// `jct_cdf.svg` (JCT CDF per policy) and `utilization.svg` (allocated GPUs / cluster GPUs over time).
pub fn write(dir: &Path, exp: &Experiment, out: &Outcome) -> Result<(), ExperimentError> {
    let werr = |path: &Path| {
        let path = path.to_owned();
        move |source| ExperimentError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(werr(dir))?;
    for r in &out.runs {
        let d = dir.join(&r.name);
        write_run(&d, &r.workload, &r.result, &r.summary).map_err(werr(&d))?;
    }
    let p = dir.join("summary.csv");
    std::fs::write(&p, summary_csv(exp, out)).map_err(werr(&p))?;
    let p = dir.join("jct_cdf.svg");
    std::fs::write(&p, jct_chart(exp, out).to_svg()).map_err(werr(&p))?;
    let p = dir.join("utilization.svg");
    std::fs::write(&p, utilization_chart(exp, out).to_svg()).map_err(werr(&p))?;
    Ok(())
}

fn policy_groups<'a>(exp: &Experiment, out: &'a Outcome) -> Vec<(String, Vec<&'a Run>)> {
    let mut groups = Vec::new();
    for p in &exp.policies {
        for &seed in &exp.seeds {
            let runs: Vec<&Run> = out
                .runs
                .iter()
                .filter(|r| r.policy == p.name && r.seed == seed)
                .collect();
            let name = if exp.seeds.len() > 1 {
                format!("{} s{seed}", p.name)
            } else {
                p.name.clone()
            };
            groups.push((name, runs));
        }
    }
    groups
}

/// The JCT CDF per policy (all VCs together), log-scale seconds.
pub fn jct_chart(exp: &Experiment, out: &Outcome) -> Chart {
    let series = policy_groups(exp, out)
        .into_iter()
        .map(|(name, runs)| {
            let jcts: Vec<f64> = runs
                .iter()
                .flat_map(|r| r.result.jobs.iter().filter_map(|j| j.jct()))
                .map(|s| s.as_millis() as f64 / 1000.0)
                .collect();
            Series {
                name,
                points: cdf(&jcts, 400),
            }
        })
        .collect();
    Chart {
        title: format!("{}: job completion time", exp.name),
        x_label: "JCT (s, log scale)".into(),
        y_label: "fraction of jobs".into(),
        log_x: true,
        series,
    }
}

/// Allocated GPUs over cluster GPUs, over time, per policy (VCs summed).
pub fn utilization_chart(exp: &Experiment, out: &Outcome) -> Chart {
    let series = policy_groups(exp, out)
        .into_iter()
        .map(|(name, runs)| {
            let gpus: u64 = runs.iter().map(|r| r.result.cluster_gpus).sum();
            let mut times: Vec<u64> = runs
                .iter()
                .flat_map(|r| r.result.series.iter().map(|s| s.time.as_millis()))
                .collect();
            times.sort_unstable();
            times.dedup();
            let step = times.len().div_ceil(600).max(1);
            let mut cursors = vec![0usize; runs.len()];
            let mut points = Vec::new();
            for (k, t) in times.iter().enumerate() {
                let mut alloc = 0u64;
                for (r, c) in runs.iter().zip(cursors.iter_mut()) {
                    let s = &r.result.series;
                    while *c + 1 < s.len() && s[*c + 1].time.as_millis() <= *t {
                        *c += 1;
                    }
                    if s.get(*c).is_some_and(|x| x.time.as_millis() <= *t) {
                        alloc += s[*c].gpus_allocated;
                    }
                }
                if k % step == 0 || k + 1 == times.len() {
                    // Allocation is a step function: hold the previous value until this sample.
                    let (x, y) = (
                        *t as f64 / 3_600_000.0,
                        if gpus > 0 { alloc as f64 / gpus as f64 } else { 0.0 },
                    );
                    if let Some(&(_, prev)) = points.last() {
                        points.push((x, prev));
                    }
                    points.push((x, y));
                }
            }
            Series { name, points }
        })
        .collect();
    Chart {
        title: format!("{}: GPU allocation", exp.name),
        x_label: "time (hours)".into(),
        y_label: "allocated GPUs / cluster GPUs".into(),
        log_x: false,
        series,
    }
}

impl TraceConfig {
    /// A trace of `format` at `path`, with defaults for everything else.
    pub fn new(format: TraceFormat, path: impl Into<PathBuf>) -> TraceConfig {
        TraceConfig {
            format,
            path: path.into(),
            vcs: None,
            estimates: EstimatesConfig::None,
            jobs: None,
            seed: None,
            jobs_per_hour: None,
            profiles: None,
        }
    }
}

/// Reads the trace and builds the clusters an experiment names.
pub fn load(exp: &Experiment) -> Result<Loaded, ExperimentError> {
    let (workload, report) = load_trace(&exp.name, &exp.trace)?;
    let (nodes, per_queue) = load_cluster(&exp.name, &exp.cluster)?;
    Ok(Loaded {
        workload,
        nodes,
        per_queue,
        report,
    })
}

/// Reads (or generates) the trace `t` describes, with the reader's report of what it left out, if any.
/// `experiment` names the experiment in errors.
pub fn load_trace(experiment: &str, t: &TraceConfig) -> Result<(Workload, Option<String>), ExperimentError> {
    use crate::trace::{self, Estimates};
    let invalid = |message: &str| ExperimentError::Invalid {
        experiment: experiment.to_owned(),
        message: message.to_owned(),
    };
    let estimates = match t.estimates {
        EstimatesConfig::None => Estimates::None,
        EstimatesConfig::Oracle => Estimates::Oracle,
    };
    let need_path = || {
        if t.path.as_os_str().is_empty() {
            Err(invalid("trace.path is missing"))
        } else {
            Ok(t.path.as_path())
        }
    };
    let mut report = None;
    let workload = match t.format {
        TraceFormat::Philly => trace::philly::read_philly(need_path()?, estimates)?,
        TraceFormat::Helios => {
            let vcs = t
                .vcs
                .as_deref()
                .ok_or_else(|| invalid("trace.vcs (philly_vc.csv) is required for format `helios`"))?;
            let (w, r) = trace::philly::read_helios(need_path()?, vcs, estimates)?;
            report = Some(r.to_string());
            w
        }
        TraceFormat::Itp => trace::itp::read_itp(need_path()?, estimates)?,
        TraceFormat::Openb => {
            let options = trace::openb_replay::OpenbReplayOptions {
                estimates,
                ..Default::default()
            };
            let (w, r) = trace::openb_replay::read_openb_replay(need_path()?, &options)?;
            report = Some(r.to_string());
            w
        }
        TraceFormat::Pollux => {
            let dir = t
                .profiles
                .clone()
                .unwrap_or_else(|| PathBuf::from("traces/pollux/profiles"));
            let profiles = trace::pollux::PolluxProfiles::read(&dir)?;
            let options = trace::pollux::PolluxOptions {
                estimates,
                ..Default::default()
            };
            trace::pollux::read_pollux(need_path()?, &profiles, &options)?
        }
        TraceFormat::Native => trace::native::read_native(need_path()?)?,
        TraceFormat::Synthetic => trace::synthetic::generate(&trace::synthetic::SyntheticConfig {
            seed: t.seed.unwrap_or(0),
            jobs: t.jobs.unwrap_or(10_000),
            jobs_per_hour: t.jobs_per_hour.unwrap_or(200.0),
            sizes: trace::synthetic::SizeMix::Gavel,
            gpus_per_node: 8,
            estimates,
        })?,
    };
    Ok((workload, report))
}

/// Builds the cluster `c` describes: all its nodes, and for `per_queue` clusters the nodes of each queue.
/// `experiment` names the experiment in errors.
#[allow(clippy::type_complexity)]
pub fn load_cluster(
    experiment: &str,
    c: &ClusterConfig,
) -> Result<(Vec<NodeSpec>, BTreeMap<String, Vec<NodeSpec>>), ExperimentError> {
    use crate::trace;
    let invalid = |message: String| ExperimentError::Invalid {
        experiment: experiment.to_owned(),
        message,
    };
    let given = [c.spec.is_some(), c.nodes.is_some(), c.per_queue.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if given != 1 {
        return Err(invalid(
            "the cluster needs exactly one of `spec`, `nodes` or `per_queue`".into(),
        ));
    }
    let mut nodes = Vec::new();
    let mut per_queue = BTreeMap::new();
    if let Some(spec) = &c.spec {
        nodes = trace::cluster::ClusterSpec::parse(spec)?.nodes();
    } else if let Some(path) = &c.nodes {
        nodes = trace::cluster::openb_cluster(path)?;
    } else if let Some(path) = &c.per_queue {
        let model_name = c.gpu_model.as_deref().unwrap_or("nvidia/P100");
        let model = phalanx_core::GpuModel::new(model_name).map_err(|e| invalid(format!("cluster.gpu_model: {e}")))?;
        let vcs = trace::philly::read_philly_vcs(path)?;
        for (vc, vc_nodes) in trace::cluster::philly_vc_clusters(&vcs, &model) {
            nodes.extend(vc_nodes.iter().cloned());
            per_queue.insert(vc, vc_nodes);
        }
    }
    Ok((nodes, per_queue))
}
