//! The simulation subcommands of the `phalanx` program: `simulate`, `compare` and `run`.
//!
//! They build an [`Experiment`] from their arguments (or read one from TOML), run it with a progress bar
//! when it takes more than a second, print a table and write the results.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use crate::experiment::{
    self, ClusterConfig, EstimatesConfig, Experiment, Loaded, PolicyConfig, TraceConfig, TraceFormat,
};

/// The trace and cluster arguments shared by `simulate` and `compare`. The defaults are the Helios
/// experiment on the shipped Philly table: per virtual cluster, oracle estimates, consolidate placement.
#[derive(Clone, Debug, Args)]
pub struct SourceArgs {
    /// Trace file.
    #[arg(long, default_value = "traces/philly/philly.csv")]
    pub trace: PathBuf,
    /// Trace format.
    #[arg(long, value_enum, default_value = "helios")]
    pub format: TraceFormat,
    /// Virtual-cluster table (`vc,node num`) for `--format helios`.
    #[arg(long, default_value = "traces/philly/philly_vc.csv")]
    pub vcs: PathBuf,
    /// Give the scheduler each job's true duration as its estimate (what SJF and SRTF need).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub oracle: bool,
    /// Cluster spec, e.g. `64x8:nvidia/V100,16x4:huawei/Ascend910B` (instead of one cluster per VC).
    #[arg(long, conflicts_with = "nodes")]
    pub cluster: Option<PathBuf>,
    /// openb node list as the cluster (instead of one cluster per VC).
    #[arg(long)]
    pub nodes: Option<PathBuf>,
    /// Jobs to generate (`--format synthetic`).
    #[arg(long, default_value_t = 10_000)]
    pub jobs: usize,
    /// Generator seed (`--format synthetic`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Mean arrivals per hour (`--format synthetic`).
    #[arg(long, default_value_t = 200.0)]
    pub jobs_per_hour: f64,
    /// Placement: firstfit, bestfit, worstfit, consolidate.
    #[arg(long, default_value = "consolidate")]
    pub placement: String,
    /// Head-of-line rule: block or skip.
    #[arg(long, default_value = "block")]
    pub head_of_line: String,
    /// Checkpoint cost of a preemption: none or helios (7 s / 30 s / 60 s).
    #[arg(long, default_value = "helios")]
    pub checkpoint: String,
    /// Output folder.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
}

impl SourceArgs {
    fn experiment(&self, name: &str, queues: &[String]) -> Experiment {
        let mut trace = TraceConfig::new(self.format, self.trace.clone());
        trace.vcs = Some(self.vcs.clone());
        trace.estimates = if self.oracle {
            EstimatesConfig::Oracle
        } else {
            EstimatesConfig::None
        };
        trace.jobs = Some(self.jobs);
        trace.seed = Some(self.seed);
        trace.jobs_per_hour = Some(self.jobs_per_hour);
        let per_vc = self.cluster.is_none() && self.nodes.is_none();
        let cluster = ClusterConfig {
            spec: self.cluster.as_ref().map(|p| p.display().to_string()),
            nodes: self.nodes.clone(),
            per_queue: per_vc.then(|| self.vcs.clone()),
            gpu_model: None,
        };
        let policies = queues
            .iter()
            .map(|q| PolicyConfig {
                name: q.clone(),
                queue: q.clone(),
                placement: self.placement.clone(),
                head_of_line: self.head_of_line.clone(),
                checkpoint: self.checkpoint.clone(),
            })
            .collect();
        Experiment {
            name: name.to_owned(),
            description: String::new(),
            trace,
            cluster,
            policies,
            seeds: vec![0],
            split_by_queue: per_vc,
            sample_every_s: 60,
        }
    }
}

/// `phalanx simulate`: one queue order.
#[derive(Clone, Debug, Args)]
pub struct SimulateArgs {
    /// Queue order: fifo, priority, sjf, srtf.
    #[arg(long, default_value = "fifo")]
    pub queue: String,
    /// Trace, cluster and output.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// `phalanx compare`: several queue orders side by side.
#[derive(Clone, Debug, Args)]
pub struct CompareArgs {
    /// Queue orders to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "fifo,sjf,srtf")]
    pub policies: Vec<String>,
    /// Trace, cluster and output.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// `phalanx run`: an experiment file.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// The experiment (TOML), e.g. `experiments/helios-philly.toml`.
    pub experiment: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
}

/// Runs `phalanx simulate`.
pub fn simulate(args: &SimulateArgs) -> Result<()> {
    let exp = args.source.experiment("simulate", std::slice::from_ref(&args.queue));
    execute(&exp, &args.source.out)
}

/// Runs `phalanx compare`.
pub fn compare(args: &CompareArgs) -> Result<()> {
    let exp = args.source.experiment("compare", &args.policies);
    execute(&exp, &args.source.out)
}

/// Runs `phalanx run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let exp = Experiment::from_file(&args.experiment)?;
    execute(&exp, &args.out)
}

fn execute(exp: &Experiment, out: &std::path::Path) -> Result<()> {
    for p in &exp.policies {
        p.config().map_err(|m| anyhow::anyhow!("policy `{}`: {m}", p.name))?;
    }
    let t0 = Instant::now();
    let loaded: Loaded = experiment::load(exp)?;
    if let Some(report) = &loaded.report {
        println!("trace: {report}");
    }
    let t1 = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = mpsc::channel::<()>();
    let watcher = {
        let (done, total) = (done.clone(), total.clone());
        std::thread::spawn(move || {
            // Show a bar only if the runs take more than a second.
            if stopped.recv_timeout(Duration::from_secs(1)).is_ok() {
                return;
            }
            let bar = indicatif::ProgressBar::new(total.load(Ordering::Relaxed) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} runs")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            loop {
                bar.set_length(total.load(Ordering::Relaxed) as u64);
                bar.set_position(done.load(Ordering::Relaxed) as u64);
                if stopped.recv_timeout(Duration::from_millis(100)).is_ok() {
                    bar.finish_and_clear();
                    return;
                }
            }
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let result = experiment::run(exp, &loaded, threads, |d, t| {
        total.store(t, Ordering::Relaxed);
        done.store(d, Ordering::Relaxed);
    });
    let _ = stop.send(());
    let _ = watcher.join();
    let outcome = result?;
    let t2 = Instant::now();
    experiment::write(out, exp, &outcome).with_context(|| format!("writing results to {}", out.display()))?;
    print!("{}", experiment::table(exp, &outcome));
    println!(
        "{} runs over {} jobs: read in {:.2} s, simulated in {:.2} s; results in {}",
        outcome.runs.len(),
        loaded.workload.jobs.len(),
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        out.display()
    );
    Ok(())
}
