//! Simulations: `simulate` (one run, built-in or Python policies), `compare` (several built-in policies in
//! parallel through the command line's experiment runner) and `Session` (one decision at a time, for
//! Gymnasium). Each function extracts its arguments, releases the GIL around the simulator and converts
//! the result.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use phalanx_core::{NodeSpec, Placement, PlacementPolicy, QueuePolicy, Span};
use phalanx_sim::engine::{simulate_with, Outcome, SimConfig, SimResult};
use phalanx_sim::experiment::{self, ClusterConfig, Experiment, Loaded, PolicyConfig, TraceConfig, TraceFormat};
use phalanx_sim::metrics::{summarize, Summary};
use phalanx_sim::session::{Offer, Session as Driver};
use phalanx_sim::workload::Workload;
use pyo3::prelude::*;

use crate::arrow::{Batch, Columns};
use crate::error::{arg, Error, Result};
use crate::policy::{Calls, PyQueue, PyScore};
use crate::trace::{Cluster, Trace};

/// The scheduler configuration named by the four policy arguments; a bad name is a `ValueError` naming
/// the argument.
fn policy_config(
    name: &str,
    queue: &str,
    placement: &str,
    head_of_line: &str,
    checkpoint: &str,
) -> Result<(PolicyConfig, phalanx_core::Config)> {
    let base = PolicyConfig::named("fifo", "bestfit");
    let checks = [
        (
            "queue",
            PolicyConfig {
                queue: queue.into(),
                ..base.clone()
            },
        ),
        (
            "placement",
            PolicyConfig {
                placement: placement.into(),
                ..base.clone()
            },
        ),
        (
            "head_of_line",
            PolicyConfig {
                head_of_line: head_of_line.into(),
                ..base.clone()
            },
        ),
        (
            "checkpoint",
            PolicyConfig {
                checkpoint: checkpoint.into(),
                ..base.clone()
            },
        ),
    ];
    for (field, p) in checks {
        p.config().map_err(|m| arg(field, m))?;
    }
    let p = PolicyConfig {
        name: name.into(),
        queue: queue.into(),
        placement: placement.into(),
        head_of_line: head_of_line.into(),
        checkpoint: checkpoint.into(),
    };
    let config = p.config().map_err(|m| arg("policy", m))?;
    Ok((p, config))
}

fn sample_every(sample_every_s: i64) -> Result<u64> {
    u64::try_from(sample_every_s).map_err(|_| {
        arg(
            "sample_every_s",
            format!("expected whole seconds ≥ 0 (0: no time series), found {sample_every_s}"),
        )
    })
}

/// One queue's (virtual cluster's) share of a run, or the whole run (`vc` = "all").
struct Part {
    vc: String,
    workload: Workload,
    result: SimResult,
}

/// One finished simulation: one part, or one per queue on a per-queue cluster.
#[pyclass(module = "phalanx._native", frozen)]
pub struct Run {
    parts: Vec<Part>,
    summary: Summary,
    /// The policy's name.
    #[pyo3(get)]
    policy: String,
    /// The seed the run was made with.
    #[pyo3(get)]
    seed: u64,
    /// Calls into Python policy functions (0 for built-in policies).
    #[pyo3(get)]
    python_calls: u64,
    /// Wall-clock seconds the simulation itself took (GIL released, conversions excluded).
    #[pyo3(get)]
    sim_seconds: f64,
}

#[pymethods]
impl Run {
    /// The run's summary: `summary.json`'s text (for a per-queue run, all queues' jobs together, as the
    /// `-all` rows of `summary.csv`).
    fn summary_json(&self) -> String {
        serde_json::to_string(&self.summary).expect("a summary serialises")
    }

