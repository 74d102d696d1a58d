//! The discrete-event engine: replays a [`Workload`] on a cluster through the scheduling core.
//!
//! A thin driver: it jumps from one event time to the next (no per-second stepping). At each time it
//! first tells the core about the jobs that completed, then submits the jobs that arrive, then carries
//! out every decision the core makes: a started job's completion is scheduled after its remaining work;
//! a stopped job (preempted, or on a lost node) keeps the work it has done, pays the configured checkpoint
//! cost, and waits again. The same inputs give the same outputs, byte for byte.

use phalanx_core::{
    Config, Decision, JobId, NodeSpec, PlacementPolicy, Prepared, QueuePolicy, RejectReason, Scheduler, Span,
    StopReason, Time, HINT_STAGES,
};

use crate::events::Completions;
use crate::workload::Workload;

/// How a simulation is run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimConfig {
    /// The scheduler's configuration (queue order, placement, head-of-line rule, checkpoint cost).
    pub scheduler: Config,
    /// Time-series sampling interval: a sample at the first event of each interval and one for the last
    /// state within it (`None`: no time series).
    pub sample_every: Option<Span>,
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to completion.
    Finished,
    /// The scheduler rejected it: it can never run on this cluster.
    Rejected(RejectReason),
    /// It was still waiting or running when nothing else could happen (e.g. it never fitted).
    Unfinished,
}

/// What happened to one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    /// When it was submitted.
    pub submit: Time,
    /// When it first started.
    pub start: Option<Time>,
    /// When it finished.
    pub end: Option<Time>,
    /// Total time spent waiting (before its first start and between a stop and the next start).
    pub queue: Span,
    /// GPU devices it holds while running.
    pub gpus: u32,
    /// Distinct nodes of its last start.
    pub nodes: u32,
    /// Times it was stopped and requeued.
    pub preemptions: u32,
    /// How it ended.
    pub outcome: Outcome,
}

impl JobRecord {
    /// The record of workload job `index` before anything happened to it.
    pub fn new(workload: &Workload, index: usize) -> JobRecord {
        JobRecord::waiting(workload.jobs[index].submit, workload.gpus(index) as u32)
    }

    /// The record of a job submitted at `submit` that holds `gpus` devices while running.
    fn waiting(submit: Time, gpus: u32) -> JobRecord {
        JobRecord {
            submit,
            start: None,
            end: None,
            queue: Span::default(),
            gpus,
            nodes: 0,
            preemptions: 0,
            outcome: Outcome::Unfinished,
        }
    }

    /// Job completion time (end − submit), if it finished.
    pub fn jct(&self) -> Option<Span> {
        self.end.map(|e| e.since(self.submit))
    }
}

/// One time-series sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The time.
    pub time: Time,
    /// GPU devices held by running jobs.
    pub gpus_allocated: u64,
    /// Jobs running.
    pub running: u32,
    /// Jobs waiting.
    pub queued: u32,
}

/// The outcome of a simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimResult {
    /// One record per workload job, in workload order.
    pub jobs: Vec<JobRecord>,
    /// Samples of the cluster's state over time.
    pub series: Vec<Sample>,
    /// GPU devices of the cluster.
    pub cluster_gpus: u64,
    /// Events the engine processed: submissions, starts, stops and completions.
    pub events: u64,
    /// GPU-milliseconds of work done (GPUs × running time, including work lost to stops).
    pub gpu_busy_ms: u128,
    /// The time of the last event.
    pub end: Time,
}

/// A node description the scheduler refused.
#[derive(Debug, thiserror::Error)]
#[error("node `{node}`: {source}")]
pub struct ClusterError {
    /// The node's name.
    pub node: String,
    /// Why.
    pub source: phalanx_core::NodeError,
}

/// A job's record with the engine's progress state beside it (one cache line apart, not two arrays).
struct Slot {
    record: JobRecord,
    live: Live,
}

struct Live {
    /// Work left to do (grows by the checkpoint cost at each stop).
    remaining: Span,
    /// When the current run started, or the current wait began.
    since: Time,
    /// Bumped at every start and stop: a completion event with an older generation is stale.
    generation: u32,
}

/// How many arrivals ahead the engine tells the core which job ids it will submit.
const SUBMIT_AHEAD: u64 = 4;

/// Pending completions (about the jobs running; a preempted run's stale completion counts until its time) from
/// which the engine gives the core cache hints. With fewer, what a finish reads mostly stays in the cache anyway
/// and the hints only cost instructions (at 3,000 jobs in flight they cost about 4 %; at 29,000 they save over
/// 40 %: BENCHMARKS.md).
const HINT_MIN_RUNNING: usize = 8192;

