//! The cluster's state: nodes, their GPU devices and free resources, and the indexes placement searches.
//!
//! Architecture invariant: every change of a node's free resources goes through [`Cluster::reindex`], so
//! the indexes always describe exactly the schedulable nodes and their current free capacity.

use std::collections::{BTreeMap, BTreeSet};

use crate::decision::{DeviceSet, RejectReason, Resource, MAX_GPUS_PER_NODE};
use std::cell::{Cell, RefCell};

use crate::index::{CpuIndex, FitIndex, NodeBits};
use crate::model::{GpuModels, ModelId, ModelSet, TooManyModels};
use crate::spec::{GpuHealth, JobId, Location, NodeId, NodeSpec, NodeState, WHOLE_GPU};

/// A task's demand with its allowed GPU models interned: what placement works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Demand {
    /// Milli-CPU.
    pub cpu_milli: u64,
    /// MiB of memory.
    pub memory_mib: u64,
    /// GPU devices (0: CPU-only).
    pub gpus: u32,
    /// Milli-GPU on each device (1000 for whole devices).
    pub gpu_milli: u32,
    /// Allowed models ([`ModelSet::ANY`] when the task accepts any).
    pub models: ModelSet,
}

impl Demand {
    /// Whether the task takes whole GPU devices (and at least one).
    pub fn is_whole_gpu(&self) -> bool {
        self.gpus > 0 && self.gpu_milli >= WHOLE_GPU
    }

    /// Whether the task shares one GPU device with others.
    pub fn is_shared_gpu(&self) -> bool {
        self.gpus == 1 && self.gpu_milli < WHOLE_GPU
    }
}

/// One GPU device's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Gpu {
    pub model: ModelId,
    pub health: GpuHealth,
    /// Free milli-GPU (0..=1000).
    pub free: u32,
    pub memory_mib: u64,
}

impl Gpu {
    fn usable(&self) -> bool {
        self.health == GpuHealth::Healthy
    }
}

/// A task running on a node, as the node records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeTask {
    /// The job.
    pub job: JobId,
    /// The task's group.
    pub group: u32,
    /// The task's index in its group.
    pub index: u32,
    /// Its GPU devices on this node.
    pub gpus: DeviceSet,
    /// Milli-GPU on each device.
    pub gpu_milli: u32,
    /// Milli-CPU it holds.
    pub cpu_milli: u64,
    /// MiB it holds.
    pub memory_mib: u64,
}

/// A node. Laid out by hand, aligned to a cache line: what a task start or end reads and writes (tasks,
/// devices, free CPU and memory in the first line; index key, version, device counts, id, state and model in
/// the second) comes before what only reports and admission read.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(crate) struct Node {
    pub tasks: Vec<NodeTask>,
    pub gpus: Vec<Gpu>,
    pub cpu_free: u64,
    pub mem_free: u64,
    /// The key under which the node is in the indexes, if it is.
    indexed: Option<IndexKey>,
    /// The cluster's change stamp of the node's last change (see [`Cluster::reindex`]).
    pub version: u64,
    /// Device counts kept up to date with `gpus` (see `Node::update_gpu`): healthy devices, healthy
    /// devices fully free, and healthy devices partly used (free milli strictly between 0 and 1000).
    counts: DeviceCounts,
    pub id: NodeId,
    pub state: NodeState,
    pub model: Option<ModelId>,
    pub cpu_total: u64,
    pub mem_total: u64,
    pub name: Box<str>,
    pub labels: BTreeMap<String, String>,
    pub location: Location,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DeviceCounts {
    usable: u16,
    whole_free: u16,
    partial: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IndexKey {
    fit: FitKey,
    cpu: u64,
    /// Healthy GPU devices (free or not).
    usable: u64,
}

/// The order of GPU nodes in the fit index: free whole devices, then the largest partially free device,
/// then the node id. Ascending is best-fit order; descending is worst-fit (spread) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FitKey {
    /// Healthy devices with all 1000 milli free.
    pub free_whole: u32,
    /// The largest free milli among healthy devices that are partly used (0 if none).
    pub max_partial: u32,
    /// The node.
    pub node: NodeId,
}

impl DeviceCounts {
    fn of(gpus: &[Gpu]) -> DeviceCounts {
        let mut c = DeviceCounts::default();
        for g in gpus {
            c.tally(g, true);
        }
        c
    }

