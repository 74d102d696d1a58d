//! Builders for nodes, jobs and clusters, and a recording harness: for tests, examples and drivers.

use std::fmt::Write as _;

use crate::decision::Decision;
use crate::model::GpuModel;
use crate::scheduler::{Config, Scheduler};
use crate::spec::{
    Elastic, GpuHealth, GpuSpec, JobId, JobSpec, Location, NodeId, NodeSpec, NodeState, TaskGroup, TaskRequest,
    Topology, WHOLE_GPU,
};
use crate::time::{Span, Time};

fn model(name: &str) -> GpuModel {
    GpuModel::new(name).unwrap_or_else(|e| panic!("builder given a bad GPU model: {e}"))
}

/// Builds a [`NodeSpec`]. Defaults: 64 cores, 256 GiB, no GPUs, schedulable.
#[derive(Clone, Debug)]
pub struct NodeBuilder {
    spec: NodeSpec,
}

impl NodeBuilder {
    /// A node called `name`.
    pub fn new(name: impl Into<String>) -> NodeBuilder {
        NodeBuilder {
            spec: NodeSpec {
                name: name.into(),
                labels: Default::default(),
                location: Location::default(),
                cpu_milli: 64_000,
                memory_mib: 256 * 1024,
                gpus: Vec::new(),
                state: NodeState::Schedulable,
            },
        }
    }
    /// Milli-CPU.
    pub fn cpu(mut self, milli: u64) -> Self {
        self.spec.cpu_milli = milli;
        self
    }
    /// Memory in MiB.
    pub fn mem(mut self, mib: u64) -> Self {
        self.spec.memory_mib = mib;
        self
    }
    /// `count` GPUs of `model` (`vendor/name`), 32 GiB each. Panics on a malformed model name.
    pub fn gpus(mut self, count: usize, model_name: &str) -> Self {
        let m = model(model_name);
        self.spec.gpus = (0..count)
            .map(|_| GpuSpec {
                model: m.clone(),
                memory_mib: 32 * 1024,
                health: GpuHealth::Healthy,
            })
            .collect();
        self
    }
    /// Zone and rack.
    pub fn location(mut self, zone: &str, rack: &str) -> Self {
        self.spec.location = Location {
            zone: zone.into(),
            rack: rack.into(),
        };
        self
    }
    /// A label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.spec.labels.insert(key.into(), value.into());
        self
    }
    /// Initial state.
    pub fn state(mut self, state: NodeState) -> Self {
        self.spec.state = state;
        self
    }
    /// The node description.
    pub fn build(self) -> NodeSpec {
        self.spec
    }
}

/// Builds a [`JobSpec`] group by group. Defaults: queue `default`, priority 0, one task of 1 core and 1 GiB.
#[derive(Clone, Debug)]
pub struct JobBuilder {
    spec: JobSpec,
}

impl JobBuilder {
    /// Job `id` with one group of one task.
    pub fn new(id: u64) -> JobBuilder {
        JobBuilder {
            spec: JobSpec {
                id: JobId(id),
                queue: "default".into(),
                priority: 0,
                estimate: None,
                groups: vec![Self::default_group("task")],
            },
        }
    }

    fn default_group(name: &str) -> TaskGroup {
        TaskGroup {
            name: name.into(),
            count: 1,
            request: TaskRequest {
                cpu_milli: 1000,
                memory_mib: 1024,
                gpus: 0,
                gpu_milli: 0,
                models: Vec::new(),
            },
            elastic: None,
            topology: Topology::Any,
        }
    }

    fn group_mut(&mut self) -> &mut TaskGroup {
        self.spec.groups.last_mut().expect("a builder job has a group")
    }

