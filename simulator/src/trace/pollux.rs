//! Pollux (OSDI'21) workloads: `workload-N.csv`, `name,time,application,num_replicas,batch_size`.
//!
//! The files give submit times (`time`, seconds), the application, and the size a fixed-size scheduler
//! runs the job at (`num_replicas` GPUs, global `batch_size`), but no running time: in the Pollux artifact a
//! job runs until it has trained its application's fixed number of epochs, at a speed given by measured
//! profiles. This reader gives each job the **running time it has in the Pollux artifact's own simulator when
//! it holds `num_replicas` GPUs, packed 4 to a node, with `batch_size`, from start to end** (the way its
//! Tiresias baseline runs jobs), computed from the shipped profiles exactly as that simulator computes it:
//!
//! 1. Local batch size `ceil(batch_size / num_replicas)`; gradient accumulation steps
//!    `ceil(local / max_local) − 1` (at least 1 for a single replica whose batch exceeds the application's
//!    initial batch size); atomic batch `ceil(local / (accum + 1))`, capped at
//!    `max_batch / (num_replicas × (accum + 1))`; effective batch `B = num_replicas × atomic × (accum + 1)`.
//!    `max_local` is the largest local batch in `placements.csv` (8 for `yolov3`, as the artifact sets it),
//!    the initial and largest batch sizes are the smallest and largest `validation-<batch>.csv`.
//! 2. Step time `t_step` and synchronisation time `t_sync` at the atomic batch, linearly interpolated in the
//!    local batch size among the rows of `placements.csv` for the placement (replicas per node, smallest
//!    rotation: 6 replicas → `24`), or, for placements not profiled there, among the rows of
//!    `scalability.csv` with the same node and replica counts. One iteration takes
//!    `t_step + accum × (t_step − t_sync)`.
//! 3. The job trains for `E` epochs, `E` the number of rows of the shortest `validation-*.csv`. Epoch `e`
//!    needs `P(e+1) − P(e)` units of progress, `P(e)` the smallest `progress` of row `e − 1` over the
//!    validation files; the job makes `gain / iteration time` units a second, where
//!    `gain = (var + sqr) / (var / s + sqr)`, `s = B / initial batch`, and `sqr`, `var` are `grad_sqr`, `grad_var`
//!    of row `e`, linearly interpolated between the validated batch sizes around `B`. Each epoch's time is
//!    rounded to whole seconds (ties to even), as the artifact does.
//! 4. Plus [`PolluxOptions::startup`] (default 30 s: the artifact's re-scale delay when a job is given GPUs).
//!
//! On workloads 1–8 this gives, for instance, 482 s for `cifar10` on 16 GPUs and 31,805 s for `imagenet` on
//! 24, against fastest published Tiresias JCTs (which include queueing and the 60-s scheduling rounds) of
//! 515 s and 36,734 s. Each job is a gang of whole GPUs as [`gpu_gang`](super::gpu_gang) builds it for
//! 4-GPU nodes (the placement the running time assumes), queue `default`, no CPU or memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use phalanx_core::{Span, Time};

use crate::csv::{Csv, TraceError};
use crate::trace::{line_u32, stem, Estimates, GangShapes};
use crate::workload::{TraceJob, Workload};

/// GPUs on a node of the Pollux cluster (16 nodes × 4 GPUs).
pub const POLLUX_GPUS_PER_NODE: u32 = 4;

/// Local batch limits the artifact sets by hand rather than from `placements.csv`.
const MAX_LOCAL_BSZ_OVERRIDES: [(&str, f64); 1] = [("yolov3", 8.0)];

/// Options of [`read_pollux`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolluxOptions {
    /// Added to every job's running time: the start-up delay the Pollux artifact charges a job given GPUs.
    pub startup: Span,
    /// Runtime estimates.
    pub estimates: Estimates,
}

impl Default for PolluxOptions {
    fn default() -> PolluxOptions {
        PolluxOptions {
            startup: Span::from_secs(30),
            estimates: Estimates::None,
        }
    }
}

/// One measured row: local batch size, step time, synchronisation time (seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    local_bsz: f64,
    step: f64,
    sync: f64,
}

/// One epoch row of a validation file.
#[derive(Clone, Copy, Debug, PartialEq)]
struct EpochRow {
    progress: f64,
    grad_sqr: f64,
    grad_var: f64,
}

/// The measured profile of one application.
#[derive(Clone, Debug, PartialEq)]
pub struct AppProfile {
    /// Validation runs by batch size.
    validation: BTreeMap<u64, Vec<EpochRow>>,
    /// `placements.csv` rows by placement id (replicas per node, e.g. `24`).
    placements: BTreeMap<String, Vec<Point>>,
    /// `scalability.csv` rows by (nodes, replicas).
    scalability: BTreeMap<(u64, u64), Vec<Point>>,
    max_local_bsz: f64,
    epochs: usize,
}