    /// One row per job: `vc`, then the columns of `jobs.csv` (times in seconds; missing times are null).
    /// `job` numbers the jobs of each part.
    fn jobs(&self, py: Python<'_>) -> Batch {
        py.detach(|| {
            let secs = |ms: u64| ms as f64 / 1000.0;
            let parts = &self.parts;
            let each = |p: &Part| p.result.jobs.len();
            let recs = || parts.iter().flat_map(|p| p.result.jobs.iter());
            Columns::default()
                .str(
                    "vc",
                    parts.iter().flat_map(|p| std::iter::repeat_n(p.vc.as_str(), each(p))),
                )
                .u64("job", parts.iter().flat_map(|p| 0..each(p) as u64).collect())
                .str(
                    "origin",
                    parts.iter().flat_map(|p| (0..each(p)).map(|i| p.workload.origin(i))),
                )
                .str(
                    "queue",
                    parts.iter().flat_map(|p| {
                        p.workload
                            .jobs
                            .iter()
                            .map(|j| p.workload.queues[j.queue as usize].as_str())
                    }),
                )
                .f64("submit_s", recs().map(|j| secs(j.submit.as_millis())).collect())
                .opt_f64(
                    "start_s",
                    recs().map(|j| j.start.map(|t| secs(t.as_millis()))).collect(),
                )
                .opt_f64("end_s", recs().map(|j| j.end.map(|t| secs(t.as_millis()))).collect())
                .opt_f64("jct_s", recs().map(|j| j.jct().map(|s| secs(s.as_millis()))).collect())
                .f64("queue_s", recs().map(|j| secs(j.queue.as_millis())).collect())
                .u32("gpus", recs().map(|j| j.gpus).collect())
                .u32("nodes", recs().map(|j| j.nodes).collect())
                .u32("preemptions", recs().map(|j| j.preemptions).collect())
                .str(
                    "outcome",
                    recs().map(|j| match j.outcome {
                        Outcome::Finished => "finished",
                        Outcome::Rejected(_) => "rejected",
                        Outcome::Unfinished => "unfinished",
                    }),
                )
                .opt_str(
                    "reason",
                    recs().map(|j| match &j.outcome {
                        Outcome::Rejected(reason) => Some(reason.to_string()),
                        _ => None,
                    }),
                )
                .finish()
        })
    }

    /// The time series of each part: vc, time_s, gpus_allocated, gpu_utilization, running, queued.
    fn timeseries(&self) -> Batch {
        let parts = &self.parts;
        let samples = || parts.iter().flat_map(|p| p.result.series.iter().map(move |s| (p, s)));
        Columns::default()
            .str("vc", samples().map(|(p, _)| p.vc.as_str()))
            .f64(
                "time_s",
                samples().map(|(_, s)| s.time.as_millis() as f64 / 1000.0).collect(),
            )
            .u64("gpus_allocated", samples().map(|(_, s)| s.gpus_allocated).collect())
            .f64(
                "gpu_utilization",
                samples()
                    .map(|(p, s)| match p.result.cluster_gpus {
                        0 => 0.0,
                        g => s.gpus_allocated as f64 / g as f64,
                    })
                    .collect(),
            )
            .u32("running", samples().map(|(_, s)| s.running).collect())
            .u32("queued", samples().map(|(_, s)| s.queued).collect())
            .finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "Run(policy={:?}, jobs={}, finished={})",
            self.policy, self.summary.jobs_submitted, self.summary.jobs_finished
        )
    }
}

impl Run {
    fn new(parts: Vec<Part>, policy: String, seed: u64, calls: u64, secs: f64) -> Run {
        let summary = match &parts[..] {
            [one] => summarize(&one.result, |_| true),
            parts => {
                let results: Vec<&SimResult> = parts.iter().map(|p| &p.result).collect();
                summarize(&experiment::combine_results(&results), |_| true)
            }
        };
        Run {
            parts,
            summary,
            policy,
            seed,
            python_calls: calls,
            sim_seconds: secs,
        }
    }
}

/// The workload's parts: one per queue on a per-queue cluster (each with that queue's nodes), else one.
fn parts<'a>(trace: &Trace, cluster: &'a Cluster) -> Result<Vec<(String, Workload, &'a [NodeSpec])>> {
    if cluster.per_queue.is_empty() {
        return Ok(vec![("all".to_owned(), (*trace.workload).clone(), &cluster.nodes[..])]);
    }
    experiment::split(&trace.workload)
        .into_iter()
        .map(|(vc, w)| match cluster.per_queue.get(&vc) {
            Some(nodes) => Ok((vc, w, &nodes[..])),
            None => Err(arg("cluster", format!("no nodes for queue `{vc}` of the trace"))),
        })
        .collect()
}

/// A policy's name and its run's parts.
type PolicyParts = (String, Vec<Part>);

