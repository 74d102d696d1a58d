//! A step-by-step driver: the caller, not a queue policy, decides which arrived job to start next.
//!
//! This is the driver behind reinforcement-learning environments (the Python package's
//! `phalanx.gym.SchedulingEnv`). Arrived jobs wait in the session, in arrival order, until the caller
//! offers one to the core with [`Session::try_start`]: the core places it now if it fits (with the
//! configured placement policy), answers that it can never run on this cluster, or finds no room, in
//! which case the session withdraws it and it keeps waiting. [`Session::advance`] jumps to the next event
//! (completions first, then arrivals), exactly as the [`engine`](crate::engine) does.
//!
//! Like the engine, a session is deterministic: the same calls give the same results. There is no
//! preemption: the caller only ever starts jobs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use phalanx_core::{Config, Decision, HeadOfLine, JobId, NodeSpec, Placement, QueueOrder, Scheduler, Time};

use crate::engine::{ClusterError, JobRecord, Outcome, SimResult};
use crate::workload::Workload;

/// What happened to a job the caller offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// It started now.
    Started,
    /// No room now: it keeps waiting.
    NoRoom,
    /// It can never run on this cluster: it left the queue, rejected.
    Rejected,
}

/// A workload replayed on a cluster, one caller's decision at a time.
pub struct Session {
    workload: Workload,
    sched: Scheduler,
    records: Vec<JobRecord>,
    /// (completion time, job) of the running jobs: a job runs for its duration, without preemption.
    completions: BinaryHeap<Reverse<(Time, u32)>>,
    next: usize,
    waiting: Vec<usize>,
    now: Time,
    cluster_gpus: u64,
    allocated: u64,
    running: u32,
    events: u64,
    gpu_busy_ms: u128,
}

impl Session {
    /// A session at time 0 with no job arrived yet; call [`advance`](Self::advance) to the first arrival.
    pub fn new(workload: Workload, nodes: &[NodeSpec], placement: Placement) -> Result<Session, ClusterError> {
        let config = Config {
            queue: QueueOrder::Fifo,
            placement,
            head_of_line: HeadOfLine::Block,
            checkpoint: Default::default(),
        };
        let mut sched = Scheduler::new(config);
        let cluster_gpus = crate::engine::add_nodes(&mut sched, nodes.iter().cloned())?;
        let records = (0..workload.jobs.len()).map(|i| JobRecord::new(&workload, i)).collect();
        Ok(Session {
            workload,
            sched,
            records,
            completions: BinaryHeap::new(),
            next: 0,
            waiting: Vec::new(),
            now: Time::ZERO,
            cluster_gpus,
            allocated: 0,
            running: 0,
            events: 0,
            gpu_busy_ms: 0,
        })
    }

    /// The current time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The workload being replayed.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// The core scheduler (for its read-only cluster view).
    pub fn scheduler(&self) -> &Scheduler {
        &self.sched
    }

    /// Workload indices of the arrived jobs waiting to be offered, in arrival order.
    pub fn waiting(&self) -> &[usize] {
        &self.waiting
    }

    /// GPU devices held by running jobs.
    pub fn allocated_gpus(&self) -> u64 {
        self.allocated
    }

    /// GPU devices of the cluster.
    pub fn cluster_gpus(&self) -> u64 {
        self.cluster_gpus
    }

    /// Jobs running now.
    pub fn running(&self) -> u32 {
        self.running
    }

    /// The time of the next completion or arrival, if any.
    pub fn next_event(&self) -> Option<Time> {
        let arrival = self.workload.jobs.get(self.next).map(|j| j.submit);
        let done = self.completions.peek().map(|Reverse((t, _))| *t);
        match (arrival, done) {
            (Some(a), Some(d)) => Some(a.min(d)),
            (a, d) => a.or(d),
        }
    }

    /// Whether every job has ended: nothing waits, runs or is still to arrive.
    pub fn is_done(&self) -> bool {
        self.waiting.is_empty() && self.running == 0 && self.next >= self.workload.jobs.len()
    }

    /// Offers the `k`-th waiting job (an index into [`waiting`](Self::waiting)) to the core.
    ///
    /// # Panics
    /// If `k` is not an index into [`waiting`](Self::waiting).
    pub fn try_start(&mut self, k: usize) -> Offer {
        let i = self.waiting[k];
        self.sched
            .handle_submit(self.now, self.workload.spec(i))
            .expect("only waiting jobs, which the core does not hold, are offered");
        let mut offer = Offer::NoRoom;
        while let Some(d) = self.sched.poll_decision() {
            self.events += 1;
            match d {
                Decision::Start { job, tasks } => {
                    debug_assert_eq!(job.0 as usize, i);
                    let mut nodes: Vec<_> = tasks.iter().map(|t| t.node).collect();
                    nodes.sort_unstable();
                    nodes.dedup();
                    let r = &mut self.records[i];
                    r.start = Some(self.now);
                    r.queue = self.now.since(r.submit);
                    r.nodes = nodes.len() as u32;
                    self.completions
                        .push(Reverse((self.now + self.workload.jobs[i].duration, i as u32)));
                    self.allocated += u64::from(r.gpus);
                    self.running += 1;
                    offer = Offer::Started;
                }
                Decision::Reject { job, reason } => {
                    debug_assert_eq!(job.0 as usize, i);
                    self.records[i].outcome = Outcome::Rejected(reason);
                    offer = Offer::Rejected;
                }
                Decision::Stop { .. } => unreachable!("a session never preempts and never loses nodes"),
            }
        }
        match offer {
            Offer::NoRoom => self
                .sched
                .handle_cancel(self.now, JobId(i as u64))
                .expect("a job with no room is pending in the core"),
            Offer::Started | Offer::Rejected => {
                self.waiting.remove(k);
            }
        }
        offer
    }

