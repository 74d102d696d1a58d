//! Policies written in Python: the core calls them during a simulation, taking the GIL for each call.
//!
//! - [`PyQueue`] is a [`QueuePolicy`]: `key(job) -> number | (number, number)`, smaller first (ties keep
//!   submission order). Numbers are compared as floats.
//! - [`PyScore`] is a [`PlacementPolicy`]: `score(demand, node) -> number` for every schedulable node with
//!   room for the tasks; the highest score wins, ties to the lowest node id; `-inf` means "not this node".
//!
//! The core's traits cannot fail, so the first exception a function raises (or a bad return value) is kept;
//! from then on the policy stops calling Python (no job is ordered first, no node is chosen), the
//! simulation runs out quickly, and the caller re-raises the exception.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use phalanx_core::{Choice, ClusterView, Demand, JobView, NodeView, OrderKey, PlacementPolicy, QueuePolicy};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// A waiting or running job, as a Python key function sees it. Times in seconds.
#[pyclass(module = "phalanx._native", frozen, get_all)]
pub struct JobInfo {
    /// The job's id: its index in the trace.
    pub id: u64,
    /// Its queue (virtual cluster, tenant).
    pub queue: String,
    /// Its priority.
    pub priority: i32,
    /// When it was submitted.
    pub submit_s: f64,
    /// Its runtime estimate, if any.
    pub estimate_s: Option<f64>,
    /// GPU devices over all its tasks.
    pub gpus: u64,
    /// Tasks over all its groups.
    pub tasks: u64,
    /// Whether it is running (only preemptive policies see running jobs).
    pub running: bool,
    /// Running time so far.
    pub service_s: f64,
    /// Estimated remaining running time (estimate + checkpoint overhead − service), if it has an estimate.
    pub remaining_s: Option<f64>,
}

impl JobInfo {
    fn new(j: &JobView<'_>) -> JobInfo {
        JobInfo {
            id: j.id.0,
            queue: j.queue.to_owned(),
            priority: j.priority,
            submit_s: secs(j.submitted.as_millis()),
            estimate_s: j.estimate.map(|e| secs(e.as_millis())),
            gpus: j.gpus(),
            tasks: j.tasks(),
            running: j.running,
            service_s: secs(j.service.as_millis()),
            remaining_s: j.remaining().map(|r| secs(r.as_millis())),
        }
    }
}

#[pymethods]
impl JobInfo {
    fn __repr__(&self) -> String {
        format!(
            "JobInfo(id={}, queue={:?}, gpus={}, tasks={}, submit_s={}, estimate_s={:?})",
            self.id, self.queue, self.gpus, self.tasks, self.submit_s, self.estimate_s
        )
    }
}

/// What each task of a group asks for, as a Python scoring function sees it.
#[pyclass(module = "phalanx._native", frozen, get_all)]
pub struct DemandInfo {
    /// Tasks to place on one node at once.
    pub tasks: u32,
    /// GPU devices per task.
    pub gpus: u32,
    /// Milli-GPU per device (1000: whole devices).
    pub gpu_milli: u32,
    /// Milli-CPU per task.
    pub cpu_milli: u64,
    /// MiB per task.
    pub memory_mib: u64,
}

#[pymethods]
impl DemandInfo {
    fn __repr__(&self) -> String {
        format!(
            "DemandInfo(tasks={}, gpus={}, gpu_milli={}, cpu_milli={}, memory_mib={})",
            self.tasks, self.gpus, self.gpu_milli, self.cpu_milli, self.memory_mib
        )
    }
}

/// A node with room for the tasks, as a Python scoring function sees it.
#[pyclass(module = "phalanx._native", frozen, get_all)]
pub struct NodeInfo {
    /// The node's id (its index in the cluster).
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its GPU model (`None` for CPU-only nodes).
    pub model: Option<String>,
    /// GPU devices.
    pub gpus: u32,
    /// Healthy devices wholly free.
    pub free_gpus: u32,
    /// Free milli-GPU over healthy devices.
    pub free_gpu_milli: u64,
    /// Allocatable milli-CPU.
    pub cpu_milli: u64,
    /// Free milli-CPU.
    pub free_cpu_milli: u64,
    /// Allocatable MiB.
    pub memory_mib: u64,
    /// Free MiB.
    pub free_memory_mib: u64,
    /// Tasks running on it.
    pub running_tasks: usize,
}

