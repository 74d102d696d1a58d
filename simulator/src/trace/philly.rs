//! Microsoft Philly (2017): the job table `philly.csv` and the virtual-cluster table `philly_vc.csv`.
//!
//! - `philly.csv`: `timestamp,duration,num_gpus,gpu_time,cluster` — submit time `YYYY-mm-dd HH:MM:SS` (read as
//!   UTC), duration in whole seconds (written `66.0`; it must be positive), GPUs, GPU-seconds (not used),
//!   virtual-cluster (VC) id.
//! - `philly_vc.csv`: `vc,node num` — the nodes of each VC, 8 GPUs a node, as the Helios simulation sizes them.
//!
//! Each job is a gang of whole GPUs as [`gpu_gang`](super::gpu_gang) builds it for 8-GPU nodes, with no CPU
//! or memory (Philly records none); its queue is its VC id.
//!
//! [`read_helios`] applies the job selection of the Helios paper's per-VC experiment (SC'21, §1 of its
//! specification): GPU jobs of the VCs in the VC table, submitted from 2017-10-01 00:00:00 up to
//! 5,270,340 s (60 d 23 h 59 m) after the first such job, times counted from that first job. Rows it leaves
//! out are counted by reason in a [`ReadReport`].

use std::path::Path;

use phalanx_core::{Span, Time};

use crate::csv::{Csv, TraceError};
use crate::trace::math::parse_utc_timestamp;
use crate::trace::{line_u32, positive_secs, stem, Estimates, GangShapes, ReadReport};
use crate::workload::{TraceJob, Workload};

/// GPUs on every Philly node.
pub const PHILLY_GPUS_PER_NODE: u32 = 8;

/// One row of `philly.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhillyJob {
    /// 1-based line in the file.
    pub line: u32,
    /// Submit time, seconds since the Unix epoch (the timestamp read as UTC).
    pub submit: u64,
    /// Running time in seconds (positive).
    pub duration: u64,
    /// GPUs.
    pub gpus: u32,
    /// Virtual-cluster id.
    pub vc: String,
}

/// One row of `philly_vc.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhillyVc {
    /// Virtual-cluster id.
    pub name: String,
    /// Nodes (of [`PHILLY_GPUS_PER_NODE`] GPUs each).
    pub nodes: u32,
}

impl PhillyVc {
    /// GPUs of the VC.
    pub fn gpus(&self) -> u64 {
        u64::from(self.nodes) * u64::from(PHILLY_GPUS_PER_NODE)
    }
}

const JOB_COLUMNS: [&str; 4] = ["timestamp", "duration", "num_gpus", "cluster"];
const VC_COLUMNS: [&str; 2] = ["vc", "node num"];

/// Reads the rows of a `philly.csv` job table, in file order.
pub fn read_philly_jobs(path: &Path) -> Result<Vec<PhillyJob>, TraceError> {
    parse_jobs(Csv::open(path, &JOB_COLUMNS)?)
}

/// Parses a `philly.csv` job table from text (as if read from `path`).
pub fn parse_philly_jobs(path: &Path, text: String) -> Result<Vec<PhillyJob>, TraceError> {
    parse_jobs(Csv::from_text(path, text, &JOB_COLUMNS)?)
}

fn parse_jobs(csv: Csv) -> Result<Vec<PhillyJob>, TraceError> {
    let [ts, dur, gpus, vc] = JOB_COLUMNS.map(|c| csv.col(c));
    csv.rows(|row| {
        let submit = parse_utc_timestamp(row.str(ts))
            .ok_or_else(|| row.error(ts, "a UTC time `YYYY-mm-dd HH:MM:SS` (1970 or later)"))?;
        let duration = positive_secs(row, dur)?;
        let gpus = u32::try_from(row.u64(gpus)?).map_err(|_| row.error(gpus, "a GPU count below 2^32"))?;
        let vc_name = row.str(vc);
        if vc_name.is_empty() {
            return Err(row.error(vc, "a virtual-cluster id"));
        }
        Ok(PhillyJob {
            line: line_u32(row),
            submit,
            duration,
            gpus,
            vc: vc_name.to_owned(),
        })
    })
}