    /// Adds (or takes away) one device's contribution.
    fn tally(&mut self, g: &Gpu, add: bool) {
        if !g.usable() {
            return;
        }
        let d = |c: &mut u16| {
            if add {
                *c += 1
            } else {
                *c -= 1
            }
        };
        d(&mut self.usable);
        if g.free >= WHOLE_GPU {
            d(&mut self.whole_free);
        } else if g.free > 0 {
            d(&mut self.partial);
        }
    }
}

impl Node {
    pub fn free_whole(&self) -> u32 {
        u32::from(self.counts.whole_free)
    }

    pub fn max_partial(&self) -> u32 {
        if self.counts.partial == 0 {
            return 0;
        }
        self.gpus
            .iter()
            .filter(|g| g.usable() && g.free < WHOLE_GPU)
            .map(|g| g.free)
            .max()
            .unwrap_or(0)
    }

    /// Changes device `d` by `f`, keeping the counts in step.
    fn update_gpu(&mut self, d: usize, f: impl FnOnce(&mut Gpu)) {
        let g = &mut self.gpus[d];
        self.counts.tally(g, false);
        f(g);
        self.counts.tally(g, true);
    }

    pub fn fit_key(&self) -> FitKey {
        FitKey {
            free_whole: self.free_whole(),
            max_partial: self.max_partial(),
            node: self.id,
        }
    }

    /// Whether the node's GPU model is allowed (CPU-only demands accept every node).
    pub fn model_allowed(&self, d: &Demand) -> bool {
        d.gpus == 0 || self.model.is_some_and(|m| d.models.contains(m))
    }

    /// How many tasks of `d` fit on the node now (ignoring its state).
    pub fn room_for(&self, d: &Demand) -> u32 {
        if !self.model_allowed(d) {
            return 0;
        }
        let mut room = u64::MAX;
        if let Some(r) = self.cpu_free.checked_div(d.cpu_milli) {
            room = room.min(r);
        }
        if let Some(r) = self.mem_free.checked_div(d.memory_mib) {
            room = room.min(r);
        }
        if d.gpus > 0 {
            let slots: u64 = if d.gpu_milli >= WHOLE_GPU {
                u64::from(self.free_whole().checked_div(d.gpus).unwrap_or(0))
            } else {
                let m = d.gpu_milli.max(1);
                self.gpus
                    .iter()
                    .filter(|g| g.usable())
                    .map(|g| u64::from(g.free / m))
                    .sum()
            };
            room = room.min(slots);
        }
        room.min(u64::from(u32::MAX)) as u32
    }

    /// Whether `n` tasks of `d` fit on the node now (ignoring its state): `room_for(d) >= n`, without
    /// dividing.
    pub fn has_room(&self, d: &Demand, n: u32) -> bool {
        let fits = self.has_room_unchecked(d, n);
        debug_assert_eq!(fits, self.room_for(d) >= n, "has_room disagrees with room_for");
        fits
    }

    fn has_room_unchecked(&self, d: &Demand, n: u32) -> bool {
        if n == 0 {
            return true;
        }
        if !self.model_allowed(d) {
            return false;
        }
        let n64 = u64::from(n);
        if d.cpu_milli.saturating_mul(n64) > self.cpu_free || d.memory_mib.saturating_mul(n64) > self.mem_free {
            return false;
        }
        if d.gpus == 0 {
            return true;
        }
        if d.gpu_milli >= WHOLE_GPU {
            return u64::from(d.gpus) * n64 <= u64::from(self.counts.whole_free);
        }
        let m = d.gpu_milli.max(1);
        let mut slots = 0u64;
        for g in self.gpus.iter().filter(|g| g.usable()) {
            slots += u64::from(g.free / m);
            if slots >= n64 {
                return true;
            }
        }
        false
    }