impl NodeInfo {
    fn new(view: &ClusterView<'_>, n: &NodeView<'_>) -> NodeInfo {
        NodeInfo {
            id: n.id().0,
            name: n.name().to_owned(),
            model: n.model().map(|m| view.models().name(m).as_str().to_owned()),
            gpus: n.gpu_count(),
            free_gpus: n.free_whole_gpus(),
            free_gpu_milli: n.free_gpu_milli(),
            cpu_milli: n.cpu_total(),
            free_cpu_milli: n.cpu_free(),
            memory_mib: n.memory_total(),
            free_memory_mib: n.memory_free(),
            running_tasks: n.tasks().len(),
        }
    }
}

#[pymethods]
impl NodeInfo {
    fn __repr__(&self) -> String {
        format!(
            "NodeInfo(id={}, name={:?}, model={:?}, gpus={}, free_gpus={})",
            self.id, self.name, self.model, self.gpus, self.free_gpus
        )
    }
}

/// A float mapped to an `i64` with the same order (negative floats flip their magnitude bits).
fn ordered(f: f64) -> i64 {
    let bits = f.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

fn number(v: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    let f: f64 = v.extract().map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must return a number or a tuple of two numbers, got {v}"
        ))
    })?;
    if f.is_nan() {
        return Err(PyValueError::new_err(format!("{what} returned NaN")));
    }
    Ok(f)
}

/// Counts and the first error of a Python policy.
#[derive(Default)]
pub struct Calls {
    /// Calls into Python.
    pub calls: Cell<u64>,
    /// The first exception.
    pub error: RefCell<Option<PyErr>>,
}

impl Calls {
    fn failed(&self) -> bool {
        self.error.borrow().is_some()
    }
    fn fail(&self, e: PyErr) {
        self.error.borrow_mut().get_or_insert(e);
    }
}

/// A queue order given by a Python key function.
pub struct PyQueue {
    key: Py<PyAny>,
    preemptive: bool,
    calls: Rc<Calls>,
}

impl PyQueue {
    /// A queue policy calling `key`.
    pub fn new(key: Py<PyAny>, preemptive: bool, calls: Rc<Calls>) -> PyQueue {
        PyQueue { key, preemptive, calls }
    }
}

impl QueuePolicy for PyQueue {
    fn name(&self) -> &str {
        "python"
    }

    fn key(&self, job: &JobView<'_>) -> OrderKey {
        if self.calls.failed() {
            return OrderKey(i64::MAX, i64::MAX);
        }
        self.calls.calls.set(self.calls.calls.get() + 1);
        Python::attach(|py| {
            let v = self.key.call1(py, (JobInfo::new(job),))?;
            let v = v.bind(py);
            match v.cast::<PyTuple>() {
                Ok(t) if t.len() == 2 => Ok(OrderKey(
                    ordered(number(&t.get_item(0)?, "key")?),
                    ordered(number(&t.get_item(1)?, "key")?),
                )),
                Ok(t) if t.len() == 1 => Ok(OrderKey(ordered(number(&t.get_item(0)?, "key")?), 0)),
                Ok(_) => Err(PyValueError::new_err(format!(
                    "key must return a number or a tuple of two numbers, got {v}"
                ))),
                Err(_) => Ok(OrderKey(ordered(number(v, "key")?), 0)),
            }
        })
        .unwrap_or_else(|e| {
            self.calls.fail(e);
            OrderKey(i64::MAX, i64::MAX)
        })
    }

    fn preemptive(&self) -> bool {
        self.preemptive
    }
}

/// A placement policy given by a Python node-scoring function.
pub struct PyScore {
    score: Py<PyAny>,
    calls: Rc<Calls>,
}

impl PyScore {
    /// A placement policy calling `score`.
    pub fn new(score: Py<PyAny>, calls: Rc<Calls>) -> PyScore {
        PyScore { score, calls }
    }
}

impl PlacementPolicy for PyScore {
    fn name(&self) -> &str {
        "python"
    }

    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        if self.calls.failed() {
            return None;
        }
        let chosen = Python::attach(|py| -> PyResult<Option<Choice>> {
            let d = Py::new(
                py,
                DemandInfo {
                    tasks,
                    gpus: demand.gpus,
                    gpu_milli: demand.gpu_milli,
                    cpu_milli: demand.cpu_milli,
                    memory_mib: demand.memory_mib,
                },
            )?;
            let mut best: Option<(f64, Choice)> = None;
            for n in view.schedulable_nodes().filter(|n| n.has_room(demand, tasks)) {
                self.calls.calls.set(self.calls.calls.get() + 1);
                let s = self.score.call1(py, (d.clone_ref(py), NodeInfo::new(view, &n)))?;
                let s = number(s.bind(py), "score")?;
                if s > f64::NEG_INFINITY && best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, Choice::node(n.id())));
                }
            }
            Ok(best.map(|(_, c)| c))
        });
        chosen.unwrap_or_else(|e| {
            self.calls.fail(e);
            None
        })
    }
}