/// Reads a `philly_vc.csv` table. VC ids must be unique and node counts positive.
pub fn read_philly_vcs(path: &Path) -> Result<Vec<PhillyVc>, TraceError> {
    parse_vcs(Csv::open(path, &VC_COLUMNS)?)
}

/// Parses a `philly_vc.csv` table from text (as if read from `path`).
pub fn parse_philly_vcs(path: &Path, text: String) -> Result<Vec<PhillyVc>, TraceError> {
    parse_vcs(Csv::from_text(path, text, &VC_COLUMNS)?)
}

fn parse_vcs(csv: Csv) -> Result<Vec<PhillyVc>, TraceError> {
    let [vc, nodes] = VC_COLUMNS.map(|c| csv.col(c));
    let mut seen = std::collections::BTreeSet::new();
    csv.rows(|row| {
        let name = row.str(vc);
        if name.is_empty() {
            return Err(row.error(vc, "a virtual-cluster id"));
        }
        if !seen.insert(name.to_owned()) {
            return Err(row.error(vc, "a virtual-cluster id not used on an earlier line"));
        }
        let n = row.u64(nodes)?;
        let n = u32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| row.error(nodes, "a positive node count below 2^32"))?;
        Ok(PhillyVc {
            name: name.to_owned(),
            nodes: n,
        })
    })
}

/// Turns Philly jobs into a workload called `name` from `source`: submit times counted from `origin` (seconds
/// since the Unix epoch; a job submitted before it is submitted at 0), queue = VC id, gangs for 8-GPU nodes,
/// estimates as `estimates` says. Jobs are sorted by submit time, file order among equal seconds.
pub fn philly_workload(name: &str, source: &Path, jobs: &[PhillyJob], origin: u64, estimates: Estimates) -> Workload {
    let mut w = Workload::new(name, source);
    let mut shapes = GangShapes::new(PHILLY_GPUS_PER_NODE);
    w.jobs.reserve(jobs.len());
    for j in jobs {
        let duration = Span::from_secs(j.duration);
        let queue = w.queue_index(&j.vc);
        let shape = shapes.shape(&mut w, j.gpus);
        w.jobs.push(TraceJob {
            submit: Time::from_secs(j.submit.saturating_sub(origin)),
            duration,
            queue,
            priority: 0,
            estimate: estimates.of(duration),
            shape,
            line: j.line,
        });
    }
    w.sort_by_submit();
    w
}

/// Reads a whole `philly.csv` as a workload, times counted from its earliest job.
pub fn read_philly(path: &Path, estimates: Estimates) -> Result<Workload, TraceError> {
    let jobs = read_philly_jobs(path)?;
    let origin = jobs.iter().map(|j| j.submit).min().unwrap_or(0);
    Ok(philly_workload(&stem(path), path, &jobs, origin, estimates))
}

/// The job selection of the Helios per-VC experiment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeliosFilter {
    /// Jobs submitted before this time (seconds since the Unix epoch, UTC) are left out.
    pub start: u64,
    /// Jobs submitted more than this many seconds after the first kept job are left out.
    pub span: u64,
}

impl Default for HeliosFilter {
    /// 2017-10-01 00:00:00 UTC; 5,270,340 s (2017-11-30 23:59:00 − 2017-10-01 00:00:00).
    fn default() -> HeliosFilter {
        HeliosFilter {
            start: 1_506_816_000,
            span: 5_270_340,
        }
    }
}

/// Jobs selected by [`helios_filter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeliosSelection {
    /// The kept jobs, sorted by submit time (file order among equal seconds), times still since the epoch.
    pub jobs: Vec<PhillyJob>,
    /// Submit time of the first kept job: time 0 of the experiment.
    pub origin: u64,
    /// What was kept and what was left out, by reason.
    pub report: ReadReport,
}

