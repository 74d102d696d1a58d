//! Read-only views of the cluster and of jobs: all that policies ever see.

use std::collections::BTreeMap;
use std::ops::RangeBounds;

use crate::cluster::{Cluster, Demand, FitKey, Node, NodeTask};
use crate::index::{FitRange, NodeBits};
use crate::model::{GpuModels, ModelId, ModelSet};
use crate::spec::{GpuHealth, JobId, Location, NodeId, NodeState};
use crate::time::{Span, Time};

/// A read-only view of the cluster and its placement indexes.
#[derive(Clone, Copy)]
pub struct ClusterView<'a> {
    pub(crate) cluster: &'a Cluster,
}

impl<'a> ClusterView<'a> {
    /// The GPU models the cluster knows.
    pub fn models(&self) -> &'a GpuModels {
        &self.cluster.models
    }

    /// The known model ids in `set`, ascending.
    pub fn model_ids(&self, set: ModelSet) -> impl Iterator<Item = ModelId> + 'a {
        set.iter(self.cluster.models.len())
    }

    /// A node, if present.
    pub fn node(&self, id: NodeId) -> Option<NodeView<'a>> {
        self.cluster.node(id).map(|node| NodeView { node })
    }

    /// A node by name, if present.
    pub fn node_by_name(&self, name: &str) -> Option<NodeView<'a>> {
        self.cluster.id_by_name(name).and_then(|id| self.node(id))
    }

    /// Every present node (any state), by id.
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'a>> + 'a {
        self.cluster.nodes().map(|node| NodeView { node })
    }

    /// How many nodes are present.
    pub fn node_count(&self) -> usize {
        self.cluster.present()
    }

    /// Schedulable nodes of `model` whose fit key lies in `range`, in [`FitKey`] order
    /// (iterate forwards for best fit, backwards for worst fit). Index-backed: each step is a few word scans
    /// of a bitset per free-GPU count (plus an ordered-set lookup when nodes have partly used devices).
    pub fn gpu_nodes_by_fit(
        &self,
        model: ModelId,
        range: impl RangeBounds<FitKey>,
    ) -> impl DoubleEndedIterator<Item = NodeView<'a>> + 'a {
        let cluster = self.cluster;
        let (lo, hi) = range_owned(&range);
        cluster
            .pool_by_fit(model)
            .into_iter()
            .flat_map(move |index| FitRange::new(index, lo, hi))
            .map(move |k| NodeView {
                node: cluster.node(k.node).expect("indexed nodes are present"),
            })
    }

    /// Schedulable nodes of `model` with some free GPU capacity, by id (first-fit order).
    pub fn gpu_nodes_by_id(&self, model: ModelId) -> impl Iterator<Item = NodeView<'a>> + 'a {
        let cluster = self.cluster;
        cluster
            .pool_by_id(model)
            .into_iter()
            .flat_map(NodeBits::iter)
            .map(move |id| NodeView {
                node: cluster.node(id).expect("indexed nodes are present"),
            })
    }

    /// `h[w]` = schedulable nodes of `model` with exactly `w` fully free healthy GPUs.
    pub fn free_whole_histogram(&self, model: ModelId) -> &'a [u32] {
        self.cluster.pool_levels(model)
    }

    /// Schedulable nodes (GPU or not) with at least `min_cpu` free milli-CPU, by (free CPU, id).
    /// Each step is an O(log n) index lookup.
    pub fn nodes_by_free_cpu(&self, min_cpu: u64) -> impl DoubleEndedIterator<Item = NodeView<'a>> + 'a {
        self.nodes_by_free_cpu_in((std::ops::Bound::Included(min_cpu), std::ops::Bound::Unbounded))
    }

    /// Schedulable nodes whose free milli-CPU lies in `range`, by (free CPU, id).
    pub fn nodes_by_free_cpu_in(
        &self,
        range: (std::ops::Bound<u64>, std::ops::Bound<u64>),
    ) -> impl DoubleEndedIterator<Item = NodeView<'a>> + 'a {
        use std::ops::Bound;
        let lo = match range.0 {
            Bound::Included(c) => Bound::Included((c, NodeId(0))),
            Bound::Excluded(c) => Bound::Excluded((c, NodeId(u32::MAX))),
            Bound::Unbounded => Bound::Unbounded,
        };
        let hi = match range.1 {
            Bound::Included(c) => Bound::Included((c, NodeId(u32::MAX))),
            Bound::Excluded(c) => Bound::Excluded((c, NodeId(0))),
            Bound::Unbounded => Bound::Unbounded,
        };
        let cluster = self.cluster;
        CpuRange { cluster, lo, hi }.map(move |(_, id)| NodeView {
            node: cluster.node(id).expect("indexed nodes are present"),
        })
    }

    /// Schedulable nodes in id order.
    pub fn schedulable_nodes(&self) -> impl Iterator<Item = NodeView<'a>> + 'a {
        self.nodes().filter(|n| n.state() == NodeState::Schedulable)
    }

    /// The cluster's change stamp: it grows with every change of any node (added, removed, state, GPU
    /// health, tasks started or stopped). A node's [`NodeView::version`] is the stamp of its last change.
    ///
    /// With [`ClusterView::nodes_changed_since`] it lets a policy keep per-node caches and bring them up
    /// to date in time proportional to what changed, instead of re-reading every node.
    pub fn stamp(&self) -> u64 {
        self.cluster.stamp()
    }

    /// The nodes whose last change came after `stamp` (a value of [`ClusterView::stamp`]; 0 for every
    /// node), in change order. Removed nodes are included once more: [`ClusterView::node`] no longer
    /// finds them.
    pub fn nodes_changed_since(&self, stamp: u64) -> impl Iterator<Item = NodeId> + 'a {
        self.cluster.changed_since(stamp)
    }
}

