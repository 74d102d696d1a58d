//! Alibaba openb pod lists replayed in time: each pod is submitted at its `creation_time` and runs until its
//! `deletion_time`.
//!
//! The pod list is read as [`crate::openb`] reads it (same columns, same normalisation of `gpu_milli`), and
//! must also carry `creation_time` and `deletion_time` (the `multigpu*` lists do not). Each pod becomes a
//! one-task job of queue `default`: submit = `creation_time`, duration = `deletion_time − creation_time`.
//!
//! Pods with `deletion_time == creation_time` never ran (the shipped lists hold a few, all `Pending`): by
//! default ([`ZeroLifetime::Skip`]) they are left out and counted in the [`ReadReport`]; with
//! [`ZeroLifetime::Error`] the first one is an error naming its line. A deletion before the creation, or a
//! missing time, is always an error.

use std::collections::BTreeMap;
use std::path::Path;

use phalanx_core::{GpuModel, Span, TaskGroup, TaskRequest, Time, Topology};

use crate::csv::{Csv, TraceError};
use crate::openb::{parse_pods_located, OpenbPod, POD_COLUMNS};
use crate::trace::{stem, Estimates, ReadReport};
use crate::workload::{TraceJob, Workload};

/// What to do with a pod deleted in the second it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZeroLifetime {
    /// Leave it out and count it in the report.
    #[default]
    Skip,
    /// Stop with an error naming its line.
    Error,
}

/// Options of [`read_openb_replay`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenbReplayOptions {
    /// Pods deleted when created.
    pub zero_lifetime: ZeroLifetime,
    /// Runtime estimates.
    pub estimates: Estimates,
}

/// Reason given in the report for pods left out under [`ZeroLifetime::Skip`].
pub const DROP_ZERO_LIFETIME: &str =
    "pods deleted in the second they were created (deletion_time == creation_time): they never ran";

const TIME_COLUMNS: [&str; 2] = ["creation_time", "deletion_time"];

/// Reads an openb pod list with creation and deletion times as a workload replayed in time.
pub fn read_openb_replay(path: &Path, options: &OpenbReplayOptions) -> Result<(Workload, ReadReport), TraceError> {
    let columns = [&POD_COLUMNS[..], &TIME_COLUMNS[..]].concat();
    replay(Csv::open(path, &columns)?, options)
}

/// Parses an openb pod list from text (as if read from `path`) as a workload replayed in time.
pub fn parse_openb_replay(
    path: &Path,
    text: String,
    options: &OpenbReplayOptions,
) -> Result<(Workload, ReadReport), TraceError> {
    let columns = [&POD_COLUMNS[..], &TIME_COLUMNS[..]].concat();
    replay(Csv::from_text(path, text, &columns)?, options)
}

type ShapeKey = (u64, u64, u32, u32, Vec<GpuModel>);

fn replay(csv: Csv, options: &OpenbReplayOptions) -> Result<(Workload, ReadReport), TraceError> {
    let path = csv.path().to_owned();
    let pods = parse_pods_located(csv)?;
    let mut w = Workload::new(stem(&path), &path);
    let queue = w.queue_index("default");
    let mut report = ReadReport {
        rows: pods.len(),
        ..ReadReport::default()
    };
    let mut shapes: BTreeMap<ShapeKey, u32> = BTreeMap::new();
    w.jobs.reserve(pods.len());
    for (line, pod) in pods {
        let time_error = |column: &str, expected: &str, value: String| TraceError::Field {
            path: path.clone(),
            line,
            column: column.to_owned(),
            expected: expected.to_owned(),
            value,
        };
        let created = pod
            .creation_time
            .ok_or_else(|| time_error("creation_time", "a creation time in seconds", String::new()))?;
        let deleted = pod
            .deletion_time
            .ok_or_else(|| time_error("deletion_time", "a deletion time in seconds", String::new()))?;
        if deleted < created {
            return Err(time_error(
                "deletion_time",
                &format!("a time no earlier than creation_time {created}"),
                deleted.to_string(),
            ));
        }
        if deleted == created {
            match options.zero_lifetime {
                ZeroLifetime::Skip => {
                    report.drop_row(DROP_ZERO_LIFETIME, line);
                    continue;
                }
                ZeroLifetime::Error => {
                    return Err(time_error(
                        "deletion_time",
                        &format!(
                            "a time after creation_time {created} (the pod never ran; \
                             ZeroLifetime::Skip leaves such pods out)"
                        ),
                        deleted.to_string(),
                    ));
                }
            }
        }
        let duration = Span::from_secs(deleted - created);
        let shape = *shapes.entry(shape_key(&pod)).or_insert_with(|| {
            w.shapes.push(vec![task(&pod)]);
            (w.shapes.len() - 1) as u32
        });
        w.jobs.push(TraceJob {
            submit: Time::from_secs(created),
            duration,
            queue,
            priority: 0,
            estimate: options.estimates.of(duration),
            shape,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        });
    }
    w.sort_by_submit();
    report.jobs = w.jobs.len();
    Ok((w, report))
}

fn shape_key(p: &OpenbPod) -> ShapeKey {
    (p.cpu_milli, p.memory_mib, p.num_gpu, p.gpu_milli, p.gpu_spec.clone())
}

fn task(p: &OpenbPod) -> TaskGroup {
    TaskGroup {
        name: "pod".to_owned(),
        count: 1,
        request: TaskRequest {
            cpu_milli: p.cpu_milli,
            memory_mib: p.memory_mib,
            gpus: p.num_gpu,
            gpu_milli: p.gpu_milli,
            models: p.gpu_spec.clone(),
        },
        elastic: None,
        topology: Topology::Any,
    }
}
