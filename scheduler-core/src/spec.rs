//! What drivers hand to the core: node and job descriptions, all in integers.
//!
//! Resources are integers throughout: CPU in milli-cores, memory in MiB, GPU in milli-GPU (1000 = a whole GPU).

use std::collections::BTreeMap;
use std::fmt;

use crate::model::GpuModel;
use crate::time::Span;

/// A whole GPU in milli-GPU.
pub const WHOLE_GPU: u32 = 1000;

/// A job's identity, chosen by the driver and unique among the jobs the scheduler knows.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// A node's identity, assigned by the scheduler when the node is added; never reused.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// Whether new work may be placed on a node.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeState {
    /// Accepts new tasks.
    #[default]
    Schedulable,
    /// Keeps its running tasks but accepts no new ones (drain / maintenance).
    Cordoned,
    /// Unreachable or failed: its running tasks are stopped and their jobs requeued.
    Down,
}

/// Health of one GPU device.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GpuHealth {
    /// Usable.
    #[default]
    Healthy,
    /// Failed (XID, uncorrectable ECC, fallen off the bus): never given to a task; its tasks are stopped.
    Unhealthy,
}

/// Where a node sits in the failure and network topology.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Availability zone (or data hall); empty if unknown.
    pub zone: String,
    /// Rack (or NVLink / InfiniBand island); empty if unknown.
    pub rack: String,
}

/// One GPU device of a node.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuSpec {
    /// The device's model.
    pub model: GpuModel,
    /// Device memory in MiB.
    pub memory_mib: u64,
    /// Health at the time of the description.
    #[cfg_attr(feature = "serde", serde(default))]
    pub health: GpuHealth,
}

/// A node as the driver describes it.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// A unique name (host name, serial number).
    pub name: String,
    /// Free-form labels; the core keeps them for policies and reports, and never iterates them to decide.
    #[cfg_attr(feature = "serde", serde(default))]
    pub labels: BTreeMap<String, String>,
    /// Zone and rack.
    #[cfg_attr(feature = "serde", serde(default))]
    pub location: Location,
    /// Allocatable CPU in milli-cores.
    pub cpu_milli: u64,
    /// Allocatable memory in MiB.
    pub memory_mib: u64,
    /// The node's GPU devices, in device-index order. All devices of one node have the same model.
    pub gpus: Vec<GpuSpec>,
    /// Whether the node accepts new work.
    #[cfg_attr(feature = "serde", serde(default))]
    pub state: NodeState,
}

/// How a task group may grow and shrink. Recorded and validated now; elastic scaling uses it later.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elastic {
    /// Fewest replicas the job can run with.
    pub min: u32,
    /// Most replicas the job can use.
    pub max: u32,
}

/// Where the tasks of a group must sit relative to each other.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// Anywhere (the gang may span nodes, racks and zones).
    #[default]
    Any,
}

/// What one task asks for.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskRequest {
    /// CPU in milli-cores.
    pub cpu_milli: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Number of GPU devices (0 for a CPU-only task).
    pub gpus: u32,
    /// Milli-GPU of each device: 1000 for whole devices; below 1000 only with `gpus == 1` (a shared GPU).
    pub gpu_milli: u32,
    /// Allowed GPU models ("A or B"); empty means any model.
    pub models: Vec<GpuModel>,
}

impl TaskRequest {
    /// Total milli-GPU this task holds.
    pub fn total_gpu_milli(&self) -> u64 {
        u64::from(self.gpus) * u64::from(self.gpu_milli)
    }
}

/// A set of identical tasks of a job.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskGroup {
    /// A name for reports (`worker`, `ps`, …).
    pub name: String,
    /// How many tasks the group starts with.
    pub count: u32,
    /// What each task asks for.
    pub request: TaskRequest,
    /// Elastic bounds, if the group may be resized.
    pub elastic: Option<Elastic>,
    /// Placement requirement among the group's tasks.
    pub topology: Topology,
}

/// A job: a gang of task groups that start together or not at all.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSpec {
    /// The job's identity.
    pub id: JobId,
    /// The queue (tenant, virtual cluster) it belongs to.
    pub queue: String,
    /// Larger runs first under the priority queue order.
    pub priority: i32,
    /// Expected running time, if the user or a predictor gave one (used by shortest-job-first).
    pub estimate: Option<Span>,
    /// The task groups; a job has at least one task.
    pub groups: Vec<TaskGroup>,
}

impl JobSpec {
    /// Number of tasks over all groups.
    pub fn task_count(&self) -> u64 {
        self.groups.iter().map(|g| u64::from(g.count)).sum()
    }

    /// Number of GPU devices over all tasks (shared devices count as one).
    pub fn gpu_count(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| u64::from(g.count) * u64::from(g.request.gpus))
            .sum()
    }
}
