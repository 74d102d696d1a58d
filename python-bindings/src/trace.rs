//! `Trace` (a [`Workload`]) and `Cluster` (node specs): read from files, or built from columns that the
//! Python package takes from pandas DataFrames.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use phalanx_core::{GpuModel, GpuSpec, NodeSpec, Span, TaskGroup, TaskRequest, Time, Topology};
use phalanx_sim::experiment::{self, ClusterConfig, EstimatesConfig, TraceConfig, TraceFormat};
use phalanx_sim::workload::{TraceJob, Workload};
use pyo3::prelude::*;

use crate::arrow::{Batch, Columns};
use crate::error::{arg, Error, Result};

/// Seconds (finite, ≥ 0) to milliseconds, or what is wrong.
pub fn millis(field: &str, row: usize, secs: f64) -> Result<u64> {
    if secs.is_finite() && secs >= 0.0 && secs * 1000.0 < u64::MAX as f64 {
        Ok((secs * 1000.0).round() as u64)
    } else {
        Err(arg(
            field,
            format!("row {row}: expected a finite number of seconds ≥ 0, found {secs}"),
        ))
    }
}

fn uint<T: TryFrom<i64> + Into<u64> + Bounded>(field: &str, row: usize, v: i64) -> Result<T> {
    T::try_from(v).map_err(|_| {
        arg(
            field,
            format!(
                "row {row}: expected a whole number from 0 to {}, found {v}",
                T::MAX.into()
            ),
        )
    })
}

/// Unsigned integers with a largest value.
trait Bounded: Sized {
    const MAX: Self;
}

impl Bounded for u32 {
    const MAX: u32 = u32::MAX;
}

impl Bounded for u64 {
    const MAX: u64 = u64::MAX;
}

fn models(field: &str, row: usize, text: &str) -> Result<Vec<GpuModel>> {
    text.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| GpuModel::new(s).map_err(|e| arg(field, format!("row {row}: {e}"))))
        .collect()
}

fn check_len(field: &str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        Ok(())
    } else {
        Err(arg(
            field,
            format!("has {len} values, expected {expected} (one per row)"),
        ))
    }
}

/// A job in a pickled trace: (submit ms, duration ms, queue, priority, estimate ms, shape, line).
type JobState = (u64, u64, u32, i32, Option<u64>, u32, u32);

/// The jobs of a trace, sorted by submission time (stable).
#[pyclass(module = "phalanx._native", frozen)]
pub struct Trace {
    pub(crate) workload: Arc<Workload>,
    /// What the reader left out on purpose, if anything.
    #[pyo3(get)]
    report: Option<String>,
}

impl Trace {
    pub(crate) fn new(workload: Workload) -> Trace {
        Trace {
            workload: Arc::new(workload),
            report: None,
        }
    }
}

/// Reads a trace (or generates one, `format="synthetic"`) as the command line's `--format` does.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path, format, estimates, vcs, profiles, jobs, seed, jobs_per_hour))]
pub fn read_trace(
    py: Python<'_>,
    path: PathBuf,
    format: &str,
    estimates: &str,
    vcs: Option<PathBuf>,
    profiles: Option<PathBuf>,
    jobs: Option<usize>,
    seed: Option<u64>,
    jobs_per_hour: Option<f64>,
) -> Result<Trace> {
    let format: TraceFormat = serde_json::from_value(serde_json::Value::from(format)).map_err(|_| {
        arg(
            "format",
            format!("unknown format `{format}` (expected philly, helios, itp, openb, pollux, native or synthetic)"),
        )
    })?;
    let estimates = match estimates {
        "none" => EstimatesConfig::None,
        "oracle" => EstimatesConfig::Oracle,
        e => {
            return Err(arg(
                "estimates",
                format!("unknown estimates `{e}` (expected none or oracle)"),
            ))
        }
    };
    let mut config = TraceConfig::new(format, path);
    config.estimates = estimates;
    config.vcs = vcs;
    config.profiles = profiles;
    config.jobs = jobs;
    config.seed = seed;
    config.jobs_per_hour = jobs_per_hour;
    let (workload, report) = py.detach(|| experiment::load_trace("trace", &config))?;
    Ok(Trace {
        workload: Arc::new(workload),
        report,
    })
}