/// Reason: a job without GPUs.
pub const DROP_NO_GPU: &str = "jobs without GPUs";
/// Reason: a job of a VC not in the VC table.
pub const DROP_UNKNOWN_VC: &str = "jobs of a virtual cluster not in the VC table";
/// Reason: submitted before the window.
pub const DROP_BEFORE: &str = "jobs submitted before the window";
/// Reason: submitted after the window.
pub const DROP_AFTER: &str = "jobs submitted after the window";

/// Selects jobs as Helios does, in this order: `num_gpus > 0`; VC in `vcs`; submitted at or after
/// `filter.start`; then, counting from the first remaining job, submitted at most `filter.span` seconds later.
/// Every row left out is counted under the first test it fails.
///
/// Helios reads timestamps in its machine's local time zone and sorts with an unstable sort; this reads
/// them as UTC and keeps file order among jobs submitted in the same second.
pub fn helios_filter(jobs: &[PhillyJob], vcs: &[PhillyVc], filter: &HeliosFilter) -> HeliosSelection {
    let mut report = ReadReport {
        rows: jobs.len(),
        ..ReadReport::default()
    };
    let mut kept: Vec<PhillyJob> = Vec::new();
    for j in jobs {
        if j.gpus == 0 {
            report.drop_row(DROP_NO_GPU, j.line as usize);
        } else if !vcs.iter().any(|v| v.name == j.vc) {
            report.drop_row(DROP_UNKNOWN_VC, j.line as usize);
        } else if j.submit < filter.start {
            report.drop_row(DROP_BEFORE, j.line as usize);
        } else {
            kept.push(j.clone());
        }
    }
    kept.sort_by_key(|j| j.submit);
    let origin = kept.first().map_or(filter.start, |j| j.submit);
    let end = origin.saturating_add(filter.span);
    let mut after = Vec::new();
    kept.retain(|j| {
        let keep = j.submit <= end;
        if !keep {
            after.push(j.line as usize);
        }
        keep
    });
    after.sort_unstable();
    for line in after {
        report.drop_row(DROP_AFTER, line);
    }
    report.jobs = kept.len();
    HeliosSelection {
        jobs: kept,
        origin,
        report,
    }
}

/// Reads `philly.csv` and `philly_vc.csv` and selects the jobs of the Helios experiment
/// ([`helios_filter`] with its default window). A kept job larger than its VC is an error naming its line
/// (Helios itself would wait for it for ever).
pub fn read_helios(
    jobs_path: &Path,
    vc_path: &Path,
    estimates: Estimates,
) -> Result<(Workload, ReadReport), TraceError> {
    let jobs = read_philly_jobs(jobs_path)?;
    let vcs = read_philly_vcs(vc_path)?;
    helios_workload(jobs_path, &jobs, &vcs, estimates)
}

/// [`read_helios`] on rows already read: `jobs_path` names the source in the workload and in errors.
pub fn helios_workload(
    jobs_path: &Path,
    jobs: &[PhillyJob],
    vcs: &[PhillyVc],
    estimates: Estimates,
) -> Result<(Workload, ReadReport), TraceError> {
    let sel = helios_filter(jobs, vcs, &HeliosFilter::default());
    for j in &sel.jobs {
        if let Some(vc) = vcs.iter().find(|v| v.name == j.vc) {
            if u64::from(j.gpus) > vc.gpus() {
                return Err(TraceError::Job {
                    origin: format!("{}:{}", jobs_path.display(), j.line),
                    problem: format!(
                        "a job of {} GPUs is larger than its virtual cluster `{}` ({} nodes of {} GPUs)",
                        j.gpus, vc.name, vc.nodes, PHILLY_GPUS_PER_NODE
                    ),
                });
            }
        }
    }
    let w = philly_workload(&stem(jobs_path), jobs_path, &sel.jobs, sel.origin, estimates);
    Ok((w, sel.report))
}