    /// Jumps to the next event: ends the jobs that complete then, and queues the jobs that arrive then.
    /// Returns `false` (and changes nothing) when no event is left.
    pub fn advance(&mut self) -> bool {
        let Some(now) = self.next_event() else {
            return false;
        };
        self.now = now;
        while let Some(&Reverse((t, i))) = self.completions.peek() {
            if t != now {
                break;
            }
            self.completions.pop();
            self.events += 1;
            let i = i as usize;
            self.sched
                .handle_job_finished(now, JobId(i as u64))
                .expect("the session finishes only running jobs");
            let r = &mut self.records[i];
            let start = r.start.expect("a running job has started");
            self.gpu_busy_ms += u128::from(r.gpus) * u128::from(now.since(start).0);
            r.end = Some(now);
            r.outcome = Outcome::Finished;
            self.allocated -= u64::from(r.gpus);
            self.running -= 1;
        }
        while self.workload.jobs.get(self.next).is_some_and(|j| j.submit == now) {
            self.events += 1;
            self.waiting.push(self.next);
            self.next += 1;
        }
        true
    }

    /// What has happened so far, as the engine reports a run (no time series). Jobs still waiting or
    /// running are `Unfinished`.
    pub fn result(&self) -> SimResult {
        SimResult {
            jobs: self.records.clone(),
            series: Vec::new(),
            cluster_gpus: self.cluster_gpus,
            events: self.events,
            gpu_busy_ms: self.gpu_busy_ms,
            end: self.now,
        }
    }
}

#[cfg(test)]
mod tests {
    use phalanx_core::builders::NodeBuilder;
    use phalanx_core::{Span, TaskGroup, TaskRequest, Topology, WHOLE_GPU};

    use super::*;
    use crate::workload::TraceJob;

    fn workload(jobs: &[(u64, u64, u32)]) -> Workload {
        let mut w = Workload::new("t", "");
        let q = w.queue_index("default");
        for &(submit, duration, gpus) in jobs {
            let shape = w.shape_index(vec![TaskGroup {
                name: "main".into(),
                count: 1,
                request: TaskRequest {
                    gpus,
                    gpu_milli: WHOLE_GPU,
                    ..TaskRequest::default()
                },
                elastic: None,
                topology: Topology::Any,
            }]);
            w.jobs.push(TraceJob {
                submit: Time::from_secs(submit),
                duration: Span::from_secs(duration),
                queue: q,
                priority: 0,
                estimate: None,
                shape,
                line: 0,
            });
        }
        w
    }

    #[test]
    fn the_caller_orders_the_queue() {
        // One 4-GPU node; three jobs arrive at 0: 4 GPUs for 100 s, 2 for 10 s, 2 for 10 s.
        let w = workload(&[(0, 100, 4), (0, 10, 2), (0, 10, 2), (0, 1, 16)]);
        let nodes = [NodeBuilder::new("a").gpus(4, "nvidia/V100").build()];
        let mut s = Session::new(w, &nodes, Placement::BestFit).unwrap();
        assert!(s.waiting().is_empty());
        assert!(s.advance());
        assert_eq!(s.waiting(), &[0, 1, 2, 3]);
        assert_eq!(s.try_start(3), Offer::Rejected);
        // Shortest first: the two small jobs, then the big one.
        assert_eq!(s.try_start(1), Offer::Started);
        assert_eq!(s.try_start(0), Offer::NoRoom);
        assert_eq!(s.try_start(1), Offer::Started);
        assert_eq!(s.waiting(), &[0]);
        assert_eq!(s.next_event(), Some(Time::from_secs(10)));
        assert!(s.advance());
        assert_eq!(s.try_start(0), Offer::Started);
        assert!(s.advance());
        assert!(s.is_done());
        assert!(!s.advance());
        let r = s.result();
        let ends: Vec<_> = r.jobs.iter().map(|j| j.end.map(|t| t.as_secs())).collect();
        assert_eq!(ends, [Some(110), Some(10), Some(10), None]);
        assert_eq!(r.jobs[0].queue, Span::from_secs(10));
        assert!(matches!(r.jobs[3].outcome, Outcome::Rejected(_)));
        assert_eq!(r.gpu_busy_ms, 4 * 100_000 + 2 * 2 * 10_000);
    }
}
