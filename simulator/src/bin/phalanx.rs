//! The `phalanx` command-line program.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use phalanx_core::fgd::PaperPolicy;
use phalanx_core::Placement;
use phalanx_sim::openb;
use phalanx_sim::pack::{self, Workload};

#[derive(Parser)]
#[command(name = "phalanx", version, about = "Phalanx: GPU-aware batch and AI job scheduling")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlacementArg {
    Firstfit,
    Bestfit,
    Worstfit,
}

impl From<PlacementArg> for Placement {
    fn from(p: PlacementArg) -> Placement {
        match p {
            PlacementArg::Firstfit => Placement::FirstFit,
            PlacementArg::Bestfit => Placement::BestFit,
            PlacementArg::Worstfit => Placement::WorstFit,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Replay a trace with one queue order (default: FIFO on the Helios Philly table, per virtual cluster).
    Simulate(phalanx_sim::cli::SimulateArgs),
    /// Replay a trace with several queue orders side by side (default: FIFO, SJF, SRTF on the Helios Philly table).
    Compare(phalanx_sim::cli::CompareArgs),
    /// Run an experiment file (e.g. `experiments/helios-philly.toml`).
    Run(phalanx_sim::cli::RunArgs),
    /// Place an openb pod list onto an openb node list at once and report what fit.
    Place {
        /// Node list (openb CSV: sn,cpu_milli,memory_mib,gpu,model).
        #[arg(long, default_value = "traces/alibaba-openb/openb_node_list_gpu_node.csv")]
        nodes: PathBuf,
        /// Pod list (openb CSV: name,cpu_milli,memory_mib,num_gpu,gpu_milli,...).
        #[arg(long, default_value = "traces/alibaba-openb/openb_pod_list_default.csv")]
        pods: PathBuf,
        /// Placement policy.
        #[arg(long, value_enum, default_value = "bestfit")]
        policy: PlacementArg,
    },
    /// Run the FGD paper's packing experiment: place the pods of each pod list one at a time, none ever
    /// leaving, with each policy and seed; write DIR/summary.csv, DIR/runs.csv and DIR/allocation.svg.
    Pack(PackArgs),
}

#[derive(Args)]
struct PackArgs {
    /// Node list (openb CSV: sn,cpu_milli,memory_mib,gpu,model).
    #[arg(long, default_value = "traces/alibaba-openb/openb_node_list_gpu_node.csv")]
    nodes: PathBuf,
    /// Pod lists (repeat the option or separate with commas); each is a workload named after its file.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "traces/alibaba-openb/openb_pod_list_default.csv"
    )]
    pods: Vec<PathBuf>,
    /// Policies: comma-separated among random, dotprod, clustering, packing, bestfit, fgd; or `all`.
    #[arg(long, default_value = "all", value_parser = parse_policies)]
    policy: Policies,
    /// Seeds: a range `42-51`, a list `42,45` or both (`42-45,50`).
    #[arg(long, default_value = "42-51", value_parser = parse_seeds)]
    seeds: Seeds,
    /// Inflate the pod list to this multiple of the cluster's GPU capacity.
    #[arg(long, default_value_t = 1.3)]
    inflate: f64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The paper's results to compare with, e.g. traces/fgd-expected/summary.csv.
    #[arg(long)]
    expected: Option<PathBuf>,
}

/// Parsed `--policy`.
#[derive(Clone, Debug)]
struct Policies(Vec<PaperPolicy>);

fn parse_policies(s: &str) -> Result<Policies, String> {
    if s.trim() == "all" {
        return Ok(Policies(PaperPolicy::ALL.to_vec()));
    }
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        let p: PaperPolicy = name
            .parse()
            .map_err(|e: phalanx_core::fgd::UnknownPolicy| e.to_string())?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(Policies(out))
}

/// Parsed `--seeds`.
#[derive(Clone, Debug)]
struct Seeds(Vec<u64>);

fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let bad = |part: &str| format!("`{part}` is not a seed or a range of seeds like `42-51`");
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (
                    a.trim().parse().map_err(|_| bad(part))?,
                    b.trim().parse().map_err(|_| bad(part))?,
                );
                if a > b || b - a > 100_000 {
                    return Err(bad(part));
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad(part))?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Seeds(out))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the message already carries.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(args) => phalanx_sim::cli::simulate(&args),
        Command::Compare(args) => phalanx_sim::cli::compare(&args),
        Command::Run(args) => phalanx_sim::cli::run(&args),
        Command::Place { nodes, pods, policy } => {
            let t0 = Instant::now();
            let node_list = openb::read_nodes(&nodes)?;
            let pod_list = openb::read_pods(&pods)?;
            let t1 = Instant::now();
            let r = phalanx_sim::place::place(&node_list, &pod_list, policy.into())
                .with_context(|| format!("building the cluster from {}", nodes.display()))?;
            let t2 = Instant::now();
            println!(
                "cluster: {} nodes, {} GPUs ({})",
                r.nodes,
                r.cluster_gpus,
                nodes.display()
            );
            println!("pods:    {} submitted ({})", r.pods, pods.display());
            println!(
                "placed:  {} pods ({:.1} %), {:.2} GPUs of {:.2} requested ({:.1} % of the cluster's GPUs)",
                r.placed,
                pct(r.placed as f64, r.pods as f64),
                r.gpu_milli_placed as f64 / 1000.0,
                r.gpu_milli_requested as f64 / 1000.0,
                pct(r.gpu_milli_placed as f64 / 1000.0, r.cluster_gpus as f64),
            );
            println!("no room: {} pods", r.unplaced);
            println!("rejected: {} pods", r.rejected.len());
            for (name, reason) in r.rejected.iter().take(10) {
                println!("  {name}: {reason}");
            }
            if r.rejected.len() > 10 {
                println!("  … and {} more", r.rejected.len() - 10);
            }
            println!(
                "time:    read {:.1} ms, scheduled {:.1} ms",
                (t1 - t0).as_secs_f64() * 1e3,
                (t2 - t1).as_secs_f64() * 1e3
            );
            Ok(())
        }
        Command::Pack(args) => pack_cmd(args),
    }
}

