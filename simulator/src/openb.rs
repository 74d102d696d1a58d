//! The Alibaba GPU cluster trace v2023 ("openb"): node lists and pod lists.
//!
//! - Node lists `sn,cpu_milli,memory_mib,gpu,model`: one node a row; `model` is empty for CPU-only nodes.
//! - Pod lists `name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time]`.
//!
//! GPU model codes map to Phalanx models with [`openb_model`]: the NVIDIA parts (`T4`, `P100`, `V100M16`,
//! `V100M32`, `A10`) become `nvidia/<code>`; the undisclosed internal codes `G1`..`G3` become `openb/<code>`.

use std::path::Path;

use phalanx_core::{
    GpuHealth, GpuModel, GpuSpec, JobId, JobSpec, Location, NodeSpec, NodeState, TaskGroup, TaskRequest, Topology,
    WHOLE_GPU,
};

use crate::csv::{Csv, Row, TraceError};

/// A node row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenbNode {
    /// `sn`.
    pub name: String,
    /// `cpu_milli`.
    pub cpu_milli: u64,
    /// `memory_mib`.
    pub memory_mib: u64,
    /// `gpu`: number of GPUs.
    pub gpus: u32,
    /// `model`, mapped to a Phalanx model (None for CPU-only nodes).
    pub model: Option<GpuModel>,
}

/// A pod row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenbPod {
    /// `name`.
    pub name: String,
    /// `cpu_milli`.
    pub cpu_milli: u64,
    /// `memory_mib`.
    pub memory_mib: u64,
    /// `num_gpu`.
    pub num_gpu: u32,
    /// `gpu_milli` normalised as the FGD experiment does: 0 for CPU-only pods, at most 1000.
    pub gpu_milli: u32,
    /// `gpu_spec`: allowed models (empty: any).
    pub gpu_spec: Vec<GpuModel>,
    /// `creation_time` in seconds, if the file has it.
    pub creation_time: Option<u64>,
    /// `deletion_time` in seconds, if the file has it.
    pub deletion_time: Option<u64>,
}

impl OpenbPod {
    /// Total milli-GPU of the pod.
    pub fn total_gpu_milli(&self) -> u64 {
        u64::from(self.num_gpu) * u64::from(self.gpu_milli)
    }

    /// The pod as a one-task job with id `id`.
    pub fn to_job(&self, id: u64) -> JobSpec {
        JobSpec {
            id: JobId(id),
            queue: "default".into(),
            priority: 0,
            estimate: None,
            groups: vec![TaskGroup {
                name: self.name.clone(),
                count: 1,
                request: TaskRequest {
                    cpu_milli: self.cpu_milli,
                    memory_mib: self.memory_mib,
                    gpus: self.num_gpu,
                    gpu_milli: self.gpu_milli,
                    models: self.gpu_spec.clone(),
                },
                elastic: None,
                topology: Topology::Any,
            }],
        }
    }
}

impl OpenbNode {
    /// The node as the core describes it (every GPU 16 GiB: the trace does not give device memory).
    pub fn to_spec(&self) -> NodeSpec {
        let gpus = match &self.model {
            Some(m) => (0..self.gpus)
                .map(|_| GpuSpec {
                    model: m.clone(),
                    memory_mib: 16 * 1024,
                    health: GpuHealth::Healthy,
                })
                .collect(),
            None => Vec::new(),
        };
        NodeSpec {
            name: self.name.clone(),
            labels: Default::default(),
            location: Location::default(),
            cpu_milli: self.cpu_milli,
            memory_mib: self.memory_mib,
            gpus,
            state: NodeState::Schedulable,
        }
    }
}

/// Maps an openb GPU code to a Phalanx model: `V100M32` → `nvidia/V100M32`, `G2` → `openb/G2`.
pub fn openb_model(code: &str) -> Option<GpuModel> {
    let vendor = if code.len() == 2 && code.starts_with('G') && code[1..].chars().all(|c| c.is_ascii_digit()) {
        "openb"
    } else {
        "nvidia"
    };
    GpuModel::new(&format!("{vendor}/{code}")).ok()
}

fn model_field(row: &Row<'_>, col: usize, code: &str) -> Result<GpuModel, TraceError> {
    openb_model(code).ok_or_else(|| row.error(col, "a GPU model code such as `V100M32` or `G2`"))
}

/// Reads an openb node list.
pub fn read_nodes(path: &Path) -> Result<Vec<OpenbNode>, TraceError> {
    parse_nodes(Csv::open(path, &NODE_COLUMNS)?)
}

/// Parses an openb node list from text (as if read from `path`).
pub fn parse_nodes_text(path: &Path, text: String) -> Result<Vec<OpenbNode>, TraceError> {
    parse_nodes(Csv::from_text(path, text, &NODE_COLUMNS)?)
}

