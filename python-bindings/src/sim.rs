//! Simulations: `simulate` (one run, built-in or Python policies), `compare` (several built-in policies in
//! parallel through the command line's experiment runner) and `Session` (one decision at a time, for
//! Gymnasium). Each function extracts its arguments, releases the GIL around the simulator and converts
//! the result.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use phalanx_core::{Placement, PlacementPolicy, QueuePolicy, Span};
use phalanx_sim::engine::{simulate_with, Outcome, SimConfig, SimResult};
use phalanx_sim::experiment::{
    self, ClusterConfig, EstimatesConfig, Experiment, Loaded, PolicyConfig, TraceConfig, TraceFormat,
};
use phalanx_sim::metrics::{summarize, Summary};
use phalanx_sim::session::{Offer, Session as Driver};
use phalanx_sim::workload::Workload;
use pyo3::prelude::*;

use crate::arrow::{Batch, Columns};
use crate::error::{arg, Error, Result};
use crate::policy::{Calls, PyQueue, PyScore};
use crate::trace::{millis, Cluster, Trace};

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

fn sample_every(sample_every_s: f64) -> Result<Option<Span>> {
    let ms = millis("sample_every_s", 0, sample_every_s).map_err(|_| {
        arg(
            "sample_every_s",
            format!("expected seconds ≥ 0 (0: no time series), found {sample_every_s}"),
        )
    })?;
    Ok((ms > 0).then_some(Span(ms)))
}

/// One finished simulation.
#[pyclass(module = "phalanx._native", frozen)]
pub struct Run {
    workload: Arc<Workload>,
    result: SimResult,
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
    /// The run's summary: `summary.json`'s text.
    fn summary_json(&self) -> String {
        serde_json::to_string(&self.summary).expect("a summary serialises")
    }

    /// One row per job, the columns of `jobs.csv` (times in seconds; missing times are null).
    fn jobs(&self, py: Python<'_>) -> Batch {
        let (w, r) = (&*self.workload, &self.result);
        py.detach(|| {
            let secs = |ms: u64| ms as f64 / 1000.0;
            let jobs = &r.jobs;
            Columns::default()
                .u64("job", (0..jobs.len() as u64).collect())
                .str("origin", (0..jobs.len()).map(|i| w.origin(i)))
                .str("queue", w.jobs.iter().map(|j| &w.queues[j.queue as usize]))
                .f64("submit_s", jobs.iter().map(|j| secs(j.submit.as_millis())).collect())
                .opt_f64(
                    "start_s",
                    jobs.iter().map(|j| j.start.map(|t| secs(t.as_millis()))).collect(),
                )
                .opt_f64(
                    "end_s",
                    jobs.iter().map(|j| j.end.map(|t| secs(t.as_millis()))).collect(),
                )
                .opt_f64(
                    "jct_s",
                    jobs.iter().map(|j| j.jct().map(|s| secs(s.as_millis()))).collect(),
                )
                .f64("queue_s", jobs.iter().map(|j| secs(j.queue.as_millis())).collect())
                .u32("gpus", jobs.iter().map(|j| j.gpus).collect())
                .u32("nodes", jobs.iter().map(|j| j.nodes).collect())
                .u32("preemptions", jobs.iter().map(|j| j.preemptions).collect())
                .str(
                    "outcome",
                    jobs.iter().map(|j| match j.outcome {
                        Outcome::Finished => "finished",
                        Outcome::Rejected(_) => "rejected",
                        Outcome::Unfinished => "unfinished",
                    }),
                )
                .opt_str(
                    "reason",
                    jobs.iter().map(|j| match &j.outcome {
                        Outcome::Rejected(reason) => Some(reason.to_string()),
                        _ => None,
                    }),
                )
                .finish()
        })
    }