/// Why a job's running time cannot be derived from the profiles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProfileGap(pub String);

impl AppProfile {
    /// Smallest validated batch size (the application's initial batch size).
    pub fn initial_batch(&self) -> u64 {
        self.validation.keys().next().copied().unwrap_or(0)
    }

    /// Largest validated batch size.
    pub fn max_batch(&self) -> u64 {
        self.validation.keys().next_back().copied().unwrap_or(0)
    }

    /// Epochs a job trains.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Seconds of training (without start-up) for `replicas` GPUs packed 4 to a node and global batch `batch`,
    /// as the module documentation describes.
    pub fn training_secs(&self, replicas: u32, batch: u64) -> Result<u64, ProfileGap> {
        if replicas == 0 {
            return Err(ProfileGap("at least one replica".into()));
        }
        let n = u64::from(replicas);
        let init = self.initial_batch();
        let local = batch.div_ceil(n);
        let mut accum = (local as f64 / self.max_local_bsz - 1e-8).ceil().max(1.0) as u64 - 1;
        if n == 1 && batch > init {
            accum = accum.max(1);
        }
        let atomic = local.div_ceil(accum + 1).min(self.max_batch() / (n * (accum + 1)));
        if atomic == 0 {
            return Err(ProfileGap(format!(
                "a batch size that gives each of {replicas} replicas at least one sample within the largest \
                 profiled batch {}",
                self.max_batch()
            )));
        }
        let eff_batch = n * atomic * (accum + 1);
        let p = self.throughput(replicas, atomic as f64)?;
        let iteration = p.step + accum as f64 * (p.step - p.sync);
        let scale = eff_batch as f64 / init as f64;
        let (lo, hi) = self.validated_around(eff_batch)?;
        let mut total = 0.0;
        let mut progress = 0.0;
        for e in 0..self.epochs {
            let next = self
                .validation
                .values()
                .map(|rows| rows[e].progress)
                .fold(f64::INFINITY, f64::min);
            let (sqr, var) = interpolate_grad(lo, hi, eff_batch, e);
            let gain = (var + sqr) / (var / scale + sqr);
            let goodput = gain / iteration;
            let secs = ((next - progress) / goodput).round_ties_even();
            if !(secs.is_finite() && secs >= 0.0) {
                return Err(ProfileGap(format!("a finite training time (epoch {e} gives {secs})")));
            }
            total += secs;
            progress = next;
        }
        Ok(total as u64)
    }

    fn validated_around(&self, batch: u64) -> Result<(Validated<'_>, Validated<'_>), ProfileGap> {
        let lo = self.validation.range(..=batch).next_back();
        let hi = self.validation.range(batch..).next();
        match (lo, hi) {
            (Some((&lb, l)), Some((&hb, h))) => Ok(((lb, l), (hb, h))),
            _ => Err(ProfileGap(format!(
                "an effective batch size within the validated {}..={} (got {batch})",
                self.initial_batch(),
                self.max_batch()
            ))),
        }
    }

    fn throughput(&self, replicas: u32, local_bsz: f64) -> Result<Point, ProfileGap> {
        let per = POLLUX_GPUS_PER_NODE;
        let mut placement: Vec<u32> = vec![per; (replicas / per) as usize];
        if replicas % per != 0 {
            placement.push(replicas % per);
        }
        let id = (0..placement.len())
            .map(|i| {
                let rotated: Vec<u32> = placement[i..].iter().chain(&placement[..i]).copied().collect();
                rotated.iter().map(|d| d.to_string()).collect::<String>()
            })
            .min()
            .unwrap_or_default();
        let nodes = (placement.len() as u64).min(16);
        let (rows, what) = match self.placements.get(&id) {
            Some(rows) => (rows, format!("placement `{id}` of placements.csv")),
            None => match self.scalability.get(&(nodes, u64::from(replicas))) {
                Some(rows) => (
                    rows,
                    format!("{nodes} nodes and {replicas} replicas of scalability.csv"),
                ),
                None => {
                    return Err(ProfileGap(format!(
                        "a replica count with a measured throughput (no placement `{id}` in placements.csv, \
                         no {nodes} nodes × {replicas} replicas in scalability.csv)"
                    )))
                }
            },
        };
        interpolate_point(rows, local_bsz).ok_or_else(|| {
            let lo = rows.first().map_or(0.0, |p| p.local_bsz);
            let hi = rows.last().map_or(0.0, |p| p.local_bsz);
            ProfileGap(format!(
                "a local batch size within {lo}..={hi}, the rows of {what} (got {local_bsz})"
            ))
        })
    }
}

