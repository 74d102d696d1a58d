//! `pack`: the FGD paper's packing experiment, as `phalanx pack` runs it.

use std::path::PathBuf;

use phalanx_core::fgd::PaperPolicy;
use phalanx_sim::pack::{self as packing, Workload};
use pyo3::prelude::*;

use crate::arrow::{Batch, Columns};
use crate::error::{arg, Error, Result};

/// Runs every pod list × policy × seed on the openb node list `nodes`, on `threads` threads; returns
/// (`summary.csv`, `runs.csv`) as record batches.
#[pyfunction]
#[pyo3(signature = (nodes, pods, policies, seeds, inflate, threads))]
pub fn pack(
    py: Python<'_>,
    nodes: PathBuf,
    pods: Vec<PathBuf>,
    policies: Vec<String>,
    seeds: Vec<u64>,
    inflate: f64,
    threads: usize,
) -> Result<(Batch, Batch)> {
    let policies = policies
        .iter()
        .map(|p| p.parse::<PaperPolicy>().map_err(|e| arg("policies", e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    if policies.is_empty() {
        return Err(arg("policies", "expected at least one policy"));
    }
    if seeds.is_empty() {
        return Err(arg("seeds", "expected at least one seed"));
    }
    if pods.is_empty() {
        return Err(arg("pods", "expected at least one pod list"));
    }
    if !(inflate.is_finite() && inflate > 0.0) {
        return Err(arg("inflate", format!("expected a positive number, found {inflate}")));
    }
    py.detach(|| {
        let node_list = phalanx_sim::openb::read_nodes(&nodes)?;
        let workloads = pods
            .iter()
            .map(|p| Workload::from_file(p))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let results = packing::run_all(&node_list, &workloads, &policies, &seeds, inflate, threads.max(1))
            .map_err(|e| Error::Other(format!("cluster: {e}")))?;
        let rows = packing::summarize(&results);
        let summary = Columns::default()
            .str("workload", rows.iter().map(|r| &r.workload))
            .str("policy", rows.iter().map(|r| &r.policy))
            .u64("n_seeds", rows.iter().map(|r| r.n_seeds as u64).collect())
            .u64("arrive_pct", rows.iter().map(|r| r.arrive_pct as u64).collect())
            .f64("alloc_gpu_pct_mean", rows.iter().map(|r| r.alloc_mean).collect())
            .f64("alloc_gpu_pct_median", rows.iter().map(|r| r.alloc_median).collect())
            .f64("alloc_gpu_pct_sd", rows.iter().map(|r| r.alloc_sd).collect())
            .f64("unalloc_gpu_pct_mean", rows.iter().map(|r| r.unalloc_mean).collect())
            .f64(
                "frag_gpu_pct_of_cluster_mean",
                rows.iter().map(|r| r.frag_mean).collect(),
            )
            .f64(
                "frag_ratio_pct_of_idle_mean",
                rows.iter().map(|r| r.frag_ratio_mean).collect(),
            )
            .finish();
        let runs = Columns::default()
            .str("workload", results.iter().map(|r| &r.workload))
            .str("policy", results.iter().map(|r| r.policy.name()))
            .u64("seed", results.iter().map(|r| r.seed).collect())
            .u64("pods", results.iter().map(|r| r.pods as u64).collect())
            .u64("placed", results.iter().map(|r| r.placed as u64).collect())
            .u64("failed", results.iter().map(|r| r.failed as u64).collect())
            .u64("rejected", results.iter().map(|r| r.rejected as u64).collect())
            .u64("failed_gpu_milli", results.iter().map(|r| r.failed_gpu_milli).collect())
            .u64(
                "arrived_gpu_milli",
                results.iter().map(|r| r.arrived_gpu_milli).collect(),
            )
            .u64("used_gpu_milli", results.iter().map(|r| r.used_gpu_milli).collect())
            .opt_f64(
                "unalloc_gpu_pct_at_100",
                results.iter().map(|r| r.unalloc_at(100)).collect(),
            )
            .f64(
                "millis",
                results.iter().map(|r| r.elapsed.as_secs_f64() * 1e3).collect(),
            )
            .finish();
        Ok((summary, runs))
    })
}
