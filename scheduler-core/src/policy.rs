//! Policy traits and the built-in policies. Policies see only core types through read-only views.
//!
//! - A [`QueuePolicy`] gives each waiting job an [`OrderKey`]; smaller keys are tried first, and equal
//!   keys keep submission order.
//! - A [`PlacementPolicy`] picks a node with room for a number of identical tasks. The scheduler does
//!   the rest: it asks for a node that holds the whole remainder of a task group, and if there is none it
//!   fills the node with the most room and asks again, so a gang lands on few nodes.

use crate::cluster::{Demand, FitKey};
use crate::model::ModelId;
use crate::spec::{NodeId, WHOLE_GPU};
use crate::view::{ClusterView, JobView, NodeView};

/// The order of a waiting job: compared lexicographically, smaller first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey(pub i64, pub i64);

/// Orders the queue of waiting jobs.
pub trait QueuePolicy {
    /// A short name for logs.
    fn name(&self) -> &str;
    /// The job's key. A non-preemptive policy's key is computed once, at submission; a preemptive
    /// policy's keys are recomputed for every pending and running job at each scheduling pass.
    fn key(&self, job: &JobView<'_>) -> OrderKey;
    /// Whether running jobs compete with waiting ones (see [`crate::Scheduler`]'s preemptive pass).
    fn preemptive(&self) -> bool {
        false
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// First in, first out: by submission time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fifo;

impl QueuePolicy for Fifo {
    fn name(&self) -> &str {
        "fifo"
    }
    fn key(&self, job: &JobView<'_>) -> OrderKey {
        OrderKey(clamp_i64(job.submitted.as_millis()), 0)
    }
}

/// Highest priority first; FIFO within a priority.
#[derive(Clone, Copy, Debug, Default)]
pub struct Priority;

impl QueuePolicy for Priority {
    fn name(&self) -> &str {
        "priority"
    }
    fn key(&self, job: &JobView<'_>) -> OrderKey {
        OrderKey(-i64::from(job.priority), clamp_i64(job.submitted.as_millis()))
    }
}

/// Shortest job first by its estimate; jobs without one go last; FIFO among equals.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShortestFirst;

impl QueuePolicy for ShortestFirst {
    fn name(&self) -> &str {
        "sjf"
    }
    fn key(&self, job: &JobView<'_>) -> OrderKey {
        let est = job.estimate.map_or(i64::MAX, |e| clamp_i64(e.as_millis()));
        OrderKey(est, clamp_i64(job.submitted.as_millis()))
    }
}

/// Shortest remaining time first, preemptive: jobs are ordered by their estimated remaining running time
/// ([`JobView::remaining`]; jobs without an estimate last), FIFO among equals, and a running job whose GPUs
/// are needed by jobs ahead of it is stopped and requeued.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShortestRemaining;

impl QueuePolicy for ShortestRemaining {
    fn name(&self) -> &str {
        "srtf"
    }
    fn key(&self, job: &JobView<'_>) -> OrderKey {
        let rem = job.remaining().map_or(i64::MAX, |r| clamp_i64(r.as_millis()));
        OrderKey(rem, 0)
    }
    fn preemptive(&self) -> bool {
        true
    }
}

/// A policy's whole-job answer, for policies that place a job at once rather than task by task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Let the scheduler place each task group through [`PlacementPolicy::choose`].
    PerGroup,
    /// The job does not fit now.
    NoRoom,
    /// One node per task, in group and task order; each must have room for its task.
    Nodes(Vec<NodeId>),
}

/// A policy's pick: a node, and for a shared-GPU task optionally the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The node; it must be schedulable and have room for the tasks asked about.
    pub node: NodeId,
    /// For a shared-GPU task, the device to use (otherwise the scheduler picks the tightest one).
    pub device: Option<u32>,
}

impl Choice {
    /// A node, device left to the scheduler.
    pub fn node(node: NodeId) -> Choice {
        Choice { node, device: None }
    }
}

/// Picks nodes for tasks.
pub trait PlacementPolicy {
    /// A short name for logs.
    fn name(&self) -> &str;
    /// A schedulable node with room for `tasks` tasks of `demand` at once, or `None` if the policy finds none.
    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice>;
    /// Places a whole job at once. The default, [`Plan::PerGroup`], lets the scheduler place it group
    /// by group through [`choose`](Self::choose).
    fn plan(&mut self, _view: &ClusterView<'_>, _job: &JobView<'_>) -> Plan {
        Plan::PerGroup
    }
}

/// The lowest fit key among schedulable GPU nodes of the allowed models at or above `from`
/// that have room for `tasks` (best-fit order).
fn first_by_fit<'a>(
    view: &ClusterView<'a>,
    demand: &Demand,
    tasks: u32,
    from: impl Fn(ModelId) -> FitKey,
) -> Option<NodeView<'a>> {
    let mut best: Option<(FitKey, NodeView<'a>)> = None;
    for m in view.model_ids(demand.models) {
        let found = view.gpu_nodes_by_fit(m, from(m)..).find(|n| n.has_room(demand, tasks));
        if let Some(n) = found {
            let key = n.fit_key();
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, n));
            }
        }
    }
    best.map(|(_, n)| n)
}