/// Replays `workload` on `nodes` with the built-in policies named in `config`.
pub fn simulate(workload: &Workload, nodes: &[NodeSpec], config: &SimConfig) -> Result<SimResult, ClusterError> {
    let sched = Scheduler::new(config.scheduler);
    run(workload, nodes, config, sched, HINT_MIN_RUNNING)
}

/// Replays `workload` on `nodes` with custom policies.
pub fn simulate_with(
    workload: &Workload,
    nodes: &[NodeSpec],
    config: &SimConfig,
    queue: Box<dyn QueuePolicy>,
    placement: Box<dyn PlacementPolicy>,
) -> Result<SimResult, ClusterError> {
    let sched = Scheduler::with_policies(config.scheduler, queue, placement);
    run(workload, nodes, config, sched, HINT_MIN_RUNNING)
}

/// Adds `nodes` to `sched` at time 0; returns the cluster's GPU devices, or the first node it refused.
pub fn add_nodes(sched: &mut Scheduler, nodes: impl IntoIterator<Item = NodeSpec>) -> Result<u64, ClusterError> {
    let mut gpus = 0;
    for n in nodes {
        gpus += n.gpus.len() as u64;
        let node = n.name.clone();
        sched
            .handle_node_added(Time::ZERO, n)
            .map_err(|source| ClusterError { node, source })?;
    }
    Ok(gpus)
}

fn run(
    workload: &Workload,
    nodes: &[NodeSpec],
    config: &SimConfig,
    mut sched: Scheduler,
    hint_min_running: usize,
) -> Result<SimResult, ClusterError> {
    let cluster_gpus = add_nodes(&mut sched, nodes.iter().cloned())?;
    let jobs = &workload.jobs;
    let shape_gpus: Vec<u32> = (0..workload.shapes.len())
        .map(|s| workload.shape_gpus(s) as u32)
        .collect();
    // A job's slot is written when it arrives: one pass over the array, overlapped with the simulation,
    // rather than a pass of its own before it.
    let mut slots: Vec<Slot> = crate::memory::huge_vec(jobs.len());
    let mut completions = Completions::default();
    let mut done: Vec<(u32, u32)> = Vec::new();
    let mut next = 0usize;
    let mut events = 0u64;
    let mut gpu_busy_ms = 0u128;
    let mut allocated = 0u64;
    let mut running = 0u32;
    let mut series = Vec::new();
    let mut last_sample: Option<Time> = None;
    let mut now = Time::ZERO;
    let checkpoint = config.scheduler.checkpoint;
    let mut seen_nodes: Vec<phalanx_core::NodeId> = Vec::new();
    // Per shape: the core's prepared description of the latest queue it was submitted to, and that queue.
    let mut templates: Vec<Option<(Result<Prepared, RejectReason>, u32)>> = vec![None; workload.shapes.len()];
    loop {
        let t_arrival = jobs.get(next).map(|j| j.submit);
        let t_done = completions.next_time().map(Time);
        now = match (t_arrival, t_done) {
            (None, None) => break,
            (Some(a), None) => a,
            (None, Some(d)) => d,
            (Some(a), Some(d)) => a.min(d),
        };
        if t_done == Some(now) {
            completions.pop_earliest(&mut done);
        } else {
            done.clear();
        }
        // Cache hints, while enough jobs run for their records to have left the cache.
        let hinting = completions.len() >= hint_min_running;
        for &(job, generation) in &done {
            // Have the records of the job finishing a few events from now brought into the cache meanwhile.
            if hinting {
                completions.look_ahead(HINT_STAGES, |(_, upcoming, _)| {
                    sched.expect_finish(JobId(u64::from(upcoming)));
                    phalanx_core::hint::prefetch(&slots[upcoming as usize]);
                });
            }
            let Slot { record: r, live: l } = &mut slots[job as usize];
            if l.generation != generation {
                continue;
            }
            events += 1;
            sched
                .handle_job_finished(now, JobId(u64::from(job)))
                .expect("the engine finishes only running jobs");
            gpu_busy_ms += u128::from(r.gpus) * u128::from(now.since(l.since).0);
            r.end = Some(now);
            r.outcome = Outcome::Finished;
            allocated -= u64::from(r.gpus);
            running -= 1;
        }
        while let Some(j) = jobs.get(next).filter(|j| j.submit == now) {
            events += 1;
            // Each (shape, queue) is checked and interned once; a job of a shape that can never run is
            // submitted in full, to be rejected with the reason.
            let prepared = match &mut templates[j.shape as usize] {
                Some((p, queue)) if *queue == j.queue => p,
                slot => &mut slot.insert((sched.prepare(&workload.spec(next)), j.queue)).0,
            };
            slots.push(Slot {
                record: JobRecord::waiting(j.submit, shape_gpus[j.shape as usize]),
                live: Live {
                    remaining: j.duration,
                    since: j.submit,
                    generation: 0,
                },
            });
            let id = JobId(next as u64);
            if hinting {
                sched.expect_submit(JobId(next as u64 + SUBMIT_AHEAD));
            }
            let submitted = match prepared {
                Ok(p) => sched.handle_submit_prepared(now, id, p, j.priority, j.estimate),
                Err(_) => sched.handle_submit(now, workload.spec(next)),
            };
            submitted.expect("workload indices are unique job ids");
            next += 1;
        }
        while let Some(d) = sched.poll_decision() {
            events += 1;
            match d {
                Decision::Start { job, tasks } => {
                    let i = job.0 as usize;
                    let Slot { record: r, live: l } = &mut slots[i];
                    r.queue = Span(r.queue.0 + now.since(l.since).0);
                    r.start.get_or_insert(now);
                    r.nodes = if tasks.len() == 1 {
                        1
                    } else {
                        seen_nodes.clear();
                        seen_nodes.extend(tasks.iter().map(|t| t.node));
                        seen_nodes.sort_unstable();
                        seen_nodes.dedup();
                        seen_nodes.len() as u32
                    };
                    l.since = now;
                    l.generation += 1;
                    completions.push((now + l.remaining).as_millis(), i as u32, l.generation);
                    allocated += u64::from(r.gpus);
                    running += 1;
                }
                Decision::Stop { job, reason, requeued } => {
                    let Slot { record: r, live: l } = &mut slots[job.0 as usize];
                    let ran = now.since(l.since);
                    gpu_busy_ms += u128::from(r.gpus) * u128::from(ran.0);
                    l.remaining = Span(l.remaining.0.saturating_sub(ran.0) + checkpoint.cost(u64::from(r.gpus)).0);
                    l.since = now;
                    l.generation += 1;
                    allocated -= u64::from(r.gpus);
                    running -= 1;
                    debug_assert!(requeued && reason != StopReason::Cancelled, "the engine never cancels");
                    r.preemptions += 1;
                }
                Decision::Reject { job, reason } => {
                    slots[job.0 as usize].record.outcome = Outcome::Rejected(reason);
                }
            }
        }
        if let Some(every) = config.sample_every {
            let sample = Sample {
                time: now,
                gpus_allocated: allocated,
                running,
                queued: sched.pending_len() as u32,
            };
            // One sample per interval, plus the latest state within it, so that the state before a quiet
            // stretch is never lost.
            if last_sample.is_none_or(|t| now.since(t) >= every) {
                series.push(sample);
                last_sample = Some(now);
            } else if series.last().is_some_and(|s| Some(s.time) != last_sample) {
                *series.last_mut().expect("checked") = sample;
            } else {
                series.push(sample);
            }
        }
    }
    Ok(SimResult {
        jobs: slots.into_iter().map(|s| s.record).collect(),
        series,
        cluster_gpus,
        events,
        gpu_busy_ms,
        end: now,
    })
}