#[pymethods]
impl Trace {
    /// A trace from one value per job in each column (the Python package checks names and fills defaults).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (name, submit_s, duration_s, tasks, gpus, gpu_milli, cpu_milli, memory_mib, gpu_model, queue, priority, estimate_s))]
    fn from_columns(
        name: String,
        submit_s: Vec<f64>,
        duration_s: Vec<f64>,
        tasks: Vec<i64>,
        gpus: Vec<i64>,
        gpu_milli: Vec<i64>,
        cpu_milli: Vec<i64>,
        memory_mib: Vec<i64>,
        gpu_model: Vec<String>,
        queue: Vec<String>,
        priority: Vec<i64>,
        estimate_s: Vec<f64>,
    ) -> Result<Trace> {
        let n = submit_s.len();
        check_len("duration_s", duration_s.len(), n)?;
        check_len("tasks", tasks.len(), n)?;
        check_len("gpus", gpus.len(), n)?;
        check_len("gpu_milli", gpu_milli.len(), n)?;
        check_len("cpu_milli", cpu_milli.len(), n)?;
        check_len("memory_mib", memory_mib.len(), n)?;
        check_len("gpu_model", gpu_model.len(), n)?;
        check_len("queue", queue.len(), n)?;
        check_len("priority", priority.len(), n)?;
        check_len("estimate_s", estimate_s.len(), n)?;
        let mut w = Workload::new(name, "");
        let mut queues: BTreeMap<&str, u32> = BTreeMap::new();
        let mut shapes: BTreeMap<(u32, u32, u32, u64, u64, &str), u32> = BTreeMap::new();
        for row in 0..n {
            let count: u32 = uint("tasks", row, tasks[row])?;
            let request = TaskRequest {
                cpu_milli: uint("cpu_milli", row, cpu_milli[row])?,
                memory_mib: uint("memory_mib", row, memory_mib[row])?,
                gpus: uint("gpus", row, gpus[row])?,
                gpu_milli: uint("gpu_milli", row, gpu_milli[row])?,
                models: models("gpu_model", row, &gpu_model[row])?,
            };
            let key = (
                count,
                request.gpus,
                request.gpu_milli,
                request.cpu_milli,
                request.memory_mib,
                gpu_model[row].as_str(),
            );
            let shape = match shapes.get(&key) {
                Some(&s) => s,
                None => {
                    w.shapes.push(vec![TaskGroup {
                        name: "main".into(),
                        count,
                        request,
                        elastic: None,
                        topology: Topology::Any,
                    }]);
                    let s = (w.shapes.len() - 1) as u32;
                    shapes.insert(key, s);
                    s
                }
            };
            let estimate = if estimate_s[row].is_nan() {
                None
            } else {
                Some(Span(millis("estimate_s", row, estimate_s[row])?))
            };
            let q = match queues.get(queue[row].as_str()) {
                Some(&q) => q,
                None => {
                    let q = w.queue_index(&queue[row]);
                    queues.insert(&queue[row], q);
                    q
                }
            };
            w.jobs.push(TraceJob {
                submit: Time(millis("submit_s", row, submit_s[row])?),
                duration: Span(millis("duration_s", row, duration_s[row])?),
                queue: q,
                priority: i32::try_from(priority[row])
                    .map_err(|_| arg("priority", format!("row {row}: out of range: {}", priority[row])))?,
                estimate,
                shape,
                line: 0,
            });
        }
        w.sort_by_submit();
        Ok(Trace::new(w))
    }

    /// Jobs.
    fn __len__(&self) -> usize {
        self.workload.jobs.len()
    }

    /// The trace's name.
    #[getter]
    fn name(&self) -> &str {
        &self.workload.name
    }

    /// The file it was read from (empty for built traces).
    #[getter]
    fn source(&self) -> PathBuf {
        self.workload.source.clone()
    }

    /// The jobs at `indices` (ascending, each < len), as a new trace.
    fn take(&self, indices: Vec<usize>) -> Result<Trace> {
        let w = &self.workload;
        if let Some(pair) = indices.windows(2).find(|p| p[0] >= p[1]) {
            return Err(arg(
                "indices",
                format!("expected ascending indices, found {} then {}", pair[0], pair[1]),
            ));
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= w.jobs.len()) {
            return Err(arg("indices", format!("{i} is out of range for {} jobs", w.jobs.len())));
        }
        Ok(Trace::new(Workload {
            name: w.name.clone(),
            source: w.source.clone(),
            queues: w.queues.clone(),
            shapes: w.shapes.clone(),
            jobs: indices.iter().map(|&i| w.jobs[i].clone()).collect(),
        }))
    }

