//! The `phalanx` command-line program.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use phalanx_core::Placement;
use phalanx_sim::openb;

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
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    }
}

fn pct(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        100.0 * a / b
    }
}