/// A range of the free-CPU index, walked from either end (one index lookup per step: the index is
/// synced on read, so no borrow of it outlives a step).
struct CpuRange<'a> {
    cluster: &'a Cluster,
    lo: std::ops::Bound<(u64, NodeId)>,
    hi: std::ops::Bound<(u64, NodeId)>,
}

impl Iterator for CpuRange<'_> {
    type Item = (u64, NodeId);
    fn next(&mut self) -> Option<(u64, NodeId)> {
        let k = self.cluster.synced_cpu_index().end_in(self.lo, self.hi, false)?;
        self.lo = std::ops::Bound::Excluded(k);
        Some(k)
    }
}

impl DoubleEndedIterator for CpuRange<'_> {
    fn next_back(&mut self) -> Option<(u64, NodeId)> {
        let k = self.cluster.synced_cpu_index().end_in(self.lo, self.hi, true)?;
        self.hi = std::ops::Bound::Excluded(k);
        Some(k)
    }
}

fn range_owned(r: &impl RangeBounds<FitKey>) -> (std::ops::Bound<FitKey>, std::ops::Bound<FitKey>) {
    (r.start_bound().cloned(), r.end_bound().cloned())
}

/// A read-only view of one node.
#[derive(Clone, Copy)]
pub struct NodeView<'a> {
    pub(crate) node: &'a Node,
}

/// A read-only view of one GPU device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuView {
    /// Device index on its node.
    pub index: u32,
    /// Its model.
    pub model: ModelId,
    /// Device memory in MiB.
    pub memory_mib: u64,
    /// Free milli-GPU.
    pub free_milli: u32,
    /// Health.
    pub health: GpuHealth,
}