const NODE_COLUMNS: [&str; 5] = ["sn", "cpu_milli", "memory_mib", "gpu", "model"];
pub(crate) const POD_COLUMNS: [&str; 5] = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"];

fn parse_nodes(csv: Csv) -> Result<Vec<OpenbNode>, TraceError> {
    let [sn, cpu, mem, gpu, model] = NODE_COLUMNS.map(|c| csv.col(c));
    let mut seen = std::collections::BTreeSet::new();
    csv.rows(|row| {
        let name = row.str(sn);
        if name.is_empty() {
            return Err(row.error(sn, "a node name"));
        }
        if !seen.insert(name.to_owned()) {
            return Err(row.error(sn, "a node name not used on an earlier line"));
        }
        let gpus = row.u64(gpu)?;
        let gpus = u32::try_from(gpus)
            .ok()
            .filter(|g| *g as usize <= phalanx_core::MAX_GPUS_PER_NODE)
            .ok_or_else(|| row.error(gpu, "a GPU count of at most 64"))?;
        let code = row.str(model);
        let model = match (gpus, code) {
            (0, "") => None,
            (0, _) => return Err(row.error(model, "an empty model for a node with 0 GPUs")),
            (_, "") => return Err(row.error(model, "a GPU model code for a node with GPUs")),
            (_, c) => Some(model_field(row, model, c)?),
        };
        Ok(OpenbNode {
            name: name.to_owned(),
            cpu_milli: row.u64(cpu)?,
            memory_mib: row.u64(mem)?,
            gpus,
            model,
        })
    })
}

/// Reads an openb pod list.
pub fn read_pods(path: &Path) -> Result<Vec<OpenbPod>, TraceError> {
    parse_pods(Csv::open(path, &POD_COLUMNS)?)
}

/// Parses an openb pod list from text (as if read from `path`).
pub fn parse_pods_text(path: &Path, text: String) -> Result<Vec<OpenbPod>, TraceError> {
    parse_pods(Csv::from_text(path, text, &POD_COLUMNS)?)
}

fn parse_pods(csv: Csv) -> Result<Vec<OpenbPod>, TraceError> {
    Ok(parse_pods_located(csv)?.into_iter().map(|(_, p)| p).collect())
}

/// Parses the pods of `csv` (opened with at least [`POD_COLUMNS`]), each with its 1-based line.
pub(crate) fn parse_pods_located(csv: Csv) -> Result<Vec<(usize, OpenbPod)>, TraceError> {
    let [name, cpu, mem, num_gpu, gpu_milli] = POD_COLUMNS.map(|c| csv.col(c));
    let spec = csv.opt_col("gpu_spec");
    let created = csv.opt_col("creation_time");
    let deleted = csv.opt_col("deletion_time");
    csv.rows(|row| {
        let pod_name = row.str(name);
        if pod_name.is_empty() {
            return Err(row.error(name, "a pod name"));
        }
        let n = row.u64(num_gpu)?;
        let n = u32::try_from(n)
            .ok()
            .filter(|g| *g as usize <= phalanx_core::MAX_GPUS_PER_NODE)
            .ok_or_else(|| row.error(num_gpu, "a GPU count of at most 64"))?;
        let milli = row.i64(gpu_milli)?;
        // As the FGD experiment reads it: CPU-only pods hold no GPU share; a share is capped at one GPU.
        let milli = if n == 0 {
            0
        } else {
            milli.clamp(0, i64::from(WHOLE_GPU)) as u32
        };
        if n > 0 && milli == 0 {
            return Err(row.error(gpu_milli, "a positive milli-GPU share for a pod with GPUs"));
        }
        if n > 1 && milli < WHOLE_GPU {
            return Err(row.error(gpu_milli, "1000 for a pod with several GPUs (only 1-GPU pods share)"));
        }
        let mut models = Vec::new();
        if let Some(col) = spec {
            for code in row.str(col).split('|').filter(|c| !c.is_empty()) {
                let m = model_field(row, col, code)?;
                if !models.contains(&m) {
                    models.push(m);
                }
            }
        }
        let creation_time = created.map(|c| row.opt_u64(c)).transpose()?.flatten();
        let deletion_time = deleted.map(|c| row.opt_u64(c)).transpose()?.flatten();
        let pod = OpenbPod {
            name: pod_name.to_owned(),
            cpu_milli: row.u64(cpu)?,
            memory_mib: row.u64(mem)?,
            num_gpu: n,
            gpu_milli: milli,
            gpu_spec: models,
            creation_time,
            deletion_time,
        };
        Ok((row.line(), pod))
    })
}
