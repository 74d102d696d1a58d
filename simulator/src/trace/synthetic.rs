//! A seeded synthetic workload generator: Poisson arrivals and a job-size mix, for workloads of any size.
//!
//! Job `i` is submitted at the `i`-th arrival of a Poisson process of `jobs_per_hour` (exponential gaps;
//! the first job at time 0). Its (duration, GPU count) comes from a [`SizeMix`]:
//!
//! - [`SizeMix::Empirical`]: a pair drawn uniformly from a table, by default Gavel's
//!   `philly_job_distribution.csv` (33,192 Philly jobs), the joint distribution Gavel and Blox sample;
//! - [`SizeMix::Gavel`]: Gavel's parametric mix — duration `60 × 10^U(1.5, 3)` s with probability 0.8, else
//!   `60 × 10^U(3, 4)` s; 1 GPU with probability 0.7, 2 with 0.1, 4 with 0.15, 8 with 0.05.
//!
//! Each job is a gang of whole GPUs as [`gpu_gang`](super::gpu_gang) builds it, queue `default`, priority 0.
//! The random stream is ChaCha8 seeded with [`SyntheticConfig::seed`], and the logarithm and power are
//! computed with portable arithmetic, so a seed gives the same workload on every platform. A job costs the
//! size of one [`TraceJob`] (48 bytes); gangs are shared.

use std::path::Path;

use phalanx_core::{Span, Time};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::csv::{Csv, TraceError};
use crate::trace::math::{exp, ln};
use crate::trace::{Estimates, GangShapes};
use crate::workload::{TraceJob, Workload};

/// A table of (duration, GPU count) pairs to draw job sizes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobSizeTable {
    sizes: Vec<(Span, u32)>,
}

const SIZE_COLUMNS: [&str; 2] = ["duration_s", "num_gpus"];

impl JobSizeTable {
    /// Reads a `duration_s,num_gpus` table (durations in seconds, positive, fractions allowed and rounded to
    /// the millisecond; GPU counts positive).
    pub fn read(path: &Path) -> Result<JobSizeTable, TraceError> {
        JobSizeTable::from_csv(Csv::open(path, &SIZE_COLUMNS)?)
    }

    /// Parses a `duration_s,num_gpus` table from text (as if read from `path`).
    pub fn parse(path: &Path, text: String) -> Result<JobSizeTable, TraceError> {
        JobSizeTable::from_csv(Csv::from_text(path, text, &SIZE_COLUMNS)?)
    }

    fn from_csv(csv: Csv) -> Result<JobSizeTable, TraceError> {
        let [dur, gpus] = SIZE_COLUMNS.map(|c| csv.col(c));
        let sizes = csv.rows(|row| {
            let secs = row.f64(dur)?;
            let ms = (secs * 1000.0).round();
            if !(1.0..1e15).contains(&ms) {
                return Err(row.error(dur, "a positive number of seconds (at least 0.0005, below 10^12)"));
            }
            let g = u32::try_from(row.u64(gpus)?)
                .ok()
                .filter(|g| *g > 0)
                .ok_or_else(|| row.error(gpus, "a positive GPU count below 2^32"))?;
            Ok((Span(ms as u64), g))
        })?;
        Ok(JobSizeTable { sizes })
    }

    /// A table from pairs (duration, GPUs).
    pub fn from_pairs(sizes: Vec<(Span, u32)>) -> JobSizeTable {
        JobSizeTable { sizes }
    }

    /// The pairs.
    pub fn pairs(&self) -> &[(Span, u32)] {
        &self.sizes
    }
}

/// Where job sizes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeMix {
    /// A pair drawn uniformly from the table.
    Empirical(JobSizeTable),
    /// Gavel's parametric duration and GPU-count mix.
    Gavel,
}

/// The generator's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticConfig {
    /// Seed of the random stream.
    pub seed: u64,
    /// Number of jobs.
    pub jobs: usize,
    /// Mean arrival rate (jobs an hour), positive.
    pub jobs_per_hour: f64,
    /// Job sizes.
    pub sizes: SizeMix,
    /// GPUs per node, for splitting large jobs into tasks (8 for the Philly mix).
    pub gpus_per_node: u32,
    /// Runtime estimates.
    pub estimates: Estimates,
}

/// A configuration the generator cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntheticError {
    /// The arrival rate is not a positive finite number.
    #[error("jobs_per_hour must be a positive finite number, got {0}")]
    Rate(String),
    /// The size table is empty.
    #[error("the empirical size table is empty")]
    EmptyTable,
    /// No GPUs per node.
    #[error("gpus_per_node must be positive")]
    GpusPerNode,
    /// The jobs do not fit in memory.
    #[error("cannot hold {0} jobs in memory")]
    TooMany(usize),
}

const MS_PER_HOUR: f64 = 3_600_000.0;
const LN_10: f64 = std::f64::consts::LN_10;

/// Generates the workload `config` describes.
pub fn generate(config: &SyntheticConfig) -> Result<Workload, SyntheticError> {
    let rate = config.jobs_per_hour;
    if !(rate.is_finite() && rate > 0.0) {
        return Err(SyntheticError::Rate(rate.to_string()));
    }
    if matches!(&config.sizes, SizeMix::Empirical(t) if t.sizes.is_empty()) {
        return Err(SyntheticError::EmptyTable);
    }
    if config.gpus_per_node == 0 {
        return Err(SyntheticError::GpusPerNode);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut w = Workload::new(format!("synthetic-seed{}", config.seed), "");
    let queue = w.queue_index("default");
    let mut shapes = GangShapes::new(config.gpus_per_node);
    let mean_gap_ms = MS_PER_HOUR / rate;
    let mut t_ms = 0.0f64;
    w.jobs
        .try_reserve_exact(config.jobs)
        .map_err(|_| SyntheticError::TooMany(config.jobs))?;
    for i in 0..config.jobs {
        if i > 0 {
            // 1 - u is in (0, 1]: its logarithm is finite.
            let u: f64 = rng.gen();
            t_ms += -ln(1.0 - u) * mean_gap_ms;
        }
        let (duration, gpus) = match &config.sizes {
            SizeMix::Empirical(table) => {
                let k = rng.gen_range(0..table.sizes.len() as u64) as usize;
                table.sizes[k]
            }
            SizeMix::Gavel => gavel_size(&mut rng),
        };
        let shape = shapes.shape(&mut w, gpus);
        w.jobs.push(TraceJob {
            submit: Time(t_ms.round() as u64),
            duration,
            queue,
            priority: 0,
            estimate: config.estimates.of(duration),
            shape,
            line: 0,
        });
    }
    Ok(w)
}

fn gavel_size(rng: &mut ChaCha8Rng) -> (Span, u32) {
    let long: f64 = rng.gen();
    let (lo, hi) = if long >= 0.8 { (3.0, 4.0) } else { (1.5, 3.0) };
    let x: f64 = lo + (hi - lo) * rng.gen::<f64>();
    let secs = 60.0 * exp(x * LN_10);
    let r: f64 = rng.gen();
    let gpus = if r < 0.7 {
        1
    } else if r < 0.8 {
        2
    } else if r < 0.95 {
        4
    } else {
        8
    };
    (Span((secs * 1000.0).round().max(1.0) as u64), gpus)
}
