//! The simulator's one internal job model: every trace reader produces a [`Workload`].
//!
//! A workload is a list of jobs sorted by submission time (stable: jobs submitted in the same instant keep
//! their order in the source file). Each job refers to a deduplicated task-group list (`shape`), so a trace
//! of a million jobs costs a few dozen bytes per job.

use std::path::PathBuf;

use phalanx_core::{JobId, JobSpec, Span, TaskGroup, Time};

/// One job of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceJob {
    /// When it is submitted.
    pub submit: Time,
    /// How long it runs once started (its true running time; the scheduler may only see `estimate`).
    pub duration: Span,
    /// Index into [`Workload::queues`] (queue, tenant or virtual cluster).
    pub queue: u32,
    /// Priority (larger first under the priority order).
    pub priority: i32,
    /// The runtime estimate the scheduler sees, if any.
    pub estimate: Option<Span>,
    /// Index into [`Workload::shapes`]: the job's task groups.
    pub shape: u32,
    /// 1-based line of the job in its source file (0 for generated jobs), for messages about it.
    pub line: u32,
}

/// A whole trace, ready to replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// A short name (the source file's stem, or the generator's).
    pub name: String,
    /// Where it came from (empty for generated workloads).
    pub source: PathBuf,
    /// Queue names, indexed by [`TraceJob::queue`].
    pub queues: Vec<String>,
    /// Distinct task-group lists, indexed by [`TraceJob::shape`].
    pub shapes: Vec<Vec<TaskGroup>>,
    /// The jobs, sorted by submission time (stable).
    pub jobs: Vec<TraceJob>,
}

impl Workload {
    /// An empty workload called `name` from `source`.
    pub fn new(name: impl Into<String>, source: impl Into<PathBuf>) -> Workload {
        Workload {
            name: name.into(),
            source: source.into(),
            ..Workload::default()
        }
    }

    /// The index of queue `name`, adding it if new.
    pub fn queue_index(&mut self, name: &str) -> u32 {
        match self.queues.iter().position(|q| q == name) {
            Some(i) => i as u32,
            None => {
                self.queues.push(name.to_owned());
                (self.queues.len() - 1) as u32
            }
        }
    }

    /// The index of `groups` among the shapes, adding it if new. Linear in the number of distinct shapes,
    /// which real traces keep small; readers with many distinct shapes should memoise by their own key.
    pub fn shape_index(&mut self, groups: Vec<TaskGroup>) -> u32 {
        match self.shapes.iter().position(|s| *s == groups) {
            Some(i) => i as u32,
            None => {
                self.shapes.push(groups);
                (self.shapes.len() - 1) as u32
            }
        }
    }

    /// Sorts the jobs by submission time, keeping file order among equal times.
    pub fn sort_by_submit(&mut self) {
        self.jobs.sort_by_key(|j| j.submit);
    }

    /// The job at `index` as the core's [`JobSpec`], with id `index`.
    pub fn spec(&self, index: usize) -> JobSpec {
        let j = &self.jobs[index];
        JobSpec {
            id: JobId(index as u64),
            queue: self.queues[j.queue as usize].clone(),
            priority: j.priority,
            estimate: j.estimate,
            groups: self.shapes[j.shape as usize].clone(),
        }
    }

    /// GPU devices the job at `index` asks for (a shared GPU counts as one).
    pub fn gpus(&self, index: usize) -> u64 {
        self.shape_gpus(self.jobs[index].shape as usize)
    }

    /// GPU devices a job of shape `shape` asks for (a shared GPU counts as one).
    pub fn shape_gpus(&self, shape: usize) -> u64 {
        self.shapes[shape]
            .iter()
            .map(|g| u64::from(g.count) * u64::from(g.request.gpus))
            .sum()
    }

    /// Where the job at `index` came from, as `file:line` (or the workload name for generated jobs).
    pub fn origin(&self, index: usize) -> String {
        match self.jobs[index].line {
            0 => format!("{} job {index}", self.name),
            line => format!("{}:{line}", self.source.display()),
        }
    }
}