    /// The devices a task of `d` gets on this node: the lowest-index fully free devices for whole GPUs;
    /// for a shared GPU the device left tightest (smallest free milli that still fits, lowest index on
    /// ties), or `hint` if that device fits.
    pub fn choose_devices(&self, d: &Demand, hint: Option<u32>) -> Option<DeviceSet> {
        if d.gpus == 0 {
            return Some(DeviceSet::EMPTY);
        }
        let fits = |g: &Gpu| g.usable() && g.free >= d.gpu_milli;
        if d.gpu_milli >= WHOLE_GPU {
            let mut set = DeviceSet::EMPTY;
            for (i, _) in self.gpus.iter().enumerate().filter(|(_, g)| fits(g)) {
                set.insert(i as u32);
                if set.len() == d.gpus {
                    return Some(set);
                }
            }
            return None;
        }
        if let Some(h) = hint {
            if self.gpus.get(h as usize).is_some_and(fits) {
                return Some(DeviceSet::single(h));
            }
        }
        self.gpus
            .iter()
            .enumerate()
            .filter(|(_, g)| fits(g))
            .min_by_key(|(i, g)| (g.free, *i))
            .map(|(i, _)| DeviceSet::single(i as u32))
    }
}

/// Errors from node changes the driver asks for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// A node of this name already exists.
    #[error("a node named `{0}` already exists")]
    DuplicateName(String),
    /// The id names no present node.
    #[error("no node {0} (never added, or removed)")]
    UnknownNode(NodeId),
    /// A GPU index past the node's devices.
    #[error("node {node} has no GPU {gpu}")]
    UnknownGpu {
        /// The node.
        node: NodeId,
        /// The index asked for.
        gpu: u32,
    },
    /// More devices than a node may have.
    #[error("node `{name}` has {gpus} GPUs; a node may have at most {MAX_GPUS_PER_NODE}")]
    TooManyGpus {
        /// The node's name.
        name: String,
        /// How many it has.
        gpus: usize,
    },
    /// A node whose devices are of different models.
    #[error("node `{0}` mixes GPU models; every GPU of one node must be of the same model")]
    MixedModels(String),
    /// The model table is full.
    #[error(transparent)]
    TooManyModels(#[from] TooManyModels),
}

/// Per-model index of schedulable GPU nodes.
#[derive(Clone, Debug, Default)]
struct Pool {
    by_fit: FitIndex,
    /// Schedulable nodes of this model with some free GPU capacity, by id (first-fit order).
    by_id: NodeBits,
    /// `levels[w]` = schedulable nodes with exactly `w` free whole devices.
    levels: Vec<u32>,
}

/// A node's capacity, for "can this ever run" checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    model: Option<ModelId>,
    gpus: u32,
    cpu: u64,
    mem: u64,
}

/// The cluster: nodes and indexes. Owned by the scheduler; policies see it through a view.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cluster {
    pub models: GpuModels,
    nodes: Vec<Option<Node>>,
    by_name: BTreeMap<Box<str>, NodeId>,
    pools: Vec<Pool>,
    /// Schedulable nodes by (free milli-CPU, id), synced when read (see [`CpuIndex`]).
    cpu_index: RefCell<CpuIndex>,
    /// Capacity shapes of every present node (any state), with counts.
    shapes: BTreeMap<Shape, u32>,
    /// GPU devices per model over present nodes.
    gpu_total: Vec<u64>,
    cpu_total: u64,
    mem_total: u64,
    present: usize,
    /// Healthy GPU devices of schedulable nodes.
    usable_gpus: u64,
    /// Counts node changes; the last change's stamp.
    stamp: u64,
    /// Node changes in stamp order; an entry is current while it is its node's last change (`versions`).
    /// Stale entries are dropped when they outnumber the nodes, so the log stays O(nodes). Kept only once
    /// something asked what changed ([`Cluster::changed_since`]): most policies never do.
    change_log: Vec<(u64, NodeId)>,
    /// The stamp after which `change_log` holds every change; `None` while it is not kept.
    log_since: Cell<Option<u64>>,
    /// The stamp of every node's last change, by node id (removed nodes too).
    versions: Vec<u64>,
}

impl Cluster {
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// Cache hint: node `id` will be changed soon (loads its first two lines: free resources, index key
    /// and where its task and device lists are).
    pub fn prefetch_node(&self, id: NodeId) {
        if let Some(n) = self.nodes.get(id.0 as usize) {
            crate::hint::prefetch_head(n, 128);
        }
    }

    /// Cache hint: node `id`'s task and device lists will be read soon (reads the node, so best after
    /// [`Cluster::prefetch_node`] had time to load it).
    pub fn prefetch_node_lists(&self, id: NodeId) {
        if let Some(n) = self.node(id) {
            crate::hint::prefetch_slice(&n.tasks);
            crate::hint::prefetch_slice(&n.gpus);
        }
    }