impl<'a> NodeView<'a> {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.node.id
    }
    /// The cluster stamp of the node's last change (see [`ClusterView::stamp`]): equal versions mean an
    /// unchanged node, so values derived from it may be cached under its version.
    pub fn version(&self) -> u64 {
        self.node.version
    }
    /// Its name.
    pub fn name(&self) -> &'a str {
        &self.node.name
    }
    /// Its labels.
    pub fn labels(&self) -> &'a BTreeMap<String, String> {
        &self.node.labels
    }
    /// Zone and rack.
    pub fn location(&self) -> &'a Location {
        &self.node.location
    }
    /// Schedulable, cordoned or down.
    pub fn state(&self) -> NodeState {
        self.node.state
    }
    /// The model of its GPUs (`None` for a CPU-only node).
    pub fn model(&self) -> Option<ModelId> {
        self.node.model
    }
    /// Allocatable milli-CPU.
    pub fn cpu_total(&self) -> u64 {
        self.node.cpu_total
    }
    /// Free milli-CPU.
    pub fn cpu_free(&self) -> u64 {
        self.node.cpu_free
    }
    /// Allocatable MiB.
    pub fn memory_total(&self) -> u64 {
        self.node.mem_total
    }
    /// Free MiB.
    pub fn memory_free(&self) -> u64 {
        self.node.mem_free
    }
    /// Number of GPU devices (healthy or not).
    pub fn gpu_count(&self) -> u32 {
        self.node.gpus.len() as u32
    }
    /// Its GPU devices in index order.
    pub fn gpus(&self) -> impl ExactSizeIterator<Item = GpuView> + 'a {
        self.node.gpus.iter().enumerate().map(|(i, g)| GpuView {
            index: i as u32,
            model: g.model,
            memory_mib: g.memory_mib,
            free_milli: g.free,
            health: g.health,
        })
    }
    /// Healthy devices with all 1000 milli free.
    pub fn free_whole_gpus(&self) -> u32 {
        self.node.free_whole()
    }
    /// The node's key in the fit index ([`ClusterView::gpu_nodes_by_fit`]).
    pub fn fit_key(&self) -> FitKey {
        self.node.fit_key()
    }
    /// Free milli-GPU over healthy devices.
    pub fn free_gpu_milli(&self) -> u64 {
        self.node
            .gpus
            .iter()
            .filter(|g| g.health == GpuHealth::Healthy)
            .map(|g| u64::from(g.free))
            .sum()
    }
    /// The tasks running on it.
    pub fn tasks(&self) -> &'a [NodeTask] {
        &self.node.tasks
    }
    /// Whether its GPU model is allowed by `d` (always true for CPU-only demands).
    pub fn model_allowed(&self, d: &Demand) -> bool {
        self.node.model_allowed(d)
    }
    /// How many tasks of `d` fit on it now (regardless of its state).
    pub fn room_for(&self, d: &Demand) -> u32 {
        self.node.room_for(d)
    }
    /// Whether `tasks` tasks of `d` fit on it now (regardless of its state): `room_for(d) >= tasks`, cheaper.
    pub fn has_room(&self, d: &Demand, tasks: u32) -> bool {
        self.node.has_room(d, tasks)
    }
    /// Whether one task of `d` fits on it now and it is schedulable.
    pub fn fits(&self, d: &Demand) -> bool {
        self.node.state == NodeState::Schedulable && self.node.has_room(d, 1)
    }
}

/// A read-only view of a pending or running job, for policies.
#[derive(Clone, Copy, Debug)]
pub struct JobView<'a> {
    /// The job.
    pub id: JobId,
    /// Its queue (tenant).
    pub queue: &'a str,
    /// Its priority.
    pub priority: i32,
    /// When it was submitted.
    pub submitted: Time,
    /// Its runtime estimate.
    pub estimate: Option<Span>,
    /// Its tasks' demands: (tasks in the group, demand of each).
    pub groups: &'a [(u32, Demand)],
    /// Whether it is running now.
    pub running: bool,
    /// Running time it has had so far (over all its runs, up to `now`).
    pub service: Span,
    /// Checkpoint-restart overhead it has accumulated by being stopped and requeued.
    pub overhead: Span,
}

impl JobView<'_> {
    /// Its estimated remaining running time: estimate + overhead − service (`None` without an estimate).
    pub fn remaining(&self) -> Option<Span> {
        self.estimate
            .map(|e| Span((e.0 + self.overhead.0).saturating_sub(self.service.0)))
    }
    /// GPU devices over all tasks.
    pub fn gpus(&self) -> u64 {
        self.groups.iter().map(|(n, d)| u64::from(*n) * u64::from(d.gpus)).sum()
    }
    /// Tasks over all groups.
    pub fn tasks(&self) -> u64 {
        self.groups.iter().map(|(n, _)| u64::from(*n)).sum()
    }
}