/// A validated batch size and its epoch rows.
type Validated<'a> = (u64, &'a [EpochRow]);

fn interpolate_grad(lo: Validated<'_>, hi: Validated<'_>, batch: u64, e: usize) -> (f64, f64) {
    let (l, h) = (lo.1[e], hi.1[e]);
    if lo.0 == hi.0 {
        return (l.grad_sqr, l.grad_var);
    }
    let (b, lb, hb) = (batch as f64, lo.0 as f64, hi.0 as f64);
    let f = |lv: f64, hv: f64| ((b - lb) * hv + (hb - b) * lv) / (hb - lb);
    (f(l.grad_sqr, h.grad_sqr), f(l.grad_var, h.grad_var))
}

/// Linear interpolation in the local batch size among `rows` (sorted by it); `None` outside their range.
fn interpolate_point(rows: &[Point], x: f64) -> Option<Point> {
    if let Some(p) = rows.iter().find(|p| p.local_bsz == x) {
        return Some(*p);
    }
    let w = rows.windows(2).find(|w| w[0].local_bsz < x && x < w[1].local_bsz)?;
    let (a, b) = (w[0], w[1]);
    let t = (x - a.local_bsz) / (b.local_bsz - a.local_bsz);
    Some(Point {
        local_bsz: x,
        step: a.step + (b.step - a.step) * t,
        sync: a.sync + (b.sync - a.sync) * t,
    })
}

/// The measured profiles of the Pollux applications: a folder with one sub-folder per application
/// holding `validation-<batch>.csv`, `placements.csv` and `scalability.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct PolluxProfiles {
    dir: PathBuf,
    apps: BTreeMap<String, AppProfile>,
}

impl PolluxProfiles {
    /// Reads every application folder under `dir`.
    pub fn read(dir: &Path) -> Result<PolluxProfiles, TraceError> {
        let io = |source| TraceError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if entry.file_type().map_err(io)?.is_dir() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        if names.is_empty() {
            return Err(TraceError::File {
                path: dir.to_owned(),
                problem: "no application folders (expected e.g. `cifar10/` with validation-*.csv, \
                          placements.csv, scalability.csv)"
                    .into(),
            });
        }
        let mut apps = BTreeMap::new();
        for name in names {
            let profile = read_app(&dir.join(&name), &name)?;
            apps.insert(name, profile);
        }
        Ok(PolluxProfiles {
            dir: dir.to_owned(),
            apps,
        })
    }

    /// The profile of application `name`.
    pub fn app(&self, name: &str) -> Option<&AppProfile> {
        self.apps.get(name)
    }

    /// The application names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.apps.keys().map(String::as_str)
    }
}

fn read_app(dir: &Path, name: &str) -> Result<AppProfile, TraceError> {
    let io = |source| TraceError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut validation = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let file = entry.map_err(io)?.file_name().to_string_lossy().into_owned();
        let Some(batch) = file.strip_prefix("validation-").and_then(|f| f.strip_suffix(".csv")) else {
            continue;
        };
        let path = dir.join(&file);
        let batch: u64 = batch.parse().ok().filter(|b| *b > 0).ok_or_else(|| TraceError::File {
            path: path.clone(),
            problem: "expected a name `validation-<positive batch size>.csv`".into(),
        })?;
        let csv = Csv::open(&path, &["progress", "grad_sqr", "grad_var"])?;
        let [p, s, v] = ["progress", "grad_sqr", "grad_var"].map(|c| csv.col(c));
        let rows = csv.rows(|row| {
            Ok(EpochRow {
                progress: row.f64(p)?,
                grad_sqr: row.f64(s)?,
                grad_var: row.f64(v)?,
            })
        })?;
        validation.insert(batch, rows);
    }
    let epochs = validation.values().map(Vec::len).min().unwrap_or(0);
    if epochs == 0 {
        return Err(TraceError::File {
            path: dir.to_owned(),
            problem: format!("application `{name}` has no validation-<batch>.csv file"),
        });
    }
    let point_cols = ["local_bsz", "step_time", "sync_time"];
    let path = dir.join("placements.csv");
    let csv = Csv::open(&path, &["placement", "local_bsz", "step_time", "sync_time"])?;
    let [pl, lb, st, sy] = ["placement", "local_bsz", "step_time", "sync_time"].map(|c| csv.col(c));
    let rows = csv.rows(|row| {
        let id = row.str(pl);
        if id.is_empty() || !id.bytes().all(|b| (b'1'..=b'9').contains(&b)) {
            return Err(row.error(pl, "replicas per node as digits 1-9 (e.g. `24`)"));
        }
        Ok((id.to_owned(), point(row.f64(lb)?, row.f64(st)?, row.f64(sy)?)))
    })?;
    let mut placements: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (id, p) in rows {
        placements.entry(id).or_default().push(p);
    }
    let path = dir.join("scalability.csv");
    let cols = ["num_nodes", "num_replicas", point_cols[0], point_cols[1], point_cols[2]];
    let csv = Csv::open(&path, &cols)?;
    let [nn, nr, lb, st, sy] = cols.map(|c| csv.col(c));
    let rows = csv.rows(|row| {
        Ok((
            (row.u64(nn)?, row.u64(nr)?),
            point(row.f64(lb)?, row.f64(st)?, row.f64(sy)?),
        ))
    })?;
    let mut scalability: BTreeMap<(u64, u64), Vec<Point>> = BTreeMap::new();
    for (key, p) in rows {
        scalability.entry(key).or_default().push(p);
    }
    for rows in placements.values_mut().chain(scalability.values_mut()) {
        rows.sort_by(|a, b| a.local_bsz.total_cmp(&b.local_bsz));
    }
    let max_local_bsz = MAX_LOCAL_BSZ_OVERRIDES
        .iter()
        .find(|(app, _)| *app == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| placements.values().flatten().map(|p| p.local_bsz).fold(0.0, f64::max));
    if max_local_bsz <= 0.0 {
        return Err(TraceError::File {
            path: dir.join("placements.csv"),
            problem: "no positive local batch size".into(),
        });
    }
    Ok(AppProfile {
        validation,
        placements,
        scalability,
        max_local_bsz,
        epochs,
    })
}

