//! Metrics of a simulation: the summary, and the per-job, time-series and summary files.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use phalanx_core::Span;

use crate::engine::{Outcome, SimResult};
use crate::workload::Workload;

/// The summary of one run (`summary.json`). Times in seconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Jobs in the workload.
    pub jobs_submitted: u64,
    /// Jobs that ran to completion.
    pub jobs_finished: u64,
    /// Jobs the scheduler rejected as impossible on this cluster.
    pub jobs_rejected: u64,
    /// Jobs still waiting when nothing else could happen (they never fitted).
    pub jobs_unfinished: u64,
    /// Mean job completion time of finished jobs.
    pub avg_jct_s: f64,
    /// Median JCT.
    pub p50_jct_s: f64,
    /// 95th-percentile JCT.
    pub p95_jct_s: f64,
    /// 99th-percentile JCT.
    pub p99_jct_s: f64,
    /// Mean total waiting time of finished jobs.
    pub avg_queue_s: f64,
    /// From the first submission to the last completion.
    pub makespan_s: f64,
    /// GPU time used by jobs / (cluster GPUs × makespan).
    pub gpu_utilization: f64,
    /// Stops with requeue (preemptions and node losses).
    pub preemptions: u64,
    /// Events the engine processed.
    pub events: u64,
}

fn secs(s: Span) -> f64 {
    s.as_millis() as f64 / 1000.0
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Summarises the jobs selected by `keep` (all jobs: `|_| true`).
pub fn summarize(result: &SimResult, keep: impl Fn(usize) -> bool) -> Summary {
    let mut jcts = Vec::new();
    let mut queue_sum = 0.0;
    let (mut submitted, mut rejected, mut unfinished, mut preemptions) = (0, 0, 0, 0);
    let mut first_submit = None;
    let mut last_end = None;
    for (_, r) in result.jobs.iter().enumerate().filter(|(i, _)| keep(*i)) {
        submitted += 1;
        preemptions += u64::from(r.preemptions);
        first_submit = Some(first_submit.map_or(r.submit, |t: phalanx_core::Time| t.min(r.submit)));
        match &r.outcome {
            Outcome::Finished => {
                jcts.push(secs(r.jct().expect("finished jobs have an end")));
                queue_sum += secs(r.queue);
                last_end = Some(last_end.map_or(r.end.unwrap(), |t: phalanx_core::Time| t.max(r.end.unwrap())));
            }
            Outcome::Rejected(_) => rejected += 1,
            Outcome::Unfinished => unfinished += 1,
        }
    }
    let finished = jcts.len() as u64;
    let avg = |x: f64| if finished == 0 { 0.0 } else { x / finished as f64 };
    let avg_jct = avg(jcts.iter().sum());
    jcts.sort_by(f64::total_cmp);
    let makespan = match (first_submit, last_end) {
        (Some(a), Some(b)) => secs(b.since(a)),
        _ => 0.0,
    };
    let capacity = result.cluster_gpus as f64 * makespan * 1000.0;
    Summary {
        jobs_submitted: submitted,
        jobs_finished: finished,
        jobs_rejected: rejected,
        jobs_unfinished: unfinished,
        avg_jct_s: avg_jct,
        p50_jct_s: quantile(&jcts, 0.50),
        p95_jct_s: quantile(&jcts, 0.95),
        p99_jct_s: quantile(&jcts, 0.99),
        avg_queue_s: avg(queue_sum),
        makespan_s: makespan,
        gpu_utilization: if capacity > 0.0 {
            result.gpu_busy_ms as f64 / capacity
        } else {
            0.0
        },
        preemptions,
        events: result.events,
    }
}

fn fmt_time(t: phalanx_core::Time) -> String {
    format!("{}.{:03}", t.as_millis() / 1000, t.as_millis() % 1000)
}

fn fmt_span(s: Span) -> String {
    format!("{}.{:03}", s.as_millis() / 1000, s.as_millis() % 1000)
}

/// `jobs.csv`: one row per job.
pub fn jobs_csv(workload: &Workload, result: &SimResult) -> String {
    let mut out =
        String::from("job,origin,queue,submit_s,start_s,end_s,jct_s,queue_s,gpus,nodes,preemptions,outcome,reason\n");
    for (i, r) in result.jobs.iter().enumerate() {
        let j = &workload.jobs[i];
        let opt = |t: Option<phalanx_core::Time>| t.map(fmt_time).unwrap_or_default();
        let (outcome, reason) = match &r.outcome {
            Outcome::Finished => ("finished", String::new()),
            Outcome::Rejected(reason) => ("rejected", reason.to_string().replace(',', ";")),
            Outcome::Unfinished => ("unfinished", String::new()),
        };
        let _ = writeln!(
            out,
            "{i},{},{},{},{},{},{},{},{},{},{},{outcome},{reason}",
            workload.origin(i).replace(',', ";"),
            workload.queues[j.queue as usize],
            fmt_time(r.submit),
            opt(r.start),
            opt(r.end),
            r.jct().map(fmt_span).unwrap_or_default(),
            fmt_span(r.queue),
            r.gpus,
            r.nodes,
            r.preemptions,
        );
    }
    out
}

/// `timeseries.csv`: allocated GPUs, running and queued jobs over time.
pub fn timeseries_csv(result: &SimResult) -> String {
    let mut out = String::from("time_s,gpus_allocated,gpu_utilization,running,queued\n");
    for s in &result.series {
        let util = if result.cluster_gpus == 0 {
            0.0
        } else {
            s.gpus_allocated as f64 / result.cluster_gpus as f64
        };
        let _ = writeln!(
            out,
            "{},{},{util:.4},{},{}",
            fmt_time(s.time),
            s.gpus_allocated,
            s.running,
            s.queued
        );
    }
    out
}

/// Writes `jobs.csv`, `summary.json` and `timeseries.csv` into `dir` (created if needed).
pub fn write_run(dir: &Path, workload: &Workload, result: &SimResult, summary: &Summary) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("jobs.csv"), jobs_csv(workload, result))?;
    std::fs::write(dir.join("timeseries.csv"), timeseries_csv(result))?;
    let json = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    std::fs::write(dir.join("summary.json"), json + "\n")?;
    Ok(())
}