    fn node_mut(&mut self, id: NodeId) -> Result<&mut Node, NodeError> {
        self.nodes
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(NodeError::UnknownNode(id))
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().flatten()
    }

    pub fn present(&self) -> usize {
        self.present
    }

    /// Healthy GPU devices of schedulable nodes, busy or not.
    pub fn usable_gpus(&self) -> u64 {
        self.usable_gpus
    }

    pub fn id_by_name(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub fn add_node(&mut self, spec: NodeSpec) -> Result<NodeId, NodeError> {
        if self.by_name.contains_key(spec.name.as_str()) {
            return Err(NodeError::DuplicateName(spec.name));
        }
        if spec.gpus.len() > MAX_GPUS_PER_NODE {
            return Err(NodeError::TooManyGpus {
                name: spec.name,
                gpus: spec.gpus.len(),
            });
        }
        if spec.gpus.windows(2).any(|w| w[0].model != w[1].model) {
            return Err(NodeError::MixedModels(spec.name));
        }
        let model = match spec.gpus.first() {
            Some(g) => Some(self.models.intern(&g.model)?),
            None => None,
        };
        let id = NodeId(self.nodes.len() as u32);
        let gpus: Vec<Gpu> = spec
            .gpus
            .iter()
            .map(|g| Gpu {
                model: model.expect("a node with GPUs has a model"),
                health: g.health,
                free: WHOLE_GPU,
                memory_mib: g.memory_mib,
            })
            .collect();
        let counts = DeviceCounts::of(&gpus);
        let node = Node {
            counts,
            id,
            name: spec.name.into_boxed_str(),
            labels: spec.labels,
            location: spec.location,
            state: spec.state,
            model,
            cpu_total: spec.cpu_milli,
            cpu_free: spec.cpu_milli,
            mem_total: spec.memory_mib,
            mem_free: spec.memory_mib,
            gpus,
            tasks: Vec::new(),
            version: 0,
            indexed: None,
        };
        let shape = Self::shape(&node);
        *self.shapes.entry(shape).or_default() += 1;
        if let Some(m) = model {
            if self.gpu_total.len() <= m.0 as usize {
                self.gpu_total.resize(m.0 as usize + 1, 0);
            }
            self.gpu_total[m.0 as usize] += node.gpus.len() as u64;
        }
        self.cpu_total += node.cpu_total;
        self.mem_total += node.mem_total;
        self.present += 1;
        self.by_name.insert(node.name.clone(), id);
        self.nodes.push(Some(node));
        self.versions.push(0);
        self.reindex(id);
        Ok(id)
    }

    fn shape(node: &Node) -> Shape {
        Shape {
            model: node.model,
            gpus: node.gpus.len() as u32,
            cpu: node.cpu_total,
            mem: node.mem_total,
        }
    }

    /// Removes a node that runs no task.
    pub fn remove_node(&mut self, id: NodeId) -> Result<Node, NodeError> {
        let node = self.node_mut(id)?;
        debug_assert!(node.tasks.is_empty(), "tasks must be stopped before removal");
        node.state = NodeState::Down;
        self.reindex(id);
        let node = self.nodes[id.0 as usize].take().expect("checked above");
        let shape = Self::shape(&node);
        if let Some(c) = self.shapes.get_mut(&shape) {
            *c -= 1;
            if *c == 0 {
                self.shapes.remove(&shape);
            }
        }
        if let Some(m) = node.model {
            self.gpu_total[m.0 as usize] -= node.gpus.len() as u64;
        }
        self.cpu_total -= node.cpu_total;
        self.mem_total -= node.mem_total;
        self.present -= 1;
        self.by_name.remove(&node.name);
        Ok(node)
    }

    pub fn set_state(&mut self, id: NodeId, state: NodeState) -> Result<NodeState, NodeError> {
        let node = self.node_mut(id)?;
        let old = std::mem::replace(&mut node.state, state);
        self.reindex(id);
        Ok(old)
    }

    pub fn set_labels(&mut self, id: NodeId, labels: BTreeMap<String, String>) -> Result<(), NodeError> {
        self.node_mut(id)?.labels = labels;
        Ok(())
    }

    pub fn set_gpu_health(&mut self, id: NodeId, gpu: u32, health: GpuHealth) -> Result<GpuHealth, NodeError> {
        let node = self.node_mut(id)?;
        let g = node
            .gpus
            .get(gpu as usize)
            .ok_or(NodeError::UnknownGpu { node: id, gpu })?;
        let old = g.health;
        node.update_gpu(gpu as usize, |g| g.health = health);
        self.reindex(id);
        Ok(old)
    }

    /// Takes a task's resources on a node. The caller has checked that they are free.
    pub fn allocate(&mut self, id: NodeId, task: NodeTask) {
        let node = self.nodes[id.0 as usize].as_mut().expect("allocate on a present node");
        debug_assert!(node.cpu_free >= task.cpu_milli && node.mem_free >= task.memory_mib);
        node.cpu_free -= task.cpu_milli;
        node.mem_free -= task.memory_mib;
        for d in task.gpus.iter() {
            debug_assert!(node.gpus[d as usize].free >= task.gpu_milli);
            node.update_gpu(d as usize, |g| g.free -= task.gpu_milli);
        }
        node.tasks.push(task);
        self.reindex(id);
    }

    /// Gives back the resources of the task `(job, group, index)` on node `id`; returns whether it was there.
    pub fn release(&mut self, id: NodeId, job: JobId, group: u32, index: u32) -> bool {
        let Some(node) = self.nodes.get_mut(id.0 as usize).and_then(Option::as_mut) else {
            return false;
        };
        let Some(pos) = node
            .tasks
            .iter()
            .position(|t| t.job == job && t.group == group && t.index == index)
        else {
            return false;
        };
        let task = node.tasks.swap_remove(pos);
        node.cpu_free += task.cpu_milli;
        node.mem_free += task.memory_mib;
        for d in task.gpus.iter() {
            node.update_gpu(d as usize, |g| g.free += task.gpu_milli);
        }
        self.reindex(id);
        true
    }

    /// Brings the indexes in line with node `id`'s current state and free resources, and stamps the node
    /// as changed (every change of a node's state, devices or tasks passes here).
    fn reindex(&mut self, id: NodeId) {
        let Some(node) = self.nodes.get_mut(id.0 as usize).and_then(Option::as_mut) else {
            return;
        };
        self.stamp += 1;
        node.version = self.stamp;
        self.versions[id.0 as usize] = self.stamp;
        if self.log_since.get().is_some() {
            self.change_log.push((self.stamp, id));
            if self.change_log.len() > 2 * self.versions.len() + 1024 {
                let versions = &self.versions;
                self.change_log.retain(|(s, n)| versions[n.0 as usize] == *s);
            }
        }
        let new = (node.state == NodeState::Schedulable).then(|| IndexKey {
            fit: node.fit_key(),
            cpu: node.cpu_free,
            usable: u64::from(node.counts.usable),
        });
        if new == node.indexed {
            return;
        }
        let old = std::mem::replace(&mut node.indexed, new);
        let model = node.model;
        // Touch only the indexes whose key changed.
        let cpu = |k: &Option<IndexKey>| k.map(|k| k.cpu);
        let fit = |k: &Option<IndexKey>| k.map(|k| k.fit);
        let has_free = |k: &Option<IndexKey>| k.is_some_and(|k| k.fit.free_whole > 0 || k.fit.max_partial > 0);
        self.usable_gpus = self.usable_gpus - old.map_or(0, |k| k.usable) + new.map_or(0, |k| k.usable);
        if cpu(&old) != cpu(&new) {
            self.cpu_index.get_mut().mark(id);
        }
        let Some(m) = model else { return };
        if self.pools.len() <= m.0 as usize {
            self.pools.resize_with(m.0 as usize + 1, Pool::default);
        }
        let pool = &mut self.pools[m.0 as usize];
        if fit(&old) != fit(&new) {
            if let Some(f) = fit(&old) {
                pool.by_fit.remove(f);
                pool.levels[f.free_whole as usize] -= 1;
            }
            if let Some(f) = fit(&new) {
                pool.by_fit.insert(f);
                let w = f.free_whole as usize;
                if pool.levels.len() <= w {
                    pool.levels.resize(w + 1, 0);
                }
                pool.levels[w] += 1;
            }
        }
        match (has_free(&old), has_free(&new)) {
            (true, false) => {
                pool.by_id.remove(id);
            }
            (false, true) => {
                pool.by_id.insert(id);
            }
            _ => {}
        }
    }

    /// Recomputes every index from the nodes and compares: `Err` names the first difference.
    pub fn audit(&self) -> Result<(), String> {
        let mut pools: Vec<Pool> = Vec::new();
        let mut cpu_index = BTreeSet::new();
        let mut usable = 0;
        for n in self.nodes() {
            if n.counts != DeviceCounts::of(&n.gpus) {
                return Err(format!("the device counts of node {} differ from its devices", n.id));
            }
        }
        for n in self.nodes().filter(|n| n.state == NodeState::Schedulable) {
            cpu_index.insert((n.cpu_free, n.id));
            usable += n.gpus.iter().filter(|g| g.usable()).count() as u64;
            if let Some(m) = n.model {
                if pools.len() <= m.0 as usize {
                    pools.resize_with(m.0 as usize + 1, Pool::default);
                }
                let key = n.fit_key();
                let pool = &mut pools[m.0 as usize];
                pool.by_fit.insert(key);
                if key.free_whole > 0 || key.max_partial > 0 {
                    pool.by_id.insert(n.id);
                }
                if pool.levels.len() <= key.free_whole as usize {
                    pool.levels.resize(key.free_whole as usize + 1, 0);
                }
                pool.levels[key.free_whole as usize] += 1;
            }
        }
        if cpu_index != *self.synced_cpu_index().set() {
            return Err("the free-CPU index differs from the nodes".into());
        }
        if usable != self.usable_gpus {
            return Err(format!("usable GPUs: index {} but nodes {usable}", self.usable_gpus));
        }
        for (i, p) in self.pools.iter().enumerate() {
            let want = pools.get(i).cloned().unwrap_or_default();
            let ids = |b: &NodeBits| b.iter().collect::<Vec<_>>();
            if p.by_fit.to_set() != want.by_fit.to_set() || ids(&p.by_id) != ids(&want.by_id) {
                return Err(format!("the fit or id index of model {i} differs from the nodes"));
            }
            let trim = |l: &[u32]| l.iter().rposition(|c| *c > 0).map_or(0, |k| k + 1);
            if p.levels[..trim(&p.levels)] != want.levels[..trim(&want.levels)] {
                return Err(format!("the free-GPU histogram of model {i} differs from the nodes"));
            }
        }
        Ok(())
    }

    pub fn pool_by_fit(&self, model: ModelId) -> Option<&FitIndex> {
        self.pools.get(model.0 as usize).map(|p| &p.by_fit)
    }

    pub fn pool_by_id(&self, model: ModelId) -> Option<&NodeBits> {
        self.pools.get(model.0 as usize).map(|p| &p.by_id)
    }

    pub fn pool_levels(&self, model: ModelId) -> &[u32] {
        self.pools.get(model.0 as usize).map_or(&[], |p| &p.levels)
    }

    /// The free-CPU index, brought up to date.
    pub fn synced_cpu_index(&self) -> std::cell::Ref<'_, CpuIndex> {
        if !self.cpu_index.borrow().is_synced() {
            let nodes = &self.nodes;
            self.cpu_index.borrow_mut().sync(|id| {
                nodes
                    .get(id.0 as usize)
                    .and_then(Option::as_ref)
                    .and_then(|n| n.indexed.map(|k| k.cpu))
            });
        }
        self.cpu_index.borrow()
    }

