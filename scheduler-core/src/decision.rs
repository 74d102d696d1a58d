//! What the core tells its driver: a closed set of decisions.

use std::fmt;

use crate::model::GpuModel;
use crate::spec::{JobId, NodeId, WHOLE_GPU};

/// The most GPU devices one node may have (device sets are 64-bit masks).
pub const MAX_GPUS_PER_NODE: usize = 64;

/// A set of GPU device indices on one node.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceSet(pub u64);

impl DeviceSet {
    /// The empty set.
    pub const EMPTY: DeviceSet = DeviceSet(0);

    /// The set holding device `index`.
    pub const fn single(index: u32) -> DeviceSet {
        DeviceSet(1u64 << index)
    }

    /// Adds device `index`.
    pub fn insert(&mut self, index: u32) {
        self.0 |= 1u64 << index;
    }

    /// Whether device `index` is in the set.
    pub const fn contains(self, index: u32) -> bool {
        self.0 & (1u64 << index) != 0
    }

    /// Number of devices.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Device indices, ascending.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            Some(i)
        })
    }
}

impl fmt::Debug for DeviceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Where one task of a started job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskPlacement {
    /// Index of the task's group in the job.
    pub group: u32,
    /// Index of the task within its group.
    pub index: u32,
    /// The node.
    pub node: NodeId,
    /// The GPU devices on that node (empty for a CPU-only task).
    pub gpus: DeviceSet,
    /// Milli-GPU taken on each of those devices (1000 unless the task shares one GPU).
    pub gpu_milli: u32,
}

/// Where a job's tasks run, one [`TaskPlacement`] per task in group and task order. A slice to read
/// (`tasks[0]`, `tasks.iter()`, `tasks.len()`); a job of one task, the common case, is kept inline,
/// so starting it allocates nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Placements(PlacementsRepr);

#[derive(Clone, PartialEq, Eq)]
enum PlacementsRepr {
    One(TaskPlacement),
    Many(Box<[TaskPlacement]>),
}

impl Placements {
    /// The placements in `tasks`.
    pub fn new(tasks: &[TaskPlacement]) -> Placements {
        Placements(match tasks {
            [one] => PlacementsRepr::One(*one),
            many => PlacementsRepr::Many(many.into()),
        })
    }

    /// The one placement, when it is kept inline.
    pub(crate) fn inline(&self) -> Option<&TaskPlacement> {
        match &self.0 {
            PlacementsRepr::One(t) => Some(t),
            PlacementsRepr::Many(_) => None,
        }
    }

    /// Cache hint: the placements will be read soon (loads the list, for more than one).
    pub(crate) fn prefetch_list(&self) {
        if let PlacementsRepr::Many(ts) = &self.0 {
            crate::hint::prefetch_slice(ts);
        }
    }
}

impl std::ops::Deref for Placements {
    type Target = [TaskPlacement];
    fn deref(&self) -> &[TaskPlacement] {
        match &self.0 {
            PlacementsRepr::One(t) => std::slice::from_ref(t),
            PlacementsRepr::Many(ts) => ts,
        }
    }
}

impl<'a> IntoIterator for &'a Placements {
    type Item = &'a TaskPlacement;
    type IntoIter = std::slice::Iter<'a, TaskPlacement>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for Placements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Which resource a job asks too much of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Milli-CPU.
    Cpu,
    /// Memory.
    Memory,
    /// GPU devices.
    Gpu,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Cpu => "CPU",
            Resource::Memory => "memory",
            Resource::Gpu => "GPUs",
        })
    }
}

/// Why a job can never run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// The request itself is malformed.
    Invalid {
        /// The task group at fault.
        group: u32,
        /// What is wrong.
        problem: &'static str,
    },
    /// No node in the cluster has any of the allowed GPU models.
    NoSuchModel {
        /// The task group at fault.
        group: u32,
        /// The allowed models it asked for.
        models: Vec<GpuModel>,
    },
    /// One task of the group is larger than every node that could host it.
    TaskTooLarge {
        /// The task group at fault.
        group: u32,
        /// A resource no single eligible node has enough of (checked in the order GPUs, CPU, memory).
        resource: Resource,
    },
    /// The whole gang asks for more than the cluster has in total.
    GangTooLarge {
        /// The resource it asks too much of.
        resource: Resource,
        /// What the gang asks for (GPU devices, milli-CPU or MiB).
        requested: u64,
        /// What the cluster has of it, in the same unit.
        capacity: u64,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Invalid { group, problem } => write!(f, "group {group}: {problem}"),
            RejectReason::NoSuchModel { group, models } => {
                write!(f, "group {group}: no node has GPU model ")?;
                for (i, m) in models.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{m}")?;
                }
                Ok(())
            }
            RejectReason::TaskTooLarge { group, resource } => {
                write!(
                    f,
                    "group {group}: one task needs more {resource} than any eligible node has"
                )
            }
            RejectReason::GangTooLarge {
                resource,
                requested,
                capacity,
            } => write!(
                f,
                "the gang needs {requested} {} in total but the cluster has {capacity}",
                match resource {
                    Resource::Cpu => "milli-CPU",
                    Resource::Memory => "MiB of memory",
                    Resource::Gpu => "GPUs of the allowed models",
                }
            ),
        }
    }
}

/// Why a running job is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The job was cancelled while running; it ends cancelled.
    Cancelled,
    /// A node it ran on went down or was removed; the job is requeued.
    NodeLost(NodeId),
    /// A GPU it used became unhealthy; the job is requeued.
    GpuFailed(NodeId, u32),
    /// A preemptive queue order gave its GPUs to jobs ahead of it; the job is requeued.
    Preempted,
}

/// One decision for the driver to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start every task of the job now, where given.
    Start {
        /// The job.
        job: JobId,
        /// One entry per task, in group and task order.
        tasks: Placements,
    },
    /// The job can never run on this cluster; it ends rejected.
    Reject {
        /// The job.
        job: JobId,
        /// Why.
        reason: RejectReason,
    },
    /// Kill every task of the running job.
    Stop {
        /// The job.
        job: JobId,
        /// Why.
        reason: StopReason,
        /// Whether the job went back to the queue (otherwise it has ended).
        requeued: bool,
    },
}

impl Decision {
    /// The job the decision is about.
    pub fn job(&self) -> JobId {
        match self {
            Decision::Start { job, .. } | Decision::Reject { job, .. } | Decision::Stop { job, .. } => *job,
        }
    }
}

impl fmt::Display for TaskPlacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}@{}", self.group, self.index, self.node)?;
        if !self.gpus.is_empty() {
            f.write_str("[")?;
            for (i, d) in self.gpus.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
            if self.gpu_milli != WHOLE_GPU {
                write!(f, ":{}m", self.gpu_milli)?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Start { job, tasks } => {
                write!(f, "start {job}")?;
                for t in tasks {
                    write!(f, " {t}")?;
                }
                Ok(())
            }
            Decision::Reject { job, reason } => write!(f, "reject {job}: {reason}"),
            Decision::Stop { job, reason, requeued } => {
                write!(f, "stop {job}: ")?;
                match reason {
                    StopReason::Cancelled => f.write_str("cancelled")?,
                    StopReason::NodeLost(n) => write!(f, "node {n} lost")?,
                    StopReason::GpuFailed(n, g) => write!(f, "GPU {g} of {n} failed")?,
                    StopReason::Preempted => f.write_str("preempted")?,
                }
                if *requeued {
                    f.write_str(", requeued")?;
                }
                Ok(())
            }
        }
    }
}
