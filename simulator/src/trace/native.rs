//! Phalanx's native workload format: JSON Lines, one job per line, carrying the whole job model.
//!
//! ```text
//! {"submit_ms":0,"duration_ms":3600000,"queue":"vc-a","priority":0,"estimate_ms":3000000,"groups":[{"name":"worker","count":2,"cpu_milli":8000,"memory_mib":65536,"gpus":8,"gpu_milli":1000,"models":["nvidia/V100","nvidia/A100"]}]}
//! {"submit_ms":1500,"duration_ms":60000,"groups":[{"gpus":1,"gpu_milli":250}]}
//! ```
//!
//! | field | meaning | default |
//! |---|---|---|
//! | `submit_ms` | submit time, milliseconds | required |
//! | `duration_ms` | true running time, milliseconds, positive | required |
//! | `queue` | queue (tenant, virtual cluster) | `"default"` |
//! | `priority` | larger runs first under the priority order | `0` |
//! | `estimate_ms` | running time the scheduler is told | none |
//! | `groups` | the gang's task groups, at least one task in all | required |
//! | `groups[].name` | name for reports | `""` |
//! | `groups[].count` | tasks in the group | `1` |
//! | `groups[].cpu_milli`, `memory_mib` | per task | `0` |
//! | `groups[].gpus` | GPU devices per task | `0` |
//! | `groups[].gpu_milli` | milli-GPU of each device (below 1000 only with `gpus: 1`) | `1000` with GPUs, else `0` |
//! | `groups[].models` | allowed GPU models, `vendor/name` | `[]` (any) |
//! | `groups[].elastic` | `{"min": m, "max": n}` bounds with `m <= count <= n` | none |
//!
//! Unknown fields are errors (a misspelt field would otherwise be silently defaulted). Lines may come in any
//! order; jobs are sorted by submit time (stable). Blank lines are skipped. Every error names the file, the
//! line and, for syntax and type errors, the column.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use phalanx_core::{Elastic, GpuModel, Span, TaskGroup, TaskRequest, Time, Topology, WHOLE_GPU};
use serde::{Deserialize, Serialize};

use crate::csv::TraceError;
use crate::trace::stem;
use crate::workload::{TraceJob, Workload};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeJob {
    submit_ms: Time,
    duration_ms: Span,
    #[serde(default = "default_queue")]
    queue: String,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    estimate_ms: Option<Span>,
    groups: Vec<NativeGroup>,
}