fn point(local_bsz: f64, step: f64, sync: f64) -> Point {
    Point { local_bsz, step, sync }
}

const COLUMNS: [&str; 5] = ["name", "time", "application", "num_replicas", "batch_size"];

/// Reads a Pollux workload file, giving each job its running time from `profiles`.
pub fn read_pollux(path: &Path, profiles: &PolluxProfiles, options: &PolluxOptions) -> Result<Workload, TraceError> {
    pollux_workload(Csv::open(path, &COLUMNS)?, profiles, options)
}

/// Parses a Pollux workload file from text (as if read from `path`).
pub fn parse_pollux(
    path: &Path,
    text: String,
    profiles: &PolluxProfiles,
    options: &PolluxOptions,
) -> Result<Workload, TraceError> {
    pollux_workload(Csv::from_text(path, text, &COLUMNS)?, profiles, options)
}

fn pollux_workload(csv: Csv, profiles: &PolluxProfiles, options: &PolluxOptions) -> Result<Workload, TraceError> {
    let [name, time, app, replicas, batch] = COLUMNS.map(|c| csv.col(c));
    let mut w = Workload::new(stem(csv.path()), csv.path());
    let queue = w.queue_index("default");
    let mut shapes = GangShapes::new(POLLUX_GPUS_PER_NODE);
    let mut memo: BTreeMap<(String, u32, u64), u64> = BTreeMap::new();
    let known = profiles.names().collect::<Vec<_>>().join(", ");
    let jobs = csv.rows(|row| {
        if row.str(name).is_empty() {
            return Err(row.error(name, "a job name"));
        }
        let submit = row.whole_u64(time, "a whole number of seconds")?;
        let app_name = row.str(app);
        let Some(profile) = profiles.app(app_name) else {
            return Err(row.error(
                app,
                format!("an application profiled in {} ({known})", profiles.dir.display()),
            ));
        };
        let n = u32::try_from(row.u64(replicas)?)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| row.error(replicas, "a positive replica count below 2^32"))?;
        let b = row.u64(batch)?;
        if b == 0 {
            return Err(row.error(batch, "a positive batch size"));
        }
        let secs = match memo.get(&(app_name.to_owned(), n, b)) {
            Some(s) => *s,
            None => {
                let s = profile
                    .training_secs(n, b)
                    .map_err(|gap| row.error(batch, format!("{gap} for {n} replicas of `{app_name}`")))?;
                memo.insert((app_name.to_owned(), n, b), s);
                s
            }
        };
        let duration = Span(Span::from_secs(secs).0.saturating_add(options.startup.0));
        if duration == Span(0) {
            return Err(row.error(batch, "a configuration that trains for a positive time"));
        }
        Ok(TraceJob {
            submit: Time::from_secs(submit),
            duration,
            queue,
            priority: 0,
            estimate: options.estimates.of(duration),
            shape: shapes.shape(&mut w, n),
            line: line_u32(row),
        })
    })?;
    w.jobs = jobs;
    w.sort_by_submit();
    Ok(w)
}
