//! Trace readers, the synthetic generator and cluster specs: every job source becomes one [`Workload`].
//!
//! | source | reader | jobs |
//! |---|---|---|
//! | Microsoft Philly `philly.csv` (+ `philly_vc.csv`) | [`philly`] | GPU gangs, queue = virtual cluster; the Helios filter as an option |
//! | Microsoft ITP `raw-traces/clusterNN.csv` | [`itp`] | GPU gangs, queue = cluster file |
//! | Alibaba openb pod lists with creation and deletion times | [`openb_replay`] | one pod = one task, replayed in time |
//! | Pollux workloads `workload-N.csv` | [`pollux`] | data-parallel replicas, running time from the measured profiles |
//! | Phalanx native JSON Lines | [`native`] | the whole job model, read and written |
//! | seeded generator | [`synthetic`] | Poisson arrivals, Philly (Gavel) size mix |
//!
//! Clusters come from [`cluster`]: a compact spec (`64x8:nvidia/V100,16x4:huawei/Ascend910B`), an openb node
//! list, or one cluster per Philly virtual cluster.
//!
//! Every reader is strict: a bad row is a [`TraceError`] naming the file, the line and the field, and what was
//! expected. Readers that leave rows out on purpose (the Helios window, pods that never lived) say so in a
//! [`ReadReport`]: no job is ever dropped silently.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use phalanx_core::{Span, TaskGroup, TaskRequest, Topology, WHOLE_GPU};

use crate::csv::Row;
pub use crate::csv::TraceError;
use crate::workload::Workload;

pub mod cluster;
pub mod itp;
pub mod native;
pub mod openb_replay;
pub mod philly;
pub mod pollux;
pub mod synthetic;

mod math;

/// What runtime estimate ([`crate::workload::TraceJob::estimate`]) a reader gives jobs whose trace has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Estimates {
    /// No estimate: the scheduler sees none.
    #[default]
    None,
    /// The job's true duration: a perfect oracle, as the Helios simulation gives its SJF and SRTF policies.
    Oracle,
}

impl Estimates {
    /// The estimate of a job running for `duration`.
    pub fn of(self, duration: Span) -> Option<Span> {
        match self {
            Estimates::None => None,
            Estimates::Oracle => Some(duration),
        }
    }
}

/// The task groups of a job of `gpus` whole GPUs on nodes of `per_node` GPUs, as a consolidating placer needs
/// them (the Helios `consolidate` placer; the same rule serves ITP):
///
/// - `gpus <= per_node`: one task of `gpus` GPUs (it must sit on one node);
/// - `gpus > per_node`: a group `worker` of `gpus / per_node` tasks of `per_node` GPUs (whole nodes) and, if
///   `gpus % per_node != 0`, a second group `rest` of one task of `gpus % per_node` GPUs;
/// - `gpus == 0`: one task asking for nothing (a CPU-only job of a trace that records no CPU or memory).
///
/// CPU and memory are 0: these traces record neither. A `per_node` of 0 is treated as 1.
pub fn gpu_gang(gpus: u32, per_node: u32) -> Vec<TaskGroup> {
    let per_node = per_node.max(1);
    let group = |name: &str, count: u32, gpus: u32| TaskGroup {
        name: name.to_owned(),
        count,
        request: TaskRequest {
            cpu_milli: 0,
            memory_mib: 0,
            gpus,
            gpu_milli: if gpus > 0 { WHOLE_GPU } else { 0 },
            models: Vec::new(),
        },
        elastic: None,
        topology: Topology::Any,
    };
    if gpus <= per_node {
        return vec![group("worker", 1, gpus)];
    }
    let mut groups = vec![group("worker", gpus / per_node, per_node)];
    if gpus % per_node != 0 {
        groups.push(group("rest", 1, gpus % per_node));
    }
    groups
}

/// Column `col` as a positive whole number of seconds (`66`, `66.0`).
pub(crate) fn positive_secs(row: &Row<'_>, col: usize) -> Result<u64, TraceError> {
    const EXPECTED: &str = "a positive whole number of seconds";
    match row.whole_u64(col, EXPECTED)? {
        0 => Err(row.error(col, EXPECTED)),
        s => Ok(s),
    }
}

/// The row's line as stored in a [`crate::workload::TraceJob`].
pub(crate) fn line_u32(row: &Row<'_>) -> u32 {
    u32::try_from(row.line()).unwrap_or(u32::MAX)
}

/// A workload name: the file's stem.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Memoises [`gpu_gang`] shapes by GPU count, so a reader adds each distinct gang to a workload once.
#[derive(Debug, Default)]
pub(crate) struct GangShapes {
    per_node: u32,
    by_gpus: BTreeMap<u32, u32>,
}

impl GangShapes {
    pub(crate) fn new(per_node: u32) -> GangShapes {
        GangShapes {
            per_node,
            by_gpus: BTreeMap::new(),
        }
    }

    /// The shape index in `w` of a job of `gpus` GPUs.
    pub(crate) fn shape(&mut self, w: &mut Workload, gpus: u32) -> u32 {
        *self
            .by_gpus
            .entry(gpus)
            .or_insert_with(|| w.shape_index(gpu_gang(gpus, self.per_node)))
    }
}

/// Rows a reader read, the jobs it produced, and every row it left out on purpose, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Data rows read.
    pub rows: usize,
    /// Jobs produced.
    pub jobs: usize,
    /// Rows left out, by reason, in the order the reasons were first met.
    pub dropped: Vec<Dropped>,
}

/// Rows left out for one reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// Why.
    pub reason: String,
    /// How many rows.
    pub count: usize,
    /// 1-based line of the first such row.
    pub first_line: usize,
}

impl ReadReport {
    /// Records that the row at `line` was left out for `reason`.
    pub fn drop_row(&mut self, reason: &str, line: usize) {
        match self.dropped.iter_mut().find(|d| d.reason == reason) {
            Some(d) => d.count += 1,
            None => self.dropped.push(Dropped {
                reason: reason.to_owned(),
                count: 1,
                first_line: line,
            }),
        }
    }

    /// Rows left out, all reasons together.
    pub fn dropped_rows(&self) -> usize {
        self.dropped.iter().map(|d| d.count).sum()
    }
}

impl fmt::Display for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows read, {} jobs kept", self.rows, self.jobs)?;
        if self.dropped.is_empty() {
            return f.write_str(", none left out");
        }
        write!(f, "; left out:")?;
        for d in &self.dropped {
            write!(f, "\n  {} {} (first at line {})", d.count, d.reason, d.first_line)?;
        }
        Ok(())
    }
}