    /// The time series: time_s, gpus_allocated, gpu_utilization, running, queued.
    fn timeseries(&self) -> Batch {
        let r = &self.result;
        let gpus = r.cluster_gpus as f64;
        Columns::default()
            .f64(
                "time_s",
                r.series.iter().map(|s| s.time.as_millis() as f64 / 1000.0).collect(),
            )
            .u64("gpus_allocated", r.series.iter().map(|s| s.gpus_allocated).collect())
            .f64(
                "gpu_utilization",
                r.series
                    .iter()
                    .map(|s| {
                        if gpus > 0.0 {
                            s.gpus_allocated as f64 / gpus
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            )
            .u32("running", r.series.iter().map(|s| s.running).collect())
            .u32("queued", r.series.iter().map(|s| s.queued).collect())
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
    fn new(workload: Arc<Workload>, result: SimResult, policy: String, seed: u64, calls: u64, secs: f64) -> Run {
        let summary = summarize(&result, |_| true);
        Run {
            workload,
            result,
            summary,
            policy,
            seed,
            python_calls: calls,
            sim_seconds: secs,
        }
    }
}

/// Replays `trace` on `cluster`. `key` (a Python queue-order function) replaces `queue`, `score` (a
/// Python node-scoring function) replaces `placement`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (trace, cluster, queue, placement, head_of_line, checkpoint, sample_every_s, seed, key, score, preemptive))]
pub fn simulate(
    py: Python<'_>,
    trace: &Trace,
    cluster: &Cluster,
    queue: &str,
    placement: &str,
    head_of_line: &str,
    checkpoint: &str,
    sample_every_s: f64,
    seed: u64,
    key: Option<Py<PyAny>>,
    score: Option<Py<PyAny>>,
    preemptive: bool,
) -> Result<Run> {
    let name = match (&key, &score) {
        (None, None) => queue.to_owned(),
        _ => "python".to_owned(),
    };
    let (_, scheduler) = policy_config(&name, queue, placement, head_of_line, checkpoint)?;
    let config = SimConfig {
        scheduler,
        sample_every: sample_every(sample_every_s)?,
    };
    let (workload, nodes) = (&*trace.workload, &*cluster.nodes);
    let (result, calls, error, secs) = py.detach(move || {
        let t0 = Instant::now();
        let calls = Rc::new(Calls::default());
        let q: Box<dyn QueuePolicy> = match key {
            Some(k) => Box::new(PyQueue::new(k, preemptive, calls.clone())),
            None => scheduler.queue.build(),
        };
        let p: Box<dyn PlacementPolicy> = match score {
            Some(s) => Box::new(PyScore::new(s, calls.clone())),
            None => scheduler.placement.build(),
        };
        let result = simulate_with(workload, nodes, &config, q, p);
        let secs = t0.elapsed().as_secs_f64();
        let count = calls.calls.get();
        let error = calls.error.borrow_mut().take();
        (result, count, error, secs)
    });
    if let Some(e) = error {
        return Err(Error::Py(e));
    }
    Ok(Run::new(trace.workload.clone(), result?, name, seed, calls, secs))
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
    sample_every_s: f64,
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
    let exp = Experiment {
        name: trace.workload.name.clone(),
        description: String::new(),
        trace: TraceConfig {
            format: TraceFormat::Native,
            path: trace.workload.source.clone(),
            vcs: None,
            estimates: EstimatesConfig::None,
            jobs: None,
            seed: None,
        },
        cluster: ClusterConfig::default(),
        policies: configs,
        seeds: vec![seed],
        split_by_queue: false,
        sample_every_s: sample_every(sample_every_s)?.map_or(0, |s| s.as_millis().div_ceil(1000)),
    };
    let loaded = Loaded {
        workload: (*trace.workload).clone(),
        nodes: (*cluster.nodes).clone(),
        ..Loaded::default()
    };
    let t0 = Instant::now();
    let out = py.detach(|| experiment::run(&exp, &loaded, threads.max(1), |_, _| {}));
    let secs = t0.elapsed().as_secs_f64();
    let out = out.map_err(|e| match e {
        experiment::ExperimentError::Trace(e) => Error::Trace(e),
        experiment::ExperimentError::Cluster(e) => Error::Cluster(e),
        e => arg("policies", e.to_string()),
    })?;
    Ok(out
        .runs
        .into_iter()
        .map(|r| {
            let w = trace.workload.clone();
            Run::new(w, r.result, r.policy, r.seed, 0, secs)
        })
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
        Run::new(self.workload.clone(), self.driver.result(), "session".into(), 0, 0, 0.0)
    }
}