/// The lowest fit key a node needs to possibly hold `tasks` tasks of `demand`.
fn fit_floor(demand: &Demand, tasks: u32) -> FitKey {
    let free_whole = if demand.is_whole_gpu() {
        demand.gpus.saturating_mul(tasks)
    } else {
        0
    };
    let max_partial = if demand.is_whole_gpu() { 0 } else { demand.gpu_milli };
    FitKey {
        free_whole,
        max_partial,
        node: NodeId(0),
    }
}

/// Best fit: the node left with the least free capacity.
///
/// GPU tasks: the node with the fewest fully free GPUs that still holds the tasks, then the smallest
/// largest-partial device, then the lowest id (index range scan, no full pass). CPU-only tasks: the node
/// with the least free CPU that holds them.
#[derive(Clone, Copy, Debug, Default)]
pub struct BestFit;

impl PlacementPolicy for BestFit {
    fn name(&self) -> &str {
        "bestfit"
    }
    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        if demand.gpus == 0 {
            return view
                .nodes_by_free_cpu(demand.cpu_milli.saturating_mul(u64::from(tasks)))
                .find(|n| n.has_room(demand, tasks))
                .map(|n| Choice::node(n.id()));
        }
        let floor = fit_floor(demand, tasks);
        first_by_fit(view, demand, tasks, |_| floor).map(|n| Choice::node(n.id()))
    }
}

/// Worst fit (spread): the node with the most free capacity; a shared GPU goes on the emptiest device.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorstFit;

impl PlacementPolicy for WorstFit {
    fn name(&self) -> &str {
        "worstfit"
    }
    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        if demand.gpus == 0 {
            return view
                .nodes_by_free_cpu(0)
                .rev()
                .find(|n| n.has_room(demand, tasks))
                .map(|n| Choice::node(n.id()));
        }
        let floor = fit_floor(demand, tasks);
        let mut best: Option<(FitKey, NodeView<'_>)> = None;
        for m in view.model_ids(demand.models) {
            let found = view
                .gpu_nodes_by_fit(m, floor..)
                .rev()
                .find(|n| n.has_room(demand, tasks));
            if let Some(n) = found {
                // Most free whole GPUs, then the largest partial device, then the lowest id.
                let fit = n.fit_key();
                let key = FitKey {
                    free_whole: u32::MAX - fit.free_whole,
                    max_partial: u32::MAX - fit.max_partial,
                    node: n.id(),
                };
                if best.as_ref().is_none_or(|(k, _)| key < *k) {
                    best = Some((key, n));
                }
            }
        }
        let n = best?.1;
        let device = demand
            .is_shared_gpu()
            .then(|| {
                n.gpus()
                    .filter(|g| g.health == crate::GpuHealth::Healthy && g.free_milli >= demand.gpu_milli)
                    .max_by_key(|g| (g.free_milli, std::cmp::Reverse(g.index)))
                    .map(|g| g.index)
            })
            .flatten();
        Some(Choice { node: n.id(), device })
    }
}

/// First fit: the lowest-id node that holds the tasks.
///
/// GPU tasks walk the id-ordered index of nodes with free GPU capacity; CPU-only tasks walk the
/// schedulable nodes in id order.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirstFit;

impl PlacementPolicy for FirstFit {
    fn name(&self) -> &str {
        "firstfit"
    }
    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        if demand.gpus == 0 {
            return view
                .schedulable_nodes()
                .find(|n| n.has_room(demand, tasks))
                .map(|n| Choice::node(n.id()));
        }
        view.model_ids(demand.models)
            .filter_map(|m| view.gpu_nodes_by_id(m).find(|n| n.has_room(demand, tasks)))
            .map(|n| n.id())
            .min()
            .map(Choice::node)
    }
}