/// Built-in policies through the command line's experiment runner: (policy name, parts) per policy.
fn run_builtin(
    py: Python<'_>,
    trace: &Trace,
    cluster: &Cluster,
    policies: Vec<PolicyConfig>,
    threads: usize,
    sample_every_s: u64,
    seed: u64,
) -> Result<(Vec<PolicyParts>, f64)> {
    let names: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
    let split = !cluster.per_queue.is_empty();
    if split {
        parts(trace, cluster)?; // every queue has nodes
    }
    let exp = Experiment {
        name: trace.workload.name.clone(),
        description: String::new(),
        trace: TraceConfig::new(TraceFormat::Native, trace.workload.source.clone()),
        cluster: ClusterConfig::default(),
        policies,
        seeds: vec![seed],
        split_by_queue: split,
        sample_every_s,
    };
    let loaded = Loaded {
        workload: (*trace.workload).clone(),
        nodes: (*cluster.nodes).clone(),
        per_queue: (*cluster.per_queue).clone(),
        report: None,
    };
    let t0 = Instant::now();
    let out = py.detach(|| experiment::run(&exp, &loaded, threads.max(1), |_, _| {}))?;
    let secs = t0.elapsed().as_secs_f64();
    let mut by_policy: Vec<PolicyParts> = names.into_iter().map(|n| (n, Vec::new())).collect();
    for r in out.runs {
        let slot = by_policy
            .iter_mut()
            .find(|(n, _)| *n == r.policy)
            .expect("runs of the given policies");
        slot.1.push(Part {
            vc: r.vc,
            workload: r.workload,
            result: r.result,
        });
    }
    Ok((by_policy, secs))
}

/// Replays `trace` on `cluster`. `key` (a Python queue-order function) replaces `queue`, `score` (a
/// Python node-scoring function) replaces `placement`. On a per-queue cluster each queue's jobs run on
/// that queue's nodes.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (trace, cluster, queue, placement, head_of_line, checkpoint, sample_every_s, seed, key, score, preemptive, threads))]
pub fn simulate(
    py: Python<'_>,
    trace: &Trace,
    cluster: &Cluster,
    queue: &str,
    placement: &str,
    head_of_line: &str,
    checkpoint: &str,
    sample_every_s: i64,
    seed: u64,
    key: Option<Py<PyAny>>,
    score: Option<Py<PyAny>>,
    preemptive: bool,
    threads: usize,
) -> Result<Run> {
    let sample = sample_every(sample_every_s)?;
    if key.is_none() && score.is_none() {
        let (pc, _) = policy_config(queue, queue, placement, head_of_line, checkpoint)?;
        let (mut runs, secs) = run_builtin(py, trace, cluster, vec![pc], threads, sample, seed)?;
        let (name, parts) = runs.pop().expect("one policy");
        return Ok(Run::new(parts, name, seed, 0, secs));
    }
    let (_, scheduler) = policy_config("python", queue, placement, head_of_line, checkpoint)?;
    let config = SimConfig {
        scheduler,
        sample_every: (sample > 0).then(|| Span::from_secs(sample)),
    };
    let parts = parts(trace, cluster)?;
    let (results, calls, error, secs) = py.detach(move || {
        let t0 = Instant::now();
        let calls = Rc::new(Calls::default());
        let mut results = Vec::with_capacity(parts.len());
        for (vc, w, nodes) in parts {
            let q: Box<dyn QueuePolicy> = match &key {
                Some(k) => Box::new(PyQueue::new(
                    Python::attach(|py| k.clone_ref(py)),
                    preemptive,
                    calls.clone(),
                )),
                None => scheduler.queue.build(),
            };
            let p: Box<dyn PlacementPolicy> = match &score {
                Some(s) => Box::new(PyScore::new(Python::attach(|py| s.clone_ref(py)), calls.clone())),
                None => scheduler.placement.build(),
            };
            let r = simulate_with(&w, nodes, &config, q, p);
            results.push(r.map(|result| Part {
                vc,
                workload: w,
                result,
            }));
        }
        let secs = t0.elapsed().as_secs_f64();
        let count = calls.calls.get();
        let error = calls.error.borrow_mut().take();
        (results, count, error, secs)
    });
    if let Some(e) = error {
        return Err(Error::Py(e));
    }
    let parts = results.into_iter().collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Run::new(parts, "python".into(), seed, calls, secs))
}

