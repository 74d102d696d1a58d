//! # phalanx-core
//!
//! Phalanx's scheduling core: it bin-packs heterogeneous GPU and CPU jobs onto a cluster, starting each
//! job's gang of tasks whole or not at all.
//!
//! This crate has no networking, no files, no threads and no clock: it is a deterministic state machine.
//! Drivers feed it events through `handle_*` methods that carry the current [`Time`], and take out
//! [`Decision`]s with [`Scheduler::poll_decision`]. The simulator and the node agent are two such drivers.
//!
//! Resources are integers: CPU in milli-cores, memory in MiB, GPU in milli-GPU (1000 = a whole device).
//!
//! ```
//! use phalanx_core::builders::{JobBuilder, NodeBuilder};
//! use phalanx_core::{Config, Decision, Scheduler, Time};
//!
//! let mut s = Scheduler::new(Config::default());
//! s.handle_node_added(Time::ZERO, NodeBuilder::new("a").gpus(8, "nvidia/V100").build()).unwrap();
//! s.handle_submit(Time::ZERO, JobBuilder::new(1).gpus(2).build()).unwrap();
//! let d = s.poll_decision().unwrap();
//! assert_eq!(d.to_string(), "start job1 0.0@n0[0,1]");
//! ```

pub mod builders;
mod cluster;
mod decision;
pub mod fgd;
pub mod hint;
mod index;
mod jobs;
mod model;
pub mod policy;
pub mod rng;
mod scheduler;
mod spec;
mod time;
mod view;

pub use cluster::{Demand, FitKey, NodeError, NodeTask};
pub use decision::{
    Decision, DeviceSet, Placements, RejectReason, Resource, StopReason, TaskPlacement, MAX_GPUS_PER_NODE,
};
pub use model::{GpuModel, GpuModelError, GpuModels, ModelId, ModelSet, TooManyModels, MAX_GPU_MODELS};
pub use policy::{
    most_room, BestFit, Choice, Consolidate, Fifo, FirstFit, OrderKey, Placement, PlacementPolicy, Plan, Priority,
    QueueOrder, QueuePolicy, ShortestFirst, ShortestRemaining, WorstFit,
};
pub use scheduler::{
    CheckpointCost, Config, HeadOfLine, JobError, JobInfo, JobStatus, Prepared, Scheduler, Stats, HINT_STAGES,
};
pub use spec::{
    Elastic, GpuHealth, GpuSpec, JobId, JobSpec, Location, NodeId, NodeSpec, NodeState, TaskGroup, TaskRequest,
    Topology, WHOLE_GPU,
};
pub use time::{Span, Time};
pub use view::{ClusterView, GpuView, JobView, NodeView};
