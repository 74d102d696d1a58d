//! The scheduler state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::cluster::{Cluster, Demand, NodeError, NodeTask};
use crate::decision::{Decision, Placements, RejectReason, StopReason, TaskPlacement};
use crate::jobs::JobTable;
use crate::model::{GpuModel, ModelSet};
use crate::policy::{most_room, OrderKey, Placement, PlacementPolicy, Plan, QueueOrder, QueuePolicy};
use crate::spec::{GpuHealth, JobId, JobSpec, NodeId, NodeSpec, NodeState, WHOLE_GPU};
use crate::time::{Span, Time};
use crate::view::{ClusterView, JobView};

/// What happens when the job at the head of the queue does not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadOfLine {
    /// Nothing behind it starts until it does (strict order; no starvation of large gangs).
    #[default]
    Block,
    /// Later jobs that fit start ahead of it.
    SkipAhead,
}

/// Extra work a job must redo after being stopped and requeued (checkpoint and restart), by its size.
///
/// A job of 1 GPU pays `single_gpu`; of up to `node_gpus` GPUs, `single_node`; larger, `multi_node`.
/// CPU-only jobs pay `single_gpu`. All zero by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointCost {
    /// Overhead of a 1-GPU (or CPU-only) job.
    pub single_gpu: Span,
    /// Overhead of a job of 2 to `node_gpus` GPUs.
    pub single_node: Span,
    /// Overhead of a larger job.
    pub multi_node: Span,
    /// GPUs of one node, the boundary between `single_node` and `multi_node`.
    pub node_gpus: u32,
}

impl CheckpointCost {
    /// The Helios simulator's costs: 7 s for 1 GPU, 30 s up to 8 GPUs, 60 s beyond.
    pub const HELIOS: CheckpointCost = CheckpointCost {
        single_gpu: Span::from_secs(7),
        single_node: Span::from_secs(30),
        multi_node: Span::from_secs(60),
        node_gpus: 8,
    };

    /// The overhead of a job of `gpus` GPUs.
    pub fn cost(&self, gpus: u64) -> Span {
        if gpus <= 1 {
            self.single_gpu
        } else if gpus <= u64::from(self.node_gpus) {
            self.single_node
        } else {
            self.multi_node
        }
    }
}

/// The scheduler's configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Queue order of the built-in policies (ignored by [`Scheduler::with_policies`]).
    pub queue: QueueOrder,
    /// Built-in placement policy (ignored by [`Scheduler::with_policies`]).
    pub placement: Placement,
    /// Head-of-line behaviour (non-preemptive queue orders).
    pub head_of_line: HeadOfLine,
    /// Overhead charged to a job's remaining time when it is stopped and requeued.
    pub checkpoint: CheckpointCost,
}

/// Counters of what has happened to jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Jobs accepted by `handle_submit` (rejected ones included).
    pub submitted: u64,
    /// Start decisions (a requeued job that starts again counts again).
    pub started: u64,
    /// Jobs that ended finished.
    pub finished: u64,
    /// Jobs that ended cancelled.
    pub cancelled: u64,
    /// Jobs that ended rejected.
    pub rejected: u64,
    /// Times a running job was stopped and put back in the queue.
    pub requeued: u64,
    /// Times the placement policy picked a node without room (the job then waits).
    pub policy_errors: u64,
}

/// Where a job the scheduler knows stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting in the queue.
    Pending,
    /// Running.
    Running,
}

/// Misuse of the job API by the driver (the scheduler's state is unchanged).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A job with this id is already pending or running.
    #[error("{0} is already pending or running")]
    Duplicate(JobId),
    /// No pending or running job has this id.
    #[error("{0} is not pending or running")]
    Unknown(JobId),
    /// The job is not running.
    #[error("{0} is not running")]
    NotRunning(JobId),
    /// The job's prepared description does not fit the cluster as it is now: it names GPU models and was
    /// prepared before nodes of a new model were added (it cannot tell whether it asks for that model), or
    /// another scheduler prepared it. Prepare the description again.
    #[error(
        "{0}: its prepared description predates a GPU model added since, or is another scheduler's; prepare it again"
    )]
    StalePrepared(JobId),
    /// The job has no such running task.
    #[error("{job} has no running task {group}.{index}")]
    NoSuchTask {
        /// The job.
        job: JobId,
        /// The group.
        group: u32,
        /// The task index in the group.
        index: u32,
    },
}

#[derive(Debug)]
enum State {
    /// Waiting, submitted since the last scheduling pass and not yet in the pending set: a job that can
    /// start at once never passes through the ordered set.
    Fresh,
    /// Waiting, in the pending set.
    Pending,
    /// Running, with its tasks' placements.
    Running(Placements),
}

#[derive(Debug)]
struct Job {
    queue: u32,
    priority: i32,
    submitted: Time,
    /// The estimate in milliseconds ([`NO_ESTIMATE`]: none).
    estimate: u64,
    /// Index into the scheduler's interned task-group lists.
    shape: u32,
    /// Position in the pending set: (key, submission sequence).
    slot: (OrderKey, u64),
    state: State,
    /// When the current run started (meaningful while running).
    started: Time,
    /// What earlier runs did; `None` until the job is first stopped (most jobs never are).
    progress: Option<Box<Progress>>,
    /// Running tasks (while running).
    live: u32,
}

/// `Job::estimate` of a job without one.
const NO_ESTIMATE: u64 = u64::MAX;

impl Job {
    fn estimate(&self) -> Option<Span> {
        (self.estimate != NO_ESTIMATE).then_some(Span(self.estimate))
    }
}