#[cfg(test)]
mod tests {
    use phalanx_core::builders::NodeBuilder;
    use phalanx_core::{HeadOfLine, Placement, QueueOrder};

    use super::*;
    use crate::trace::synthetic::{generate, SizeMix, SyntheticConfig};

    /// Cache hints change nothing but speed: the same run with the engine's hints (finishes and submissions)
    /// always on and always off gives the same result, under a queue order that preempts (stale completions in
    /// the look-ahead) too.
    #[test]
    fn hints_change_nothing() {
        let workload = generate(&SyntheticConfig {
            seed: 7,
            jobs: 3_000,
            jobs_per_hour: 400.0,
            sizes: SizeMix::Gavel,
            gpus_per_node: 8,
            estimates: crate::trace::Estimates::Oracle,
        })
        .expect("valid generator settings");
        let nodes: Vec<_> = (0..40)
            .map(|i| NodeBuilder::new(format!("n{i}")).gpus(8, "nvidia/V100").build())
            .collect();
        for queue in [QueueOrder::Fifo, QueueOrder::ShortestRemaining] {
            let config = SimConfig {
                scheduler: Config {
                    queue,
                    placement: Placement::BestFit,
                    head_of_line: HeadOfLine::Block,
                    checkpoint: phalanx_core::CheckpointCost::HELIOS,
                },
                sample_every: None,
            };
            let with = run(&workload, &nodes, &config, Scheduler::new(config.scheduler), 0).unwrap();
            let without = run(&workload, &nodes, &config, Scheduler::new(config.scheduler), usize::MAX).unwrap();
            assert!(with.jobs.iter().filter(|j| j.end.is_some()).count() > 2_000);
            if queue == QueueOrder::ShortestRemaining {
                assert!(with.jobs.iter().map(|j| j.preemptions).sum::<u32>() > 100);
            }
            assert_eq!(with, without, "{queue:?}");
        }
    }
}