fn pack_cmd(args: PackArgs) -> Result<()> {
    let PackArgs {
        nodes,
        pods,
        policy: Policies(policies),
        seeds: Seeds(seeds),
        inflate,
        out,
        threads,
        expected,
    } = args;
    if policies.is_empty() || seeds.is_empty() {
        bail!("nothing to run: give at least one policy and one seed");
    }
    if !(inflate.is_finite() && inflate > 0.0) {
        bail!("--inflate must be a positive number, got {inflate}");
    }
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let node_list = openb::read_nodes(&nodes)?;
    let gpus: u64 = node_list.iter().map(|n| u64::from(n.gpus)).sum();
    let workloads = pods
        .iter()
        .map(|p| Workload::from_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    let expected = expected.map(|p| pack::read_summary(&p)).transpose()?;
    println!(
        "cluster:   {} nodes, {gpus} GPUs ({})",
        node_list.len(),
        nodes.display()
    );
    for w in &workloads {
        println!(
            "workload:  {} ({} pods, {} typical)",
            w.name(),
            w.pods().len(),
            w.typical().len()
        );
    }
    let runs = workloads.len() * policies.len() * seeds.len();
    let t0 = Instant::now();
    let results = pack::run_all(&node_list, &workloads, &policies, &seeds, inflate, threads)
        .with_context(|| format!("building the cluster from {}", nodes.display()))?;
    let wall = t0.elapsed();
    println!(
        "ran:       {runs} runs ({} workloads × {} policies × {} seeds, inflate {inflate}) on {threads} threads in {:.2} s",
        workloads.len(),
        policies.len(),
        seeds.len(),
        wall.as_secs_f64()
    );
    let rows = pack::summarize(&results);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("summary.csv", pack::summary_csv(&rows))?;
    write("runs.csv", pack::runs_csv(&results))?;
    write("allocation.svg", pack::allocation_svg(&rows))?;

    println!();
    println!("Unallocated GPU % at arrived = 100 % (mean over seeds), failed pods per run, time per run:");
    let paper = if expected.is_some() { "   paper       Δ" } else { "" };
    println!(
        "{:<28} {:<11} {:>8} {:>6} {:>8} {:>9}{paper}",
        "workload", "policy", "unalloc", "sd", "failed", "ms/run"
    );
    for w in &workloads {
        for &p in &policies {
            let mine: Vec<&pack::RunResult> = results
                .iter()
                .filter(|r| r.workload == w.name() && r.policy == p)
                .collect();
            let row = rows
                .iter()
                .find(|r| r.workload == w.name() && r.policy == p.name() && r.arrive_pct == 100);
            let failed = mine.iter().map(|r| r.failed as f64).sum::<f64>() / mine.len() as f64;
            let ms = mine.iter().map(|r| r.elapsed.as_secs_f64() * 1e3).sum::<f64>() / mine.len() as f64;
            let (unalloc, sd) = row.map_or(("-".to_owned(), "-".to_owned()), |r| {
                (format!("{:.2}", r.unalloc_mean), format!("{:.2}", r.alloc_sd))
            });
            let mut line = format!(
                "{:<28} {:<11} {unalloc:>8} {sd:>6} {failed:>8.1} {ms:>9.1}",
                w.name(),
                p.name()
            );
            if let Some(e) = &expected {
                match (pack::expected_at(e, w.name(), p, 100), row) {
                    (Some(e), Some(r)) => {
                        line += &format!(" {:>7.2} {:>+7.2}", e.unalloc_mean, r.unalloc_mean - e.unalloc_mean)
                    }
                    (Some(e), None) => line += &format!(" {:>7.2}       -", e.unalloc_mean),
                    (None, _) => line += "       -       -",
                }
            }
            println!("{line}");
        }
        let rejected: Vec<&pack::RunResult> = results
            .iter()
            .filter(|r| r.workload == w.name() && r.rejected > 0)
            .collect();
        if let Some(r) = rejected.first() {
            let (pod, why) = r.reject_example.clone().unwrap_or_default();
            println!(
                "  note: {} pod(s) of {} can never run on this cluster and count as failed (e.g. {pod}: {why})",
                r.rejected,
                w.name()
            );
        }
    }
    println!();
    println!("wrote {}/summary.csv, runs.csv, allocation.svg", out.display());
    Ok(())
}

fn pct(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        100.0 * a / b
    }
}