/// A job description checked and interned by [`Scheduler::prepare`]: its task groups and queue, by index
/// in the scheduler that prepared it (meaningless to another).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The number of the scheduler that prepared it.
    owner: u64,
    shape: u32,
    queue: u32,
    /// GPU models the cluster knew when it was prepared.
    models: u32,
}

/// Numbers schedulers, so that a prepared description is used only by the one that prepared it (an identity,
/// never an input to a decision).
static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A stopped job's past.
#[derive(Debug, Default)]
struct Progress {
    /// Running time over previous runs.
    service: Span,
    /// Checkpoint overhead accumulated by stops.
    overhead: Span,
    /// When it was last stopped and requeued.
    stopped_at: Time,
}

/// The scheduler: a sans-IO state machine. Inputs are `handle_*` calls carrying `now`; outputs are
/// [`Decision`]s drained with [`Scheduler::poll_decision`].
///
/// # Driving it
///
/// A driver (simulator, live controller, test) repeats: feed every event it has with `handle_*`, then call
/// `poll_decision` until it returns `None`, carrying out each decision (start the tasks, kill them, tell
/// the user about a rejection). Decisions are computed lazily in `poll_decision`, so a burst of events is
/// answered by one scheduling pass.
///
/// # Guarantees
///
/// - Determinism: the same sequence of calls gives the same decisions, byte for byte. Nothing iterates a
///   hash map; ties are broken by submission order and node id.
/// - Nothing is lost: every accepted job ends in exactly one of finished ([`Scheduler::handle_job_finished`]
///   or its last task finishing), cancelled ([`Scheduler::handle_cancel`]) or rejected
///   ([`Decision::Reject`]). Jobs on a lost node or GPU are stopped and requeued, not dropped.
/// - Gangs: a job's tasks start together in one [`Decision::Start`] or not at all.
/// - Nothing is over-allocated: no node's CPU, memory or GPU device is ever given out beyond its capacity.
///
/// # Preemptive queue orders
///
/// With a preemptive [`QueuePolicy`] (e.g. [`crate::ShortestRemaining`]) each pass orders every pending
/// *and* running job by its current key (running before pending on equal keys, then submission order),
/// and walks that order with a quota of the cluster's usable GPUs: a job whose GPUs fit in what is left
/// of the quota is admitted (a waiting one is started if placement finds room; otherwise it waits, its
/// quota still taken), and a running job that does not fit is stopped ([`StopReason::Preempted`]) and
/// requeued with [`Config::checkpoint`] added to its remaining time; it may start again at the next event.
/// Passes run on events only: between
/// events running jobs' remaining times shrink, which can only move them ahead of waiting jobs, and that
/// changes no admission.
pub struct Scheduler {
    config: Config,
    queue_policy: Box<dyn QueuePolicy>,
    placement: Box<dyn PlacementPolicy>,
    cluster: Cluster,
    jobs: JobTable<Job>,
    pending: BTreeSet<(OrderKey, u64, JobId)>,
    /// Jobs submitted since the last pass: all a skip-ahead pass must try when no capacity was freed.
    fresh: Vec<JobId>,
    /// Waiting jobs not in `pending` (state [`State::Fresh`]; all listed in `fresh`).
    unqueued: usize,
    /// Reused buffer: the fresh jobs of a pass in queue order.
    fresh_order: Vec<((OrderKey, u64), JobId)>,
    /// Capacity was freed (or the order changed) since the last pass: every pending job may now fit.
    full_pass: bool,
    decisions: VecDeque<Decision>,
    queues: Vec<Box<str>>,
    queue_ids: BTreeMap<Box<str>, u32>,
    next_seq: u64,
    stats: Stats,
    scratch: Vec<TaskPlacement>,
    /// Interned task-group lists of jobs, shared by identical jobs.
    shapes: Vec<Box<[(u32, Demand)]>>,
    shape_ids: BTreeMap<Box<[(u32, Demand)]>, u32>,
    /// By shape: whether it passed the "can this ever run here" checks since the last node removal.
    admitted: Vec<bool>,
    /// Reused buffer for a submitted job's interned demands.
    groups_scratch: Vec<(u32, Demand)>,
    /// The latest `now` seen.
    now: Time,
    /// This scheduler's number among those created in the process (see [`Prepared`]).
    instance: u64,
    /// Jobs named by [`Scheduler::expect_finish`], newest first (entry `i` is at stage `i` of being brought
    /// into the cache), each with its slot in the job table once looked up (`u32::MAX` before).
    hints: [Option<(JobId, u32)>; HINT_STAGES],
}

