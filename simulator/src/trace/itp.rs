//! Microsoft ITP clusters (2021): `raw-traces/clusterNN.csv`, `job_id,submission_time,duration,num_gpu`.
//!
//! Submission time and duration in whole seconds (duration positive); `num_gpu` whole GPUs. Each job is a
//! gang of whole GPUs as [`gpu_gang`](super::gpu_gang) builds it for 8-GPU nodes, with no CPU or memory (the
//! trace records none). The queue is the file's stem (`cluster04`), so several clusters can be merged.

use std::path::Path;

use phalanx_core::{Span, Time};

use crate::csv::{Csv, TraceError};
use crate::trace::{line_u32, positive_secs, stem, Estimates, GangShapes};
use crate::workload::{TraceJob, Workload};

/// GPUs per node assumed when splitting an ITP job into tasks.
pub const ITP_GPUS_PER_NODE: u32 = 8;

const COLUMNS: [&str; 4] = ["job_id", "submission_time", "duration", "num_gpu"];

/// Reads an ITP cluster file as a workload (times as in the file, in seconds).
pub fn read_itp(path: &Path, estimates: Estimates) -> Result<Workload, TraceError> {
    itp_workload(Csv::open(path, &COLUMNS)?, estimates)
}

/// Parses an ITP cluster file from text (as if read from `path`).
pub fn parse_itp(path: &Path, text: String, estimates: Estimates) -> Result<Workload, TraceError> {
    itp_workload(Csv::from_text(path, text, &COLUMNS)?, estimates)
}

fn itp_workload(csv: Csv, estimates: Estimates) -> Result<Workload, TraceError> {
    let [id, submit, dur, gpus] = COLUMNS.map(|c| csv.col(c));
    let name = stem(csv.path());
    let mut w = Workload::new(name.clone(), csv.path());
    let queue = w.queue_index(&name);
    let mut shapes = GangShapes::new(ITP_GPUS_PER_NODE);
    let jobs = csv.rows(|row| {
        if row.str(id).is_empty() {
            return Err(row.error(id, "a job id"));
        }
        let submit = row.whole_u64(submit, "a whole number of seconds")?;
        let duration = Span::from_secs(positive_secs(row, dur)?);
        let gpus = u32::try_from(row.u64(gpus)?).map_err(|_| row.error(gpus, "a GPU count below 2^32"))?;
        Ok(TraceJob {
            submit: Time::from_secs(submit),
            duration,
            queue,
            priority: 0,
            estimate: estimates.of(duration),
            shape: shapes.shape(&mut w, gpus),
            line: line_u32(row),
        })
    })?;
    w.jobs = jobs;
    w.sort_by_submit();
    Ok(w)
}