fn default_queue() -> String {
    "default".to_owned()
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NativeGroup {
    #[serde(default)]
    name: String,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    cpu_milli: u64,
    #[serde(default)]
    memory_mib: u64,
    #[serde(default)]
    gpus: u32,
    #[serde(default)]
    gpu_milli: Option<u32>,
    #[serde(default)]
    models: Vec<GpuModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    elastic: Option<NativeElastic>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NativeElastic {
    min: u32,
    max: u32,
}

impl NativeGroup {
    fn from_group(g: &TaskGroup) -> NativeGroup {
        NativeGroup {
            name: g.name.clone(),
            count: g.count,
            cpu_milli: g.request.cpu_milli,
            memory_mib: g.request.memory_mib,
            gpus: g.request.gpus,
            gpu_milli: Some(g.request.gpu_milli),
            models: g.request.models.clone(),
            elastic: g.elastic.map(|e| NativeElastic { min: e.min, max: e.max }),
        }
    }

    fn to_group(&self) -> TaskGroup {
        TaskGroup {
            name: self.name.clone(),
            count: self.count,
            request: TaskRequest {
                cpu_milli: self.cpu_milli,
                memory_mib: self.memory_mib,
                gpus: self.gpus,
                gpu_milli: self.gpu_milli.unwrap_or(0),
                models: self.models.clone(),
            },
            elastic: self.elastic.map(|e| Elastic { min: e.min, max: e.max }),
            topology: Topology::Any,
        }
    }
}

/// Reads a native JSON Lines workload.
pub fn read_native(path: &Path) -> Result<Workload, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_native(path, &text)
}

/// Parses a native JSON Lines workload from text (as if read from `path`).
pub fn parse_native(path: &Path, text: &str) -> Result<Workload, TraceError> {
    let mut w = Workload::new(stem(path), path);
    let mut shapes: BTreeMap<Vec<NativeGroup>, u32> = BTreeMap::new();
    let mut queues: BTreeMap<String, u32> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if line.trim().is_empty() {
            continue;
        }
        let job: NativeJob = serde_json::from_str(line).map_err(|e| json_error(path, line_no, &e))?;
        let field = |column: &str, expected: &str, value: String| TraceError::Field {
            path: path.to_owned(),
            line: line_no,
            column: column.to_owned(),
            expected: expected.to_owned(),
            value,
        };
        if job.duration_ms == Span(0) {
            return Err(field("duration_ms", "a positive duration in milliseconds", "0".into()));
        }
        let mut groups = job.groups;
        let tasks: u64 = groups.iter().map(|g| u64::from(g.count)).sum();
        if tasks == 0 {
            return Err(field(
                "groups",
                "at least one task over all groups",
                serde_json::to_string(&groups).unwrap_or_default(),
            ));
        }
        for (gi, g) in groups.iter_mut().enumerate() {
            let milli = *g.gpu_milli.get_or_insert(if g.gpus > 0 { WHOLE_GPU } else { 0 });
            let col = |name: &str| format!("groups[{gi}].{name}");
            if g.gpus == 0 && milli > 0 {
                return Err(field(
                    &col("gpu_milli"),
                    "0 (or no field) for a task without GPUs",
                    milli.to_string(),
                ));
            }
            if g.gpus > 0 && !(1..=WHOLE_GPU).contains(&milli) {
                return Err(field(
                    &col("gpu_milli"),
                    "a share of each GPU in 1..=1000",
                    milli.to_string(),
                ));
            }
            if g.gpus > 1 && milli < WHOLE_GPU {
                return Err(field(
                    &col("gpu_milli"),
                    "1000 for a task of several GPUs (only a single GPU can be shared)",
                    milli.to_string(),
                ));
            }
            if let Some(e) = g.elastic {
                if !(e.min <= g.count && g.count <= e.max) {
                    return Err(field(
                        &col("elastic"),
                        &format!("bounds with min <= count ({}) <= max", g.count),
                        format!("{{\"min\":{},\"max\":{}}}", e.min, e.max),
                    ));
                }
            }
        }
        let queue = match queues.get(&job.queue) {
            Some(q) => *q,
            None => {
                let q = w.queues.len() as u32;
                w.queues.push(job.queue.clone());
                queues.insert(job.queue, q);
                q
            }
        };
        let next_shape = w.shapes.len() as u32;
        let shape = match shapes.get(&groups) {
            Some(s) => *s,
            None => {
                w.shapes.push(groups.iter().map(NativeGroup::to_group).collect());
                shapes.insert(groups, next_shape);
                next_shape
            }
        };
        w.jobs.push(TraceJob {
            submit: job.submit_ms,
            duration: job.duration_ms,
            queue,
            priority: job.priority,
            estimate: job.estimate_ms,
            shape,
            line: u32::try_from(line_no).unwrap_or(u32::MAX),
        });
    }
    if w.jobs.is_empty() {
        return Err(TraceError::File {
            path: path.to_owned(),
            problem: "no jobs: expected one JSON object per line (Phalanx native format)".into(),
        });
    }
    w.sort_by_submit();
    Ok(w)
}

fn json_error(path: &Path, line: usize, e: &serde_json::Error) -> TraceError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    TraceError::Json {
        path: path.to_owned(),
        line,
        column: e.column(),
        message: text.strip_suffix(&suffix).unwrap_or(&text).to_owned(),
    }
}

/// Writes `w` in the native format, one job per line in workload order.
pub fn write_native(w: &Workload, out: &mut impl Write) -> std::io::Result<()> {
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let groups: Vec<String> = w
        .shapes
        .iter()
        .map(|s| serde_json::to_string(&s.iter().map(NativeGroup::from_group).collect::<Vec<_>>()))
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let queues: Vec<String> = w
        .queues
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let mut line = String::new();
    for (i, j) in w.jobs.iter().enumerate() {
        let (Some(queue), Some(groups)) = (queues.get(j.queue as usize), groups.get(j.shape as usize)) else {
            return Err(invalid(format!(
                "job {i} refers to a queue or task-group list the workload lacks"
            )));
        };
        line.clear();
        let _ = write!(
            line,
            "{{\"submit_ms\":{},\"duration_ms\":{},\"queue\":{queue},\"priority\":{}",
            j.submit.0, j.duration.0, j.priority
        );
        if let Some(e) = j.estimate {
            let _ = write!(line, ",\"estimate_ms\":{}", e.0);
        }
        let _ = writeln!(line, ",\"groups\":{groups}}}");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes `w` to the file `path` in the native format.
pub fn save_native(w: &Workload, path: &Path) -> Result<(), TraceError> {
    let io = |source| TraceError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    write_native(w, &mut out).map_err(io)?;
    out.flush().map_err(io)
}