/// Calls of [`Scheduler::expect_finish`] it takes to bring all of a job's records into the cache: one per
/// level of the chain job id → index bucket → job record → placements → nodes → node task and device lists.
pub const HINT_STAGES: usize = 5;

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("queue", &self.queue_policy.name())
            .field("placement", &self.placement.name())
            .field("nodes", &self.cluster.present())
            .field("jobs", &self.jobs.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler with the built-in policies named in `config`.
    pub fn new(config: Config) -> Scheduler {
        Scheduler::with_policies(config, config.queue.build(), config.placement.build())
    }

    /// A scheduler with custom policies.
    pub fn with_policies(
        config: Config,
        queue_policy: Box<dyn QueuePolicy>,
        placement: Box<dyn PlacementPolicy>,
    ) -> Scheduler {
        Scheduler {
            config,
            queue_policy,
            placement,
            cluster: Cluster::default(),
            jobs: JobTable::default(),
            pending: BTreeSet::new(),
            fresh: Vec::new(),
            unqueued: 0,
            fresh_order: Vec::new(),
            full_pass: false,
            decisions: VecDeque::new(),
            queues: Vec::new(),
            queue_ids: BTreeMap::new(),
            next_seq: 0,
            stats: Stats::default(),
            scratch: Vec::new(),
            shapes: Vec::new(),
            shape_ids: BTreeMap::new(),
            admitted: Vec::new(),
            groups_scratch: Vec::new(),
            now: Time::ZERO,
            instance: INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            hints: [None; HINT_STAGES],
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A read-only view of the cluster.
    pub fn view(&self) -> ClusterView<'_> {
        ClusterView { cluster: &self.cluster }
    }

    /// Job counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether a job is pending or running (`None`: never seen, or ended).
    pub fn job_status(&self, job: JobId) -> Option<JobStatus> {
        self.jobs.get(&job).map(|j| match j.state {
            State::Fresh | State::Pending => JobStatus::Pending,
            State::Running(_) => JobStatus::Running,
        })
    }

    /// Where a running job's tasks are.
    pub fn placements(&self, job: JobId) -> Option<&[TaskPlacement]> {
        match &self.jobs.get(&job)?.state {
            State::Running(tasks) => Some(tasks),
            State::Fresh | State::Pending => None,
        }
    }

    /// Jobs waiting, in queue order.
    pub fn pending(&self) -> impl Iterator<Item = JobId> + '_ {
        let mut all: Vec<(OrderKey, u64, JobId)> = self.pending.iter().copied().collect();
        all.extend(self.fresh_waiting().map(|id| {
            let slot = self.jobs[&id].slot;
            (slot.0, slot.1, id)
        }));
        all.sort_unstable();
        all.dedup();
        all.into_iter().map(|(_, _, id)| id)
    }

    /// Waiting jobs not yet in the pending set (possibly repeated).
    fn fresh_waiting(&self) -> impl Iterator<Item = JobId> + '_ {
        self.fresh
            .iter()
            .copied()
            .filter(|id| self.jobs.get(id).is_some_and(|j| matches!(j.state, State::Fresh)))
    }

    /// Number of jobs waiting.
    pub fn pending_len(&self) -> usize {
        self.pending.len() + self.unqueued
    }

    /// Number of jobs running.
    pub fn running_len(&self) -> usize {
        self.jobs.len() - self.pending_len()
    }

    // ----- inputs: nodes -------------------------------------------------------------------------

    /// A node joins the cluster.
    pub fn handle_node_added(&mut self, now: Time, spec: NodeSpec) -> Result<NodeId, NodeError> {
        self.tick(now);
        let id = self.cluster.add_node(spec)?;
        self.full_pass = true;
        Ok(id)
    }

    /// A node becomes schedulable, cordoned or down. Going down stops and requeues its jobs.
    pub fn handle_node_state(&mut self, now: Time, node: NodeId, state: NodeState) -> Result<(), NodeError> {
        self.tick(now);
        let old = self.cluster.set_state(node, state)?;
        if state == NodeState::Down && old != NodeState::Down {
            self.evict(node, None, StopReason::NodeLost(node));
        }
        if state == NodeState::Schedulable {
            self.full_pass = true;
        }
        Ok(())
    }

    /// A node's labels change.
    pub fn handle_node_labels(
        &mut self,
        now: Time,
        node: NodeId,
        labels: BTreeMap<String, String>,
    ) -> Result<(), NodeError> {
        self.tick(now);
        self.cluster.set_labels(node, labels)
    }

    /// A node leaves the cluster: its jobs are stopped and requeued, and waiting jobs that can no longer
    /// ever run are rejected.
    pub fn handle_node_removed(&mut self, now: Time, node: NodeId) -> Result<(), NodeError> {
        self.tick(now);
        if self.cluster.node(node).is_none() {
            return Err(NodeError::UnknownNode(node));
        }
        self.evict(node, None, StopReason::NodeLost(node));
        self.cluster.remove_node(node)?;
        self.admitted.fill(false);
        self.revalidate_pending();
        Ok(())
    }

    /// A GPU's health changes. A failed GPU's jobs are stopped and requeued.
    pub fn handle_gpu_health(&mut self, now: Time, node: NodeId, gpu: u32, health: GpuHealth) -> Result<(), NodeError> {
        self.tick(now);
        let old = self.cluster.set_gpu_health(node, gpu, health)?;
        match health {
            GpuHealth::Unhealthy if old != health => self.evict(node, Some(gpu), StopReason::GpuFailed(node, gpu)),
            GpuHealth::Healthy if old != health => self.full_pass = true,
            _ => {}
        }
        Ok(())
    }

    // ----- inputs: jobs --------------------------------------------------------------------------

    /// A job is submitted. A job that can never run on this cluster is answered by a
    /// [`Decision::Reject`]; `Err` only for a duplicate id.
    pub fn handle_submit(&mut self, now: Time, spec: JobSpec) -> Result<(), JobError> {
        self.tick(now);
        if self.jobs.contains_key(&spec.id) {
            return Err(JobError::Duplicate(spec.id));
        }
        self.stats.submitted += 1;
        match self.prepare(&spec) {
            Ok(p) => self.enqueue(now, spec.id, &p, spec.priority, spec.estimate),
            Err(reason) => self.reject_new(spec.id, reason),
        }
        Ok(())
    }

    /// Checks and interns a job description once, for [`handle_submit_prepared`](Self::handle_submit_prepared)
    /// of many jobs like it (a driver replaying a trace submits millions of jobs of a few shapes). Its id,
    /// priority and estimate are not kept. `Err` says why such a job can never run on this cluster; submit
    /// such jobs with [`handle_submit`](Self::handle_submit), which rejects each with that reason.
    pub fn prepare(&mut self, spec: &JobSpec) -> Result<Prepared, RejectReason> {
        let mut groups = std::mem::take(&mut self.groups_scratch);
        let admitted = self.admit(spec, &mut groups);
        let shape = admitted.map(|known| known.unwrap_or_else(|| self.intern_shape(&groups)));
        self.groups_scratch = groups;
        let shape = shape?;
        if self.admitted.len() <= shape as usize {
            self.admitted.resize(shape as usize + 1, false);
        }
        self.admitted[shape as usize] = true;
        Ok(Prepared {
            owner: self.instance,
            shape,
            queue: self.queue_id(&spec.queue),
            models: self.cluster.models.len() as u32,
        })
    }

    /// A job is submitted with the description `prepared` (from this scheduler's
    /// [`prepare`](Self::prepare)) and its own id, priority and estimate: the same as
    /// [`handle_submit`](Self::handle_submit) of that description, without checking and interning it again.
    /// If a node was removed since it was prepared, the job is checked again and may be rejected; if nodes of
    /// a new GPU model were added since, a description that names models is stale
    /// ([`JobError::StalePrepared`]: the model names were resolved when it was prepared).
    pub fn handle_submit_prepared(
        &mut self,
        now: Time,
        id: JobId,
        prepared: &Prepared,
        priority: i32,
        estimate: Option<Span>,
    ) -> Result<(), JobError> {
        self.tick(now);
        if self.jobs.contains_key(&id) {
            return Err(JobError::Duplicate(id));
        }
        let shape = prepared.shape as usize;
        let stale = prepared.owner != self.instance
            || (prepared.models as usize != self.cluster.models.len()
                && self.shapes[shape].iter().any(|(_, d)| !d.models.is_any()));
        if stale {
            return Err(JobError::StalePrepared(id));
        }
        self.stats.submitted += 1;
        if !self.admitted[shape] {
            // A node was removed since: check again, as a waiting job is checked.
            if let Err(reason) = self.can_ever_run(shape) {
                self.reject_new(id, reason);
                return Ok(());
            }
            self.admitted[shape] = true;
        }
        self.enqueue(now, id, prepared, priority, estimate);
        Ok(())
    }

    fn reject_new(&mut self, id: JobId, reason: RejectReason) {
        self.stats.rejected += 1;
        self.decisions.push_back(Decision::Reject { job: id, reason });
    }

    /// Adds an admitted job to the waiting jobs (as fresh).
    fn enqueue(&mut self, now: Time, id: JobId, p: &Prepared, priority: i32, estimate: Option<Span>) {
        let key = self.queue_policy.key(&JobView {
            id,
            queue: &self.queues[p.queue as usize],
            priority,
            submitted: now,
            estimate,
            groups: &self.shapes[p.shape as usize],
            running: false,
            service: Span::default(),
            overhead: Span::default(),
        });
        let seq = self.next_seq;
        self.next_seq += 1;
        self.fresh.push(id);
        self.unqueued += 1;
        self.jobs.insert(
            id,
            Job {
                queue: p.queue,
                priority,
                submitted: now,
                // An estimate of u64::MAX ms (585 million years) reads as none.
                estimate: estimate.map_or(NO_ESTIMATE, |e| e.0),
                shape: p.shape,
                slot: (key, seq),
                state: State::Fresh,
                started: now,
                progress: None,
                live: 0,
            },
        );
    }

    /// A job is cancelled: a waiting job ends at once; a running one gets a [`Decision::Stop`].
    pub fn handle_cancel(&mut self, now: Time, job: JobId) -> Result<(), JobError> {
        self.tick(now);
        let j = self.jobs.remove(&job).ok_or(JobError::Unknown(job))?;
        match j.state {
            State::Fresh => self.unqueued -= 1,
            State::Pending => {
                self.pending.remove(&(j.slot.0, j.slot.1, job));
            }
            State::Running(tasks) => {
                self.release_all(job, &tasks);
                self.decisions.push_back(Decision::Stop {
                    job,
                    reason: StopReason::Cancelled,
                    requeued: false,
                });
            }
        }
        self.stats.cancelled += 1;
        Ok(())
    }

    /// One task of a running job exits; when its last task exits the job has finished.
    pub fn handle_task_finished(&mut self, now: Time, job: JobId, group: u32, index: u32) -> Result<(), JobError> {
        self.tick(now);
        let j = self.jobs.get_mut(&job).ok_or(JobError::Unknown(job))?;
        let State::Running(tasks) = &j.state else {
            return Err(JobError::NotRunning(job));
        };
        let no_task = JobError::NoSuchTask { job, group, index };
        let node = tasks
            .iter()
            .find(|t| t.group == group && t.index == index)
            .ok_or(no_task.clone())?
            .node;
        if !self.cluster.release(node, job, group, index) {
            return Err(no_task);
        }
        j.live -= 1;
        self.full_pass = true;
        if j.live == 0 {
            self.jobs.remove(&job);
            self.stats.finished += 1;
        }
        Ok(())
    }

    /// A cache hint, for drivers that know which jobs arrive next (a simulator does): a job `job` will be
    /// submitted soon. Loads the part of the job table its submission writes, so that submitting it does not
    /// wait on memory. It changes nothing but speed.
    pub fn expect_submit(&self, job: JobId) {
        self.jobs.prefetch_bucket(job);
    }

    /// A cache hint, for drivers that know which jobs finish next (a simulator does): `job` will probably
    /// be finished within the next few calls of this method. Each call takes every job named in the last
    /// [`HINT_STAGES`] calls one step further along the chain of records that finishing it reads (index,
    /// job, placements, nodes, their task and device lists), so that by the time the job finishes, its
    /// records are in the cache rather than each costing a wait on memory in turn. Name jobs in the order
    /// they will finish, [`HINT_STAGES`] finishes ahead. It changes nothing but speed: a job that is unknown,
    /// not running, or never finished is simply passed over.
    pub fn expect_finish(&mut self, job: JobId) {
        for i in (1..HINT_STAGES).rev() {
            self.hints[i] = self.hints[i - 1];
        }
        self.hints[0] = Some((job, u32::MAX));
        for stage in 0..HINT_STAGES {
            let Some((id, slot)) = self.hints[stage] else { continue };
            match stage {
                0 => self.jobs.prefetch_bucket(id),
                1 => self.hints[1] = self.jobs.prefetch_record(id).map(|slot| (id, slot)),
                _ => {
                    // The slot may hold another job by now: then its records are fetched for nothing.
                    let Some(State::Running(tasks)) = self.jobs.in_slot(slot).map(|j| &j.state) else {
                        continue;
                    };
                    match (stage, tasks.inline()) {
                        // Placements of one task sit in the record; more are a list of their own.
                        (2, None) => tasks.prefetch_list(),
                        (2, Some(t)) => self.cluster.prefetch_node(t.node),
                        (3, Some(t)) => self.cluster.prefetch_node_lists(t.node),
                        (3, None) => tasks.iter().take(4).for_each(|t| self.cluster.prefetch_node(t.node)),
                        (4, None) => tasks
                            .iter()
                            .take(4)
                            .for_each(|t| self.cluster.prefetch_node_lists(t.node)),
                        _ => {}
                    }
                }
            }
        }
    }

    /// A running job has finished (all its remaining tasks exit).
    pub fn handle_job_finished(&mut self, now: Time, job: JobId) -> Result<(), JobError> {
        self.tick(now);
        let found = self.jobs.find(&job).ok_or(JobError::Unknown(job))?;
        if !matches!(self.jobs.at(found).state, State::Running(_)) {
            return Err(JobError::NotRunning(job));
        }
        let j = self.jobs.remove_at(found);
        if let State::Running(tasks) = j.state {
            self.release_all(job, &tasks);
        }
        self.stats.finished += 1;
        Ok(())
    }

    // ----- outputs -------------------------------------------------------------------------------

    /// The next decision, running a scheduling pass first if anything changed since the last one.
    #[must_use]
    pub fn poll_decision(&mut self) -> Option<Decision> {
        if self.decisions.is_empty() && (self.full_pass || !self.fresh.is_empty()) {
            self.schedule();
        }
        self.decisions.pop_front()
    }

    // ----- internals -----------------------------------------------------------------------------

    fn tick(&mut self, now: Time) {
        self.now = self.now.max(now);
    }

    fn intern_shape(&mut self, groups: &[(u32, Demand)]) -> u32 {
        if let Some(&id) = self.shape_ids.get(groups) {
            return id;
        }
        let groups: Box<[(u32, Demand)]> = groups.into();
        let id = self.shapes.len() as u32;
        self.shapes.push(groups.clone());
        self.shape_ids.insert(groups, id);
        id
    }

    fn view_of<'a>(&'a self, id: JobId, j: &'a Job) -> JobView<'a> {
        job_view(&self.queues, &self.shapes, self.now, id, j)
    }

    fn queue_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.queue_ids.get(name) {
            return id;
        }
        let id = self.queues.len() as u32;
        self.queues.push(name.into());
        self.queue_ids.insert(name.into(), id);
        id
    }

    /// Validates a job and writes its demands, with models interned, to `groups`; says why it can never
    /// run, or gives the id of its shape when that is already known.
    fn admit(&self, spec: &JobSpec, groups: &mut Vec<(u32, Demand)>) -> Result<Option<u32>, RejectReason> {
        groups.clear();
        if spec.task_count() == 0 {
            return Err(RejectReason::Invalid {
                group: 0,
                problem: "the job has no tasks",
            });
        }
        for (gi, g) in spec.groups.iter().enumerate() {
            let gi = gi as u32;
            let r = &g.request;
            let invalid = |problem| Err(RejectReason::Invalid { group: gi, problem });
            if r.gpus > 0 && r.gpu_milli == 0 {
                return invalid("asks for GPUs with gpu_milli 0");
            }
            if r.gpus == 0 && r.gpu_milli > 0 {
                return invalid("gives gpu_milli without GPUs");
            }
            if r.gpu_milli > WHOLE_GPU {
                return invalid("gpu_milli is above 1000 (one whole GPU)");
            }
            if r.gpus > 1 && r.gpu_milli < WHOLE_GPU {
                return invalid("a shared GPU (gpu_milli below 1000) needs gpus = 1");
            }
            if let Some(e) = g.elastic {
                if e.min > g.count || g.count > e.max {
                    return invalid("elastic bounds must satisfy min <= count <= max");
                }
            }
            let models = if r.models.is_empty() {
                ModelSet::ANY
            } else {
                let mut set = ModelSet::EMPTY;
                for m in &r.models {
                    if let Some(id) = self.cluster.models.get(m) {
                        set.insert(id);
                    }
                }
                set
            };
            let d = Demand {
                cpu_milli: r.cpu_milli,
                memory_mib: r.memory_mib,
                gpus: r.gpus,
                gpu_milli: if r.gpus > 0 { r.gpu_milli } else { 0 },
                models,
            };
            groups.push((g.count, d));
        }
        // Capacity only shrinks when a node is removed (which clears the memo), so a shape that could run
        // once still can.
        let known = self.shape_ids.get(&groups[..]).copied();
        if known.is_some_and(|id| self.admitted.get(id as usize) == Some(&true)) {
            return Ok(known);
        }
        for (gi, ((count, d), g)) in groups.iter().zip(&spec.groups).enumerate() {
            if *count > 0 {
                self.cluster.check_task(gi as u32, d, || g.request.models.clone())?;
            }
        }
        self.cluster.check_gang(groups)?;
        Ok(known)
    }

    /// Puts the fresh jobs among `ids` that still wait into the pending set.
    fn queue_fresh<'a>(&mut self, ids: impl IntoIterator<Item = &'a JobId>) {
        for id in ids {
            if let Some(j) = self.jobs.get_mut(id) {
                if matches!(j.state, State::Fresh) {
                    j.state = State::Pending;
                    self.pending.insert((j.slot.0, j.slot.1, *id));
                    self.unqueued -= 1;
                }
            }
        }
    }

    /// Puts every fresh job into the pending set (keeping the list of fresh jobs for the next pass).
    fn queue_all_fresh(&mut self) {
        let fresh = std::mem::take(&mut self.fresh);
        self.queue_fresh(fresh.iter());
        self.fresh = fresh;
        debug_assert_eq!(self.unqueued, 0);
    }

    /// Rejects waiting jobs that the cluster, after losing a node, can no longer ever run.
    fn revalidate_pending(&mut self) {
        self.queue_all_fresh();
        let mut doomed = Vec::new();
        for &(_, _, id) in &self.pending {
            if let Err(reason) = self.can_ever_run(self.jobs[&id].shape as usize) {
                doomed.push((id, reason));
            }
        }
        for (id, reason) in doomed {
            let j = self.jobs.remove(&id).expect("pending jobs are known");
            self.pending.remove(&(j.slot.0, j.slot.1, id));
            self.stats.rejected += 1;
            self.decisions.push_back(Decision::Reject { job: id, reason });
        }
    }

    /// Whether jobs of an interned shape can ever run on the cluster as it is now (after a node left).
    fn can_ever_run(&self, shape: usize) -> Result<(), RejectReason> {
        let groups = &self.shapes[shape];
        groups.iter().enumerate().try_for_each(|(gi, (count, d))| {
            if *count == 0 {
                return Ok(());
            }
            self.cluster.check_task(gi as u32, d, || self.model_names(d.models))
        })?;
        self.cluster.check_gang(groups)
    }

    fn model_names(&self, set: ModelSet) -> Vec<GpuModel> {
        set.iter(self.cluster.models.len())
            .map(|m| self.cluster.models.name(m).clone())
            .collect()
    }

    fn release_all(&mut self, job: JobId, tasks: &[TaskPlacement]) {
        for t in tasks {
            self.cluster.release(t.node, job, t.group, t.index);
        }
        self.full_pass = true;
    }

    /// Stops and requeues every job with a task on `node` (on device `gpu` only, if given).
    fn evict(&mut self, node: NodeId, gpu: Option<u32>, reason: StopReason) {
        let Some(n) = self.cluster.node(node) else { return };
        let victims: BTreeSet<JobId> = n
            .tasks
            .iter()
            .filter(|t| gpu.is_none_or(|g| t.gpus.contains(g)))
            .map(|t| t.job)
            .collect();
        for job in victims {
            self.requeue(job, reason);
        }
    }

    /// Stops a running job and puts it back in the queue, charging the checkpoint overhead.
    fn requeue(&mut self, job: JobId, reason: StopReason) {
        let now = self.now;
        let j = self.jobs.get_mut(&job).expect("running jobs are known");
        let tasks = match std::mem::replace(&mut j.state, State::Pending) {
            State::Running(tasks) => tasks,
            waiting => {
                j.state = waiting;
                return;
            }
        };
        let gpus: u64 = self.shapes[j.shape as usize]
            .iter()
            .map(|(n, d)| u64::from(*n) * u64::from(d.gpus))
            .sum();
        let p = j.progress.get_or_insert_default();
        p.service = Span(p.service.0 + now.since(j.started).0);
        p.stopped_at = now;
        p.overhead = Span(p.overhead.0 + self.config.checkpoint.cost(gpus).0);
        let slot = j.slot;
        self.release_all(job, &tasks);
        self.pending.insert((slot.0, slot.1, job));
        self.stats.requeued += 1;
        self.decisions.push_back(Decision::Stop {
            job,
            reason,
            requeued: true,
        });
    }

    /// The pass of a preemptive queue order (see the type's docs).
    fn preemptive_pass(&mut self) {
        // Running jobs sort before waiting ones with an equal key: a job is preempted only by jobs strictly
        // ahead of it, so equal keys cannot take turns preempting each other.
        let mut order: Vec<(OrderKey, bool, u64, JobId, u64)> = self
            .jobs
            .iter()
            .map(|(id, j)| {
                let view = self.view_of(id, j);
                (self.queue_policy.key(&view), !view.running, j.slot.1, id, view.gpus())
            })
            .collect();
        order.sort_unstable();
        let mut quota = self.cluster.usable_gpus();
        let mut to_start = Vec::new();
        for (_, waiting, _, id, gpus) in order {
            if gpus <= quota {
                quota -= gpus;
                // A job stopped at this instant waits for the next event, whatever a custom key says now:
                // no job can be stopped and restarted over and over within one instant.
                let stopped_now = self.jobs[&id]
                    .progress
                    .as_ref()
                    .is_some_and(|p| p.stopped_at == self.now);
                if waiting && !stopped_now {
                    to_start.push(id);
                }
            } else if !waiting {
                self.requeue(id, StopReason::Preempted);
            }
        }
        for id in to_start {
            self.try_start(id);
        }
    }

    fn schedule(&mut self) {
        let mut fresh = std::mem::take(&mut self.fresh);
        self.pass(&mut fresh);
        // Keep the list's allocation for the next jobs (nothing is submitted during a pass).
        fresh.clear();
        self.fresh = fresh;
    }

    fn pass(&mut self, fresh: &mut Vec<JobId>) {
        let full = std::mem::take(&mut self.full_pass);
        if self.queue_policy.preemptive() {
            self.queue_fresh(fresh.iter());
            self.preemptive_pass();
            return;
        }
        match self.config.head_of_line {
            HeadOfLine::Block => {
                // The queue is the pending set merged with the fresh jobs (in the same (key, sequence)
                // order); fresh jobs that start now never enter the set.
                let mut queue = std::mem::take(&mut self.fresh_order);
                queue.clear();
                queue.extend(fresh.iter().filter_map(|id| {
                    let j = self.jobs.get(id)?;
                    matches!(j.state, State::Fresh).then_some((j.slot, *id))
                }));
                queue.sort_unstable();
                queue.dedup();
                let mut next_fresh = 0;
                loop {
                    let from_set = self.pending.first().map(|&(k, seq, id)| ((k, seq), id));
                    let from_fresh = queue.get(next_fresh).copied();
                    let (id, is_fresh) = match (from_set, from_fresh) {
                        (None, None) => break,
                        (Some((_, id)), None) => (id, false),
                        (None, Some((_, id))) => (id, true),
                        (Some((a, ida)), Some((b, idb))) => {
                            if b < a {
                                (idb, true)
                            } else {
                                (ida, false)
                            }
                        }
                    };
                    if !self.try_start(id) {
                        break;
                    }
                    next_fresh += usize::from(is_fresh);
                }
                self.queue_fresh(queue[next_fresh..].iter().map(|(_, id)| id));
                self.fresh_order = queue;
            }
            HeadOfLine::SkipAhead => {
                self.queue_fresh(fresh.iter());
                let order: Vec<JobId> = if full {
                    self.pending.iter().map(|(_, _, id)| *id).collect()
                } else {
                    let mut fresh = std::mem::take(fresh);
                    fresh.retain(|id| self.job_status(*id) == Some(JobStatus::Pending));
                    fresh.sort_by_key(|id| self.jobs[id].slot);
                    // An id cancelled and submitted again since the last pass is listed twice.
                    fresh.dedup();
                    fresh
                };
                // Within a pass capacity only shrinks, so a shape that failed once fails again.
                let mut failed: BTreeSet<u32> = BTreeSet::new();
                for id in order {
                    let shape = self.jobs[&id].shape;
                    if failed.contains(&shape) {
                        continue;
                    }
                    if !self.try_start(id) {
                        failed.insert(shape);
                    }
                }
            }
        }
    }

    /// Starts the pending job `id` if its whole gang fits now.
    fn try_start(&mut self, id: JobId) -> bool {
        // The job table does not change until the job is started or not: one lookup serves.
        let found = self.jobs.find(&id).expect("pending jobs are known");
        let mut out = std::mem::take(&mut self.scratch);
        let placed = {
            let job = self.jobs.at(found);
            let view = job_view(&self.queues, &self.shapes, self.now, id, job);
            let plan = if may_fit(&self.cluster, view.groups) {
                self.placement.plan(&ClusterView { cluster: &self.cluster }, &view)
            } else {
                Plan::NoRoom
            };
            let groups = &self.shapes[job.shape as usize];
            place_gang(&mut self.cluster, self.placement.as_mut(), id, groups, plan, &mut out)
        };
        let job = self.jobs.at_mut(found);
        let ok = match placed {
            Ok(()) => true,
            Err(PlaceError::PolicyError) => {
                self.stats.policy_errors += 1;
                false
            }
            Err(PlaceError::NoRoom) => false,
        };
        if !ok {
            for t in out.drain(..) {
                self.cluster.release(t.node, id, t.group, t.index);
            }
            self.scratch = out;
            return false;
        }
        match job.state {
            State::Fresh => self.unqueued -= 1,
            State::Pending => {
                self.pending.remove(&(job.slot.0, job.slot.1, id));
            }
            State::Running(_) => unreachable!("try_start is given waiting jobs only"),
        }
        job.started = self.now;
        let tasks = Placements::new(&out);
        job.state = State::Running(tasks.clone());
        job.live = out.len() as u32;
        self.stats.started += 1;
        self.scratch = out;
        self.decisions.push_back(Decision::Start { job: id, tasks });
        true
    }

    /// Checks the scheduler's internal consistency: the queue holds exactly the waiting jobs and every
    /// placement index describes the nodes exactly.
    /// `Err` names the first difference. Linear in the cluster's size and the jobs known: for tests and
    /// debugging.
    pub fn audit(&self) -> Result<(), String> {
        let (mut fresh, mut queued) = (0, 0);
        for (id, j) in self.jobs.iter() {
            match j.state {
                State::Fresh => fresh += 1,
                State::Pending if self.pending.contains(&(j.slot.0, j.slot.1, id)) => queued += 1,
                State::Pending => return Err(format!("waiting {id} is not in the pending set")),
                State::Running(_) => {}
            }
        }
        if fresh != self.unqueued || queued != self.pending.len() {
            return Err(format!(
                "waiting jobs: {fresh} fresh and {queued} queued, but counted {} and {}",
                self.unqueued,
                self.pending.len()
            ));
        }
        if self.fresh_waiting().collect::<BTreeSet<_>>().len() != fresh {
            return Err("a fresh job is missing from the list of fresh jobs".into());
        }
        self.cluster.audit()
    }

    /// The submission attributes of a known job, for reports.
    pub fn job_info(&self, job: JobId) -> Option<JobInfo<'_>> {
        let j = self.jobs.get(&job)?;
        Some(JobInfo {
            queue: &self.queues[j.queue as usize],
            priority: j.priority,
            submitted: j.submitted,
            estimate: j.estimate(),
        })
    }
}

