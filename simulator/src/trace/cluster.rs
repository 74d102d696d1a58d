//! Clusters: from a compact spec, from an openb node list, or one per Philly virtual cluster.
//!
//! A spec is a comma-separated list of pools, each `NODESxGPUS[:vendor/model][:key=value]...`:
//!
//! ```text
//! 64x8:nvidia/V100,16x4:huawei/Ascend910B
//! 64x8:nvidia/V100:cpu=96000:mem=786432:gpumem=32768,8x0:cpu=128000
//! ```
//!
//! `NODES` nodes of `GPUS` GPUs of the model (a model is required with GPUs and not allowed without), with
//! optional per-node `cpu` (milli-cores, default 64,000), `mem` (MiB, default 262,144 = 256 GiB) and
//! `gpumem` (MiB per GPU, default 32,768). Nodes are named `p<pool>-<index>` (`p0-0000`, `p1-0000`, …).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use phalanx_core::{GpuHealth, GpuModel, GpuSpec, Location, NodeSpec, NodeState, MAX_GPUS_PER_NODE};

use crate::csv::TraceError;
use crate::openb;
use crate::trace::philly::{PhillyVc, PHILLY_GPUS_PER_NODE};

/// Default CPU of a node, milli-cores.
pub const DEFAULT_CPU_MILLI: u64 = 64_000;
/// Default memory of a node, MiB.
pub const DEFAULT_MEMORY_MIB: u64 = 256 * 1024;
/// Default memory of a GPU, MiB.
pub const DEFAULT_GPU_MEMORY_MIB: u64 = 32 * 1024;
/// Most nodes one pool may have.
pub const MAX_POOL_NODES: u32 = 1_000_000;

/// One pool of identical nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    /// Number of nodes.
    pub nodes: u32,
    /// GPUs per node.
    pub gpus: u32,
    /// GPU model (`None` exactly when `gpus` is 0).
    pub model: Option<GpuModel>,
    /// CPU per node, milli-cores.
    pub cpu_milli: u64,
    /// Memory per node, MiB.
    pub memory_mib: u64,
    /// Memory per GPU, MiB.
    pub gpu_memory_mib: u64,
}

/// A cluster made of pools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// The pools, in spec order.
    pub pools: Vec<PoolSpec>,
}

/// A cluster spec that does not parse; names the pool at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cluster spec: pool {index} `{part}`: {problem}; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`")]
pub struct ClusterSpecError {
    /// 1-based position of the pool in the spec.
    pub index: usize,
    /// The pool's text.
    pub part: String,
    /// What is wrong.
    pub problem: String,
}

impl ClusterSpec {
    /// Parses `64x8:nvidia/V100,16x4:huawei/Ascend910B` (see the module documentation).
    pub fn parse(text: &str) -> Result<ClusterSpec, ClusterSpecError> {
        let mut pools = Vec::new();
        for (i, part) in text.split(',').enumerate() {
            let err = |problem: String| ClusterSpecError {
                index: i + 1,
                part: part.trim().to_owned(),
                problem,
            };
            pools.push(parse_pool(part.trim()).map_err(err)?);
        }
        Ok(ClusterSpec { pools })
    }

    /// The nodes, pool by pool.
    pub fn nodes(&self) -> Vec<NodeSpec> {
        let mut out = Vec::with_capacity(self.pools.iter().map(|p| p.nodes as usize).sum());
        for (pi, p) in self.pools.iter().enumerate() {
            let width = p.nodes.saturating_sub(1).to_string().len().max(4);
            for n in 0..p.nodes {
                out.push(node(format!("p{pi}-{n:0width$}"), p));
            }
        }
        out
    }

    /// GPUs in the cluster.
    pub fn gpus(&self) -> u64 {
        self.pools.iter().map(|p| u64::from(p.nodes) * u64::from(p.gpus)).sum()
    }
}

impl FromStr for ClusterSpec {
    type Err = ClusterSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClusterSpec::parse(s)
    }
}

impl fmt::Display for ClusterSpec {
    /// The canonical spec, with every value written out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.pools.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}x{}", p.nodes, p.gpus)?;
            if let Some(m) = &p.model {
                write!(f, ":{m}")?;
            }
            write!(f, ":cpu={}:mem={}", p.cpu_milli, p.memory_mib)?;
            if p.gpus > 0 {
                write!(f, ":gpumem={}", p.gpu_memory_mib)?;
            }
        }
        Ok(())
    }
}