/// Several built-in policies on one trace and cluster, in parallel on `threads` threads, through the
/// command line's experiment runner. Each policy is (name, queue, placement, head_of_line, checkpoint).
#[pyfunction]
#[pyo3(signature = (trace, cluster, policies, threads, sample_every_s, seed))]
pub fn compare(
    py: Python<'_>,
    trace: &Trace,
    cluster: &Cluster,
    policies: Vec<(String, String, String, String, String)>,
    threads: usize,
    sample_every_s: i64,
    seed: u64,
) -> Result<Vec<Run>> {
    if policies.is_empty() {
        return Err(arg("policies", "expected at least one policy"));
    }
    let mut configs = Vec::with_capacity(policies.len());
    for (name, q, p, h, c) in &policies {
        let (pc, _) = policy_config(name, q, p, h, c).map_err(|e| match e {
            Error::Arg(field, m) => arg(&format!("policies[{name}].{field}"), m),
            e => e,
        })?;
        configs.push(pc);
    }
    let mut names: Vec<&str> = policies.iter().map(|p| p.0.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(arg("policies", format!("two policies are named `{}`", w[0])));
    }
    let sample = sample_every(sample_every_s)?;
    let (runs, secs) = run_builtin(py, trace, cluster, configs, threads, sample, seed)?;
    Ok(runs
        .into_iter()
        .map(|(name, parts)| Run::new(parts, name, seed, 0, secs))
        .collect())
}

/// A replay driven one decision at a time (the engine of `phalanx.gym.SchedulingEnv`).
#[pyclass(module = "phalanx._native", unsendable)]
pub struct Session {
    driver: Driver,
    workload: Arc<Workload>,
}

#[pymethods]
impl Session {
    /// A session at time 0, before the first arrival.
    #[new]
    #[pyo3(signature = (trace, cluster, placement="bestfit"))]
    fn new(trace: &Trace, cluster: &Cluster, placement: &str) -> Result<Session> {
        let placement = match placement {
            "firstfit" => Placement::FirstFit,
            "bestfit" => Placement::BestFit,
            "worstfit" => Placement::WorstFit,
            "consolidate" => Placement::Consolidate,
            p => {
                return Err(arg(
                    "placement",
                    format!("unknown placement `{p}` (expected firstfit, bestfit, worstfit or consolidate)"),
                ))
            }
        };
        let driver = Driver::new((*trace.workload).clone(), &cluster.nodes, placement)?;
        Ok(Session {
            driver,
            workload: trace.workload.clone(),
        })
    }

    /// The current time in seconds.
    #[getter]
    fn now_s(&self) -> f64 {
        self.driver.now().as_millis() as f64 / 1000.0
    }

    /// The time of the next completion or arrival in seconds, if any.
    #[getter]
    fn next_event_s(&self) -> Option<f64> {
        self.driver.next_event().map(|t| t.as_millis() as f64 / 1000.0)
    }

    /// Trace indices of the jobs waiting to be offered, in arrival order.
    fn waiting(&self) -> Vec<usize> {
        self.driver.waiting().to_vec()
    }

    /// Offers the `k`-th waiting job: "started", "no_room" (it keeps waiting) or "rejected" (never fits).
    fn try_start(&mut self, k: usize) -> Result<&'static str> {
        if k >= self.driver.waiting().len() {
            return Err(arg(
                "k",
                format!("{k} is not below the {} waiting jobs", self.driver.waiting().len()),
            ));
        }
        Ok(match self.driver.try_start(k) {
            Offer::Started => "started",
            Offer::NoRoom => "no_room",
            Offer::Rejected => "rejected",
        })
    }

    /// Jumps to the next event; `False` when none is left.
    fn advance(&mut self) -> bool {
        self.driver.advance()
    }

    /// Whether every job has ended.
    #[getter]
    fn done(&self) -> bool {
        self.driver.is_done()
    }

    /// Jobs running.
    #[getter]
    fn running(&self) -> u32 {
        self.driver.running()
    }

    /// GPU devices held by running jobs.
    #[getter]
    fn allocated_gpus(&self) -> u64 {
        self.driver.allocated_gpus()
    }

    /// GPU devices of the cluster.
    #[getter]
    fn cluster_gpus(&self) -> u64 {
        self.driver.cluster_gpus()
    }

    /// Wholly free healthy GPUs of each node, in node order.
    fn free_gpus(&self) -> Vec<u32> {
        self.driver
            .scheduler()
            .view()
            .nodes()
            .map(|n| n.free_whole_gpus())
            .collect()
    }

    /// What has happened so far, as a run.
    fn result(&self) -> Run {
        let part = Part {
            vc: "all".into(),
            workload: (*self.workload).clone(),
            result: self.driver.result(),
        };
        Run::new(vec![part], "session".into(), 0, 0, 0.0)
    }
}