/// Submission attributes of a pending or running job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobInfo<'a> {
    /// Its queue.
    pub queue: &'a str,
    /// Its priority.
    pub priority: i32,
    /// When it was submitted.
    pub submitted: Time,
    /// Its runtime estimate.
    pub estimate: Option<Span>,
}

/// The view of job `id` at `now` (a free function so that callers can borrow other fields mutably).
fn job_view<'a>(
    queues: &'a [Box<str>],
    shapes: &'a [Box<[(u32, Demand)]>],
    now: Time,
    id: JobId,
    j: &'a Job,
) -> JobView<'a> {
    let running = matches!(j.state, State::Running(_));
    let current = if running { now.since(j.started) } else { Span::default() };
    JobView {
        id,
        queue: &queues[j.queue as usize],
        priority: j.priority,
        submitted: j.submitted,
        estimate: j.estimate(),
        groups: &shapes[j.shape as usize],
        running,
        service: Span(j.progress.as_ref().map_or(0, |p| p.service.0) + current.0),
        overhead: j.progress.as_ref().map_or(Span::default(), |p| p.overhead),
    }
}

enum PlaceError {
    NoRoom,
    PolicyError,
}

/// Whether enough fully free GPUs exist for every whole-GPU group (a necessary condition, O(levels)).
fn may_fit(cluster: &Cluster, groups: &[(u32, Demand)]) -> bool {
    groups.iter().all(|(count, d)| {
        if !d.is_whole_gpu() || *count == 0 {
            return true;
        }
        let view = ClusterView { cluster };
        let (need, per) = (u64::from(*count), d.gpus as usize);
        let mut slots = 0u64;
        for m in view.model_ids(d.models) {
            // From the fullest level down, so that the common answer (yes) comes after a level or two.
            for (w, n) in cluster.pool_levels(m).iter().enumerate().skip(per).rev() {
                slots += u64::from(*n) * if per == 1 { w as u64 } else { (w / per) as u64 };
                if slots >= need {
                    return true;
                }
            }
        }
        false
    })
}