    /// One row per job: job, origin, queue, priority, submit_s, duration_s, estimate_s, tasks, gpus.
    fn to_batch(&self, py: Python<'_>) -> Batch {
        let w = &*self.workload;
        py.detach(|| {
            let secs = |ms: u64| ms as f64 / 1000.0;
            Columns::default()
                .u64("job", (0..w.jobs.len() as u64).collect())
                .str("origin", (0..w.jobs.len()).map(|i| w.origin(i)))
                .str("queue", w.jobs.iter().map(|j| &w.queues[j.queue as usize]))
                .f64("priority", w.jobs.iter().map(|j| f64::from(j.priority)).collect())
                .f64("submit_s", w.jobs.iter().map(|j| secs(j.submit.as_millis())).collect())
                .f64(
                    "duration_s",
                    w.jobs.iter().map(|j| secs(j.duration.as_millis())).collect(),
                )
                .opt_f64(
                    "estimate_s",
                    w.jobs.iter().map(|j| j.estimate.map(|e| secs(e.as_millis()))).collect(),
                )
                .u64(
                    "tasks",
                    w.jobs
                        .iter()
                        .map(|j| w.shapes[j.shape as usize].iter().map(|g| u64::from(g.count)).sum())
                        .collect(),
                )
                .u64("gpus", (0..w.jobs.len()).map(|i| w.gpus(i)).collect())
                .finish()
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Trace(name={:?}, jobs={})",
            self.workload.name,
            self.workload.jobs.len()
        )
    }

    /// Pickling: the whole workload as JSON.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let w = &*self.workload;
        let jobs: Vec<_> = w
            .jobs
            .iter()
            .map(|j| {
                (
                    j.submit.as_millis(),
                    j.duration.as_millis(),
                    j.queue,
                    j.priority,
                    j.estimate.map(|e| e.as_millis()),
                    j.shape,
                    j.line,
                )
            })
            .collect();
        let state = serde_json::json!({
            "name": w.name, "source": w.source, "queues": w.queues, "shapes": w.shapes, "jobs": jobs,
        });
        Ok((py.get_type::<Trace>().getattr("_from_state")?, (state.to_string(),)))
    }

    /// Unpickling.
    #[staticmethod]
    fn _from_state(state: &str) -> Result<Trace> {
        #[derive(serde::Deserialize)]
        struct State {
            name: String,
            source: PathBuf,
            queues: Vec<String>,
            shapes: Vec<Vec<TaskGroup>>,
            jobs: Vec<JobState>,
        }
        let s: State = serde_json::from_str(state).map_err(|e| arg("state", e.to_string()))?;
        let jobs = s
            .jobs
            .into_iter()
            .map(|(submit, duration, queue, priority, estimate, shape, line)| TraceJob {
                submit: Time(submit),
                duration: Span(duration),
                queue,
                priority,
                estimate: estimate.map(Span),
                shape,
                line,
            })
            .collect();
        Ok(Trace::new(Workload {
            name: s.name,
            source: s.source,
            queues: s.queues,
            shapes: s.shapes,
            jobs,
        }))
    }
}

/// The nodes of a cluster; for a per-queue cluster (one Philly virtual cluster per queue) also the nodes
/// of each queue, and a simulation then runs each queue's jobs on its own nodes.
#[pyclass(module = "phalanx._native", frozen)]
pub struct Cluster {
    pub(crate) nodes: Arc<Vec<NodeSpec>>,
    pub(crate) per_queue: Arc<BTreeMap<String, Vec<NodeSpec>>>,
}

impl Cluster {
    pub(crate) fn new(nodes: Vec<NodeSpec>) -> Cluster {
        Cluster {
            nodes: Arc::new(nodes),
            per_queue: Arc::default(),
        }
    }

    fn load(config: ClusterConfig) -> Result<Cluster> {
        let (nodes, per_queue) = experiment::load_cluster("cluster", &config).map_err(Error::from)?;
        Ok(Cluster {
            nodes: Arc::new(nodes),
            per_queue: Arc::new(per_queue),
        })
    }
}

#[pymethods]
impl Cluster {
    /// An Alibaba openb node list (`sn,cpu_milli,memory_mib,gpu,model`).
    #[staticmethod]
    fn from_openb(py: Python<'_>, path: PathBuf) -> Result<Cluster> {
        py.detach(|| {
            Cluster::load(ClusterConfig {
                nodes: Some(path),
                ..ClusterConfig::default()
            })
        })
    }

    /// A compact spec such as `64x8:nvidia/V100,16x4:huawei/Ascend910B`.
    #[staticmethod]
    fn from_spec(spec: String) -> Result<Cluster> {
        Cluster::load(ClusterConfig {
            spec: Some(spec),
            ..ClusterConfig::default()
        })
    }