    /// The stamp of the last node change (0 before any node was added).
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Nodes whose last change came after `stamp`, in change order (removed nodes included).
    ///
    /// The first call starts the change log; until then (and for a `stamp` from before it started) the
    /// answer comes from every node's version, sorted: the same nodes in the same order, in O(nodes).
    pub fn changed_since(&self, stamp: u64) -> impl Iterator<Item = NodeId> + '_ {
        let logged = self.log_since.get().is_some_and(|since| stamp >= since);
        let (log, scanned) = if logged {
            let from = self.change_log.partition_point(|(s, _)| *s <= stamp);
            (&self.change_log[from..], Vec::new())
        } else {
            if self.log_since.get().is_none() {
                self.log_since.set(Some(self.stamp));
            }
            let mut changed: Vec<(u64, NodeId)> = self
                .versions
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > stamp)
                .map(|(i, v)| (*v, NodeId(i as u32)))
                .collect();
            changed.sort_unstable();
            (&[][..], changed)
        };
        log.iter()
            .filter(|(s, n)| self.versions[n.0 as usize] == *s)
            .copied()
            .chain(scanned)
            .map(|(_, id)| id)
    }

    /// Whether a task group of `count` tasks of `d` could run on this cluster if it were empty:
    /// some present node (in any state) is large enough for one task.
    pub fn check_task(
        &self,
        group: u32,
        d: &Demand,
        models: impl FnOnce() -> Vec<crate::GpuModel>,
    ) -> Result<(), RejectReason> {
        let mut model_seen = d.gpus == 0;
        let mut gpus_ok = d.gpus == 0;
        let mut cpu_ok = false;
        for s in self.shapes.keys() {
            if d.gpus > 0 {
                match s.model {
                    Some(m) if d.models.contains(m) => model_seen = true,
                    _ => continue,
                }
                if s.gpus < d.gpus {
                    continue;
                }
                gpus_ok = true;
            }
            if s.cpu < d.cpu_milli {
                continue;
            }
            cpu_ok = true;
            if s.mem >= d.memory_mib {
                return Ok(());
            }
        }
        let resource = if !model_seen {
            return Err(RejectReason::NoSuchModel {
                group,
                models: models(),
            });
        } else if !gpus_ok {
            Resource::Gpu
        } else if !cpu_ok {
            Resource::Cpu
        } else {
            Resource::Memory
        };
        Err(RejectReason::TaskTooLarge { group, resource })
    }

    /// Whether a whole gang fits the cluster's total capacity (present nodes, any state).
    pub fn check_gang(&self, groups: &[(u32, Demand)]) -> Result<(), RejectReason> {
        let mut cpu = 0u64;
        let mut mem = 0u64;
        let mut milli = 0u64;
        let mut union = ModelSet::EMPTY;
        for (count, d) in groups {
            let n = u64::from(*count);
            cpu = cpu.saturating_add(n.saturating_mul(d.cpu_milli));
            mem = mem.saturating_add(n.saturating_mul(d.memory_mib));
            if d.gpus > 0 {
                let g = n.saturating_mul(u64::from(d.gpus) * u64::from(d.gpu_milli));
                let cap = self.gpus_of(d.models);
                if g > cap.saturating_mul(u64::from(WHOLE_GPU)) {
                    return Err(RejectReason::GangTooLarge {
                        resource: Resource::Gpu,
                        requested: g.div_ceil(u64::from(WHOLE_GPU)),
                        capacity: cap,
                    });
                }
                milli = milli.saturating_add(g);
                union = ModelSet::from_bits(union.bits() | d.models.bits());
            }
        }
        let cap = self.gpus_of(union);
        if milli > cap.saturating_mul(u64::from(WHOLE_GPU)) {
            return Err(RejectReason::GangTooLarge {
                resource: Resource::Gpu,
                requested: milli.div_ceil(u64::from(WHOLE_GPU)),
                capacity: cap,
            });
        }
        if cpu > self.cpu_total {
            return Err(RejectReason::GangTooLarge {
                resource: Resource::Cpu,
                requested: cpu,
                capacity: self.cpu_total,
            });
        }
        if mem > self.mem_total {
            return Err(RejectReason::GangTooLarge {
                resource: Resource::Memory,
                requested: mem,
                capacity: self.mem_total,
            });
        }
        Ok(())
    }

    fn gpus_of(&self, set: ModelSet) -> u64 {
        self.gpu_total
            .iter()
            .enumerate()
            .filter(|(i, _)| set.contains(ModelId(*i as u8)))
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::{DeviceCounts, IndexKey, Node};
    use crate::model::ModelId;

    #[test]
    fn what_a_task_start_or_end_touches_is_in_the_first_two_cache_lines() {
        assert_eq!(align_of::<Node>(), 64);
        assert!(offset_of!(Node, mem_free) + 8 <= 64);
        for end in [
            offset_of!(Node, indexed) + size_of::<Option<IndexKey>>(),
            offset_of!(Node, version) + 8,
            offset_of!(Node, counts) + size_of::<DeviceCounts>(),
            offset_of!(Node, id) + 4,
            offset_of!(Node, state) + 1,
            offset_of!(Node, model) + size_of::<Option<ModelId>>(),
        ] {
            assert!(end <= 128, "a hot field ends at byte {end}");
        }
    }
}