/// Places every task of a gang, tentatively allocating as it goes; on `Err` the caller rolls back `out`.
fn place_gang(
    cluster: &mut Cluster,
    policy: &mut dyn PlacementPolicy,
    job: JobId,
    groups: &[(u32, Demand)],
    plan: Plan,
    out: &mut Vec<TaskPlacement>,
) -> Result<(), PlaceError> {
    out.clear();
    match plan {
        Plan::PerGroup => {}
        Plan::NoRoom => return Err(PlaceError::NoRoom),
        Plan::Nodes(nodes) => {
            let mut nodes = nodes.into_iter();
            for (gi, (count, d)) in groups.iter().enumerate() {
                for index in 0..*count {
                    let node = nodes.next().ok_or(PlaceError::PolicyError)?;
                    place_task(cluster, job, (gi as u32, index), node, d, None, false, out)?;
                }
            }
            return if nodes.next().is_none() {
                Ok(())
            } else {
                Err(PlaceError::PolicyError)
            };
        }
    }
    for (gi, (count, d)) in groups.iter().enumerate() {
        let mut next = 0u32;
        while next < *count {
            let remaining = count - next;
            let view = ClusterView { cluster };
            let (node, n, hint) = match policy.choose(&view, d, remaining) {
                Some(c) => {
                    let ok = view
                        .node(c.node)
                        .is_some_and(|nv| nv.state() == NodeState::Schedulable && nv.has_room(d, remaining));
                    if !ok {
                        return Err(PlaceError::PolicyError);
                    }
                    (c.node, remaining, c.device)
                }
                None if remaining > 1 => match most_room(&view, d) {
                    Some((node, room)) => (node, room.min(remaining), None),
                    None => return Err(PlaceError::NoRoom),
                },
                None => return Err(PlaceError::NoRoom),
            };
            // All `n` tasks were checked to fit on `node` together.
            for _ in 0..n {
                place_task(cluster, job, (gi as u32, next), node, d, hint, true, out)?;
                next += 1;
            }
        }
    }
    Ok(())
}