/// The schedulable node with the most room for tasks of `demand` (and that room), found from the top of
/// the indexes: used to fill a gang that no single node holds onto as few nodes as possible.
///
/// Nodes are visited from the top of the index (most free first), one group of equal index keys at a
/// time, lowest id first within a group; the walk stops as soon as no later node can hold more tasks than
/// the best so far (its free resources bound its room). Ties go to the node found first, so to the
/// highest index key and then the lowest id. Usually only the first node is looked at.
pub fn most_room(view: &ClusterView<'_>, demand: &Demand) -> Option<(NodeId, u32)> {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let mut best: Option<(u32, NodeId)> = None;
    let consider = |n: &NodeView<'_>, best: &mut Option<(u32, NodeId)>| {
        let room = n.room_for(demand);
        if room > 0 && best.is_none_or(|(r, _)| room > r) {
            *best = Some((room, n.id()));
        }
    };
    if demand.gpus == 0 {
        // CPU-only: nodes by free CPU; a node's free CPU bounds its room.
        let mut upper = Unbounded;
        while let Some(top) = view
            .nodes_by_free_cpu_in((Included(demand.cpu_milli), upper))
            .next_back()
        {
            let cpu = top.cpu_free();
            let bound = cpu.checked_div(demand.cpu_milli).unwrap_or(u64::MAX);
            if best.is_some_and(|(r, _)| bound <= u64::from(r)) {
                break;
            }
            for n in view.nodes_by_free_cpu_in((Included(cpu), Included(cpu))) {
                consider(&n, &mut best);
            }
            upper = Excluded(cpu);
        }
    } else {
        let floor = fit_floor(demand, 1);
        for m in view.model_ids(demand.models) {
            let mut upper = Unbounded;
            while let Some(top) = view.gpu_nodes_by_fit(m, (Included(floor), upper)).next_back() {
                let group = FitKey {
                    node: NodeId(0),
                    ..top.fit_key()
                };
                let bound = if demand.is_whole_gpu() {
                    group.free_whole.checked_div(demand.gpus).unwrap_or(0)
                } else {
                    top.gpu_count() * (WHOLE_GPU / demand.gpu_milli.max(1))
                };
                if best.is_some_and(|(r, _)| bound <= r) {
                    break;
                }
                let last = FitKey {
                    node: NodeId(u32::MAX),
                    ..group
                };
                for n in view.gpu_nodes_by_fit(m, group..=last) {
                    consider(&n, &mut best);
                    if best.is_some_and(|(r, _)| r >= bound) {
                        break;
                    }
                }
                upper = Excluded(group);
            }
        }
    }
    best.map(|(room, id)| (id, room))
}

/// Consolidate (the Helios placement): a job of one task goes to one node by [`BestFit`]; a job of several
/// tasks gets whole nodes: its tasks that take all of a node's GPUs each go to a fully free node, the lowest
/// ids first, and a last, smaller task goes to the node with the most free GPUs after those (lowest id on
/// ties). No other shape is split across nodes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Consolidate;

impl PlacementPolicy for Consolidate {
    fn name(&self) -> &str {
        "consolidate"
    }
    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        BestFit.choose(view, demand, tasks)
    }
    fn plan(&mut self, view: &ClusterView<'_>, job: &JobView<'_>) -> Plan {
        let tasks: Vec<&Demand> = job
            .groups
            .iter()
            .flat_map(|(n, d)| std::iter::repeat_n(d, *n as usize))
            .collect();
        if tasks.len() <= 1 {
            return Plan::PerGroup;
        }
        let models = tasks.iter().fold(crate::ModelSet::EMPTY, |acc, d| {
            crate::ModelSet::from_bits(acc.bits() | d.models.bits())
        });
        // The `tasks.len()` freest nodes, by free whole GPUs descending, then id.
        let mut cands: Vec<NodeView<'_>> = Vec::new();
        for m in view.model_ids(models) {
            cands.extend(view.gpu_nodes_by_fit(m, ..).rev().take(tasks.len()));
        }
        cands.sort_by_key(|n| (std::cmp::Reverse(n.free_whole_gpus()), n.id()));
        cands.dedup_by_key(|n| n.id());
        cands.sort_by_key(|n| (std::cmp::Reverse(n.free_whole_gpus()), n.id()));
        let mut nodes = Vec::with_capacity(tasks.len());
        for (i, d) in tasks.iter().enumerate() {
            let Some(n) = cands.get(i) else {
                return Plan::NoRoom;
            };
            let whole_node = d.gpus == n.gpu_count();
            let ok = if whole_node {
                n.free_whole_gpus() == n.gpu_count() && n.has_room(d, 1)
            } else {
                i == tasks.len() - 1 && n.has_room(d, 1)
            };
            if !ok {
                return Plan::NoRoom;
            }
            nodes.push(n.id());
        }
        Plan::Nodes(nodes)
    }
}

/// The built-in queue orders, for configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueOrder {
    /// [`Fifo`].
    #[default]
    Fifo,
    /// [`Priority`].
    Priority,
    /// [`ShortestFirst`].
    ShortestFirst,
    /// [`ShortestRemaining`] (preemptive).
    ShortestRemaining,
}

impl QueueOrder {
    /// The policy object.
    pub fn build(self) -> Box<dyn QueuePolicy> {
        match self {
            QueueOrder::Fifo => Box::new(Fifo),
            QueueOrder::Priority => Box::new(Priority),
            QueueOrder::ShortestFirst => Box::new(ShortestFirst),
            QueueOrder::ShortestRemaining => Box::new(ShortestRemaining),
        }
    }
}

/// The built-in placement policies, for configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// [`FirstFit`].
    FirstFit,
    /// [`BestFit`].
    #[default]
    BestFit,
    /// [`WorstFit`].
    WorstFit,
    /// [`Consolidate`].
    Consolidate,
}

impl Placement {
    /// The policy object.
    pub fn build(self) -> Box<dyn PlacementPolicy> {
        match self {
            Placement::FirstFit => Box::new(FirstFit),
            Placement::BestFit => Box::new(BestFit),
            Placement::WorstFit => Box::new(WorstFit),
            Placement::Consolidate => Box::new(Consolidate),
        }
    }
}