    /// Queue (tenant).
    pub fn queue(mut self, q: &str) -> Self {
        self.spec.queue = q.into();
        self
    }
    /// Priority.
    pub fn priority(mut self, p: i32) -> Self {
        self.spec.priority = p;
        self
    }
    /// Runtime estimate in seconds.
    pub fn estimate_secs(mut self, s: u64) -> Self {
        self.spec.estimate = Some(Span::from_secs(s));
        self
    }
    /// Starts a new task group (one task of 1 core and 1 GiB) named `name`.
    pub fn group(mut self, name: &str) -> Self {
        self.spec.groups.push(Self::default_group(name));
        self
    }
    /// Number of tasks in the current group.
    pub fn tasks(mut self, n: u32) -> Self {
        self.group_mut().count = n;
        self
    }
    /// Milli-CPU per task.
    pub fn cpu(mut self, milli: u64) -> Self {
        self.group_mut().request.cpu_milli = milli;
        self
    }
    /// MiB per task.
    pub fn mem(mut self, mib: u64) -> Self {
        self.group_mut().request.memory_mib = mib;
        self
    }
    /// Whole GPUs per task.
    pub fn gpus(mut self, n: u32) -> Self {
        let r = &mut self.group_mut().request;
        r.gpus = n;
        r.gpu_milli = if n > 0 { WHOLE_GPU } else { 0 };
        self
    }
    /// One shared GPU of `milli` milli-GPU per task.
    pub fn share(mut self, milli: u32) -> Self {
        let r = &mut self.group_mut().request;
        r.gpus = 1;
        r.gpu_milli = milli;
        self
    }
    /// Raw GPU fields, unchecked (for testing validation).
    pub fn raw_gpu(mut self, gpus: u32, milli: u32) -> Self {
        let r = &mut self.group_mut().request;
        r.gpus = gpus;
        r.gpu_milli = milli;
        self
    }
    /// Allowed GPU models ("A or B"). Panics on a malformed model name.
    pub fn models(mut self, names: &[&str]) -> Self {
        self.group_mut().request.models = names.iter().map(|n| model(n)).collect();
        self
    }
    /// Elastic bounds of the current group.
    pub fn elastic(mut self, min: u32, max: u32) -> Self {
        self.group_mut().elastic = Some(Elastic { min, max });
        self
    }
    /// The job description.
    pub fn build(self) -> JobSpec {
        self.spec
    }
}

/// A scheduler under test plus a log of every decision it made, rendered one per line.
#[derive(Debug)]
pub struct Harness {
    /// The scheduler.
    pub sched: Scheduler,
    /// The current time handed to `handle_*`.
    pub now: Time,
    /// Every decision, in order.
    pub decisions: Vec<Decision>,
}

impl Harness {
    /// A harness around `Scheduler::new(config)`.
    pub fn new(config: Config) -> Harness {
        Harness::with(Scheduler::new(config))
    }

    /// A harness around an existing scheduler.
    pub fn with(sched: Scheduler) -> Harness {
        Harness {
            sched,
            now: Time::ZERO,
            decisions: Vec::new(),
        }
    }

    /// Adds `count` copies of a node, named `{prefix}{i}`.
    pub fn nodes(&mut self, count: usize, prefix: &str, node: NodeBuilder) -> Vec<NodeId> {
        (0..count)
            .map(|i| {
                let mut spec = node.clone().build();
                spec.name = format!("{prefix}{i}");
                self.sched.handle_node_added(self.now, spec).expect("valid test node")
            })
            .collect()
    }

    /// Sets the time.
    pub fn at(&mut self, secs: u64) -> &mut Self {
        self.now = Time::from_secs(secs);
        self
    }

    /// Submits a job (panics on a duplicate id).
    pub fn submit(&mut self, job: JobBuilder) -> &mut Self {
        self.sched.handle_submit(self.now, job.build()).expect("unique job id");
        self
    }

    /// Drains the scheduler's decisions into the log and returns the new ones rendered one per line.
    pub fn step(&mut self) -> String {
        let mut text = String::new();
        while let Some(d) = self.sched.poll_decision() {
            let _ = writeln!(text, "{d}");
            self.decisions.push(d);
        }
        text
    }
}