/// Allocates task `(group, index)` on `node` (devices chosen by the node's rule, or `hint`), recording it
/// in `out`. `checked`: the caller has made sure that the task fits on the schedulable node.
#[allow(clippy::too_many_arguments)]
fn place_task(
    cluster: &mut Cluster,
    job: JobId,
    (group, index): (u32, u32),
    node: NodeId,
    d: &Demand,
    hint: Option<u32>,
    checked: bool,
    out: &mut Vec<TaskPlacement>,
) -> Result<(), PlaceError> {
    let fits = cluster
        .node(node)
        .filter(|nd| checked || (nd.state == NodeState::Schedulable && nd.has_room(d, 1)));
    debug_assert!(fits.is_none_or(|nd| nd.state == NodeState::Schedulable && nd.has_room(d, 1)));
    let devices = fits
        .and_then(|nd| nd.choose_devices(d, hint))
        .ok_or(PlaceError::PolicyError)?;
    cluster.allocate(
        node,
        NodeTask {
            job,
            group,
            index,
            gpus: devices,
            gpu_milli: d.gpu_milli,
            cpu_milli: d.cpu_milli,
            memory_mib: d.memory_mib,
        },
    );
    out.push(TaskPlacement {
        group,
        index,
        node,
        gpus: devices,
        gpu_milli: d.gpu_milli,
    });
    Ok(())
}