    /// One cluster of 8-GPU nodes per Philly virtual cluster (`vc,node num`), as the Helios experiment.
    #[staticmethod]
    #[pyo3(signature = (path, gpu_model="nvidia/P100"))]
    fn from_philly_vcs(path: PathBuf, gpu_model: &str) -> Result<Cluster> {
        Cluster::load(ClusterConfig {
            per_queue: Some(path),
            gpu_model: Some(gpu_model.to_owned()),
            ..ClusterConfig::default()
        })
    }

    /// The queues with nodes of their own (empty unless built by `from_philly_vcs`).
    #[getter]
    fn queues(&self) -> Vec<String> {
        self.per_queue.keys().cloned().collect()
    }

    /// A cluster from one value per node in each column.
    #[staticmethod]
    fn from_columns(
        name: Vec<String>,
        gpus: Vec<i64>,
        gpu_model: Vec<String>,
        cpu_milli: Vec<i64>,
        memory_mib: Vec<i64>,
    ) -> Result<Cluster> {
        let n = name.len();
        check_len("gpus", gpus.len(), n)?;
        check_len("gpu_model", gpu_model.len(), n)?;
        check_len("cpu_milli", cpu_milli.len(), n)?;
        check_len("memory_mib", memory_mib.len(), n)?;
        let mut nodes = Vec::with_capacity(n);
        for row in 0..n {
            let count: u32 = uint("gpus", row, gpus[row])?;
            let model = match (count, gpu_model[row].trim()) {
                (0, _) => None,
                (_, "") => return Err(arg("gpu_model", format!("row {row}: a node with GPUs needs a model"))),
                (_, m) => Some(GpuModel::new(m).map_err(|e| arg("gpu_model", format!("row {row}: {e}")))?),
            };
            nodes.push(NodeSpec {
                name: name[row].clone(),
                labels: BTreeMap::new(),
                location: Default::default(),
                cpu_milli: uint("cpu_milli", row, cpu_milli[row])?,
                memory_mib: uint("memory_mib", row, memory_mib[row])?,
                gpus: model.map_or_else(Vec::new, |model| {
                    (0..count)
                        .map(|_| GpuSpec {
                            model: model.clone(),
                            memory_mib: 0,
                            health: Default::default(),
                        })
                        .collect()
                }),
                state: Default::default(),
            });
        }
        Ok(Cluster::new(nodes))
    }

    /// Nodes.
    fn __len__(&self) -> usize {
        self.nodes.len()
    }

    /// GPU devices over all nodes.
    #[getter]
    fn gpus(&self) -> u64 {
        self.nodes.iter().map(|n| n.gpus.len() as u64).sum()
    }

    /// One row per node: node, name, gpus, gpu_model, cpu_milli, memory_mib.
    fn to_batch(&self) -> Batch {
        let nodes = &*self.nodes;
        Columns::default()
            .u64("node", (0..nodes.len() as u64).collect())
            .str("name", nodes.iter().map(|n| &n.name))
            .u64("gpus", nodes.iter().map(|n| n.gpus.len() as u64).collect())
            .str(
                "gpu_model",
                nodes.iter().map(|n| n.gpus.first().map_or("", |g| g.model.as_str())),
            )
            .u64("cpu_milli", nodes.iter().map(|n| n.cpu_milli).collect())
            .u64("memory_mib", nodes.iter().map(|n| n.memory_mib).collect())
            .finish()
    }

    fn __repr__(&self) -> String {
        if self.per_queue.is_empty() {
            format!("Cluster(nodes={}, gpus={})", self.nodes.len(), self.gpus())
        } else {
            format!(
                "Cluster(nodes={}, gpus={}, queues={})",
                self.nodes.len(),
                self.gpus(),
                self.per_queue.len()
            )
        }
    }

    /// Pickling: the node specs as JSON.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let state = serde_json::to_string(&(&*self.nodes, &*self.per_queue)).expect("node specs serialise");
        Ok((py.get_type::<Cluster>().getattr("_from_state")?, (state,)))
    }

    /// Unpickling.
    #[staticmethod]
    fn _from_state(state: &str) -> Result<Cluster> {
        let (nodes, per_queue) = serde_json::from_str(state).map_err(|e| arg("state", e.to_string()))?;
        Ok(Cluster {
            nodes: Arc::new(nodes),
            per_queue: Arc::new(per_queue),
        })
    }
}