fn parse_pool(part: &str) -> Result<PoolSpec, String> {
    if part.is_empty() {
        return Err("empty pool".into());
    }
    let mut fields = part.split(':');
    let size = fields.next().unwrap_or_default();
    let Some((nodes, gpus)) = size.split_once('x') else {
        return Err(format!("`{size}` is not NODESxGPUS"));
    };
    let nodes: u32 = nodes
        .parse()
        .ok()
        .filter(|n| (1..=MAX_POOL_NODES).contains(n))
        .ok_or_else(|| format!("node count `{nodes}` is not an integer in 1..={MAX_POOL_NODES}"))?;
    let gpus: u32 = gpus
        .parse()
        .ok()
        .filter(|g| *g as usize <= MAX_GPUS_PER_NODE)
        .ok_or_else(|| format!("GPU count `{gpus}` is not an integer in 0..={MAX_GPUS_PER_NODE}"))?;
    let mut pool = PoolSpec {
        nodes,
        gpus,
        model: None,
        cpu_milli: DEFAULT_CPU_MILLI,
        memory_mib: DEFAULT_MEMORY_MIB,
        gpu_memory_mib: DEFAULT_GPU_MEMORY_MIB,
    };
    for field in fields {
        match field.split_once('=') {
            Some((key, value)) => {
                let v: u64 = value
                    .parse()
                    .map_err(|_| format!("`{field}`: `{value}` is not a non-negative integer"))?;
                match key {
                    "cpu" => pool.cpu_milli = v,
                    "mem" => pool.memory_mib = v,
                    "gpumem" => pool.gpu_memory_mib = v,
                    _ => return Err(format!("unknown key `{key}` (known: cpu, mem, gpumem)")),
                }
            }
            None if pool.model.is_none() => {
                pool.model = Some(GpuModel::new(field).map_err(|e| e.to_string())?);
            }
            None => return Err(format!("a second GPU model `{field}`")),
        }
    }
    match (gpus, &pool.model) {
        (0, Some(m)) => Err(format!("model `{m}` given for nodes without GPUs")),
        (g, None) if g > 0 => Err("nodes with GPUs need a GPU model (`vendor/name`)".into()),
        _ => Ok(pool),
    }
}

fn node(name: String, p: &PoolSpec) -> NodeSpec {
    let gpus = match &p.model {
        Some(m) => (0..p.gpus)
            .map(|_| GpuSpec {
                model: m.clone(),
                memory_mib: p.gpu_memory_mib,
                health: GpuHealth::Healthy,
            })
            .collect(),
        None => Vec::new(),
    };
    NodeSpec {
        name,
        labels: Default::default(),
        location: Location::default(),
        cpu_milli: p.cpu_milli,
        memory_mib: p.memory_mib,
        gpus,
        state: NodeState::Schedulable,
    }
}

/// The nodes of an openb node list, as the core describes them ([`openb::OpenbNode::to_spec`]).
pub fn openb_cluster(path: &Path) -> Result<Vec<NodeSpec>, TraceError> {
    Ok(openb::read_nodes(path)?.iter().map(openb::OpenbNode::to_spec).collect())
}

/// One cluster per Philly virtual cluster, in table order: the VC's nodes, each of 8 GPUs of `model` and the
/// default CPU and memory, named `<vc>-<index>`.
pub fn philly_vc_clusters(vcs: &[PhillyVc], model: &GpuModel) -> Vec<(String, Vec<NodeSpec>)> {
    vcs.iter()
        .map(|vc| {
            let pool = PoolSpec {
                nodes: vc.nodes,
                gpus: PHILLY_GPUS_PER_NODE,
                model: Some(model.clone()),
                cpu_milli: DEFAULT_CPU_MILLI,
                memory_mib: DEFAULT_MEMORY_MIB,
                gpu_memory_mib: DEFAULT_GPU_MEMORY_MIB,
            };
            let nodes = (0..vc.nodes)
                .map(|n| node(format!("{}-{n:03}", vc.name), &pool))
                .collect();
            (vc.name.clone(), nodes)
        })
        .collect()
}
