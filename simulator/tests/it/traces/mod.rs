//! The trace readers, the synthetic generator and cluster specs: shipped data reads with the expected counts
//! and values; every kind of bad input is an error naming the file, the line and the field.

use std::path::{Path, PathBuf};

use phalanx_sim::workload::Workload;

mod cluster;
mod itp;
mod native;
mod openb_replay;
mod philly;
mod pollux;
mod synthetic;

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces")
}

/// Each group as `count x gpus`, groups joined with `+`.
fn gang(groups: &[phalanx_core::TaskGroup]) -> String {
    groups
        .iter()
        .map(|g| format!("{}x{}", g.count, g.request.gpus))
        .collect::<Vec<_>>()
        .join("+")
}

fn job_gang(w: &Workload, i: usize) -> String {
    gang(&w.shapes[w.jobs[i].shape as usize])
}
