//! `phalanx-agent`: the Phalanx node agent.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use phalanx_agent::probe::{BackendSpec, FakeNode, Probe};
use phalanx_agent::report::{render_inventory, ReportConfig, Reporter};
use phalanx_agent::run::{parse_duration, Agent, Log, RunConfig};
use phalanx_core::Location;

/// Phalanx node agent: reports this host's GPUs to the Phalanx controller.
#[derive(Parser, Debug)]
#[command(name = "phalanx-agent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Describe the node once: host, CPUs, memory and each GPU (model, memory, UUID, NVLink, MIG, health).
    Inventory {
        /// Print the JSON status the agent sends to the controller.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Report the node to a controller every interval and serve Prometheus metrics.
    Run {
        /// The controller's base URL; reports go to `<URL>/v1/node-status`. Without it, reports are only
        /// served on `/status`.
        #[arg(long, value_name = "URL")]
        controller: Option<String>,
        /// Time between reports (`5s`, `500ms`, `1m`).
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        interval: Duration,
        /// Address for `/metrics` and `/status`.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9400")]
        metrics: SocketAddr,
        /// Do not serve metrics.
        #[arg(long, conflicts_with = "metrics")]
        no_metrics: bool,
        /// Stop after this many reporting cycles (for tests and benchmarks).
        #[arg(long, value_name = "N")]
        cycles: Option<u64>,
        /// Time limit of each phase of a request to the controller (connect, send, receive).
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        request_timeout: Duration,
        #[command(flatten)]
        node: NodeArgs,
    },
}

#[derive(Args, Debug)]
struct NodeArgs {
    /// Simulate the node described in this JSON file instead of reading NVML.
    #[arg(long, value_name = "FILE")]
    fake: Option<PathBuf>,
    /// The NVML library to load.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "libnvidia-ml.so.1",
        conflicts_with = "fake"
    )]
    nvml_lib: PathBuf,
    /// The node's name (default: the host name).
    #[arg(long, value_name = "NAME")]
    node_name: Option<String>,
    /// The node's availability zone.
    #[arg(long, default_value = "")]
    zone: String,
    /// The node's rack (or NVLink / InfiniBand island).
    #[arg(long, default_value = "")]
    rack: String,
    /// A node label, `key=value`; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    labels: Vec<(String, String)>,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not a label: expected `key=value`")),
    }
}

impl NodeArgs {
    fn backend(&self) -> anyhow::Result<BackendSpec> {
        Ok(match &self.fake {
            Some(path) => BackendSpec::Fake(FakeNode::from_file(path)?),
            None => BackendSpec::Nvml {
                lib_path: Some(self.nvml_lib.clone()),
            },
        })
    }

    fn report_config(&self) -> ReportConfig {
        ReportConfig {
            node_name: self.node_name.clone(),
            labels: self.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
            location: Location {
                zone: self.zone.clone(),
                rack: self.rack.clone(),
            },
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phalanx-agent: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inventory { json, node } => {
            let sample = Probe::once(node.backend()?)?;
            let report = Reporter::new(node.report_config()).report(&sample, unix_ms());
            for w in &sample.warnings {
                eprintln!("phalanx-agent: warning: {w}");
            }
            if json {
                let text = serde_json::to_string_pretty(&report.status).context("encoding the status as JSON")?;
                println!("{text}");
            } else {
                print!("{}", render_inventory(&report.status));
            }
            Ok(())
        }
        Command::Run {
            controller,
            interval,
            metrics,
            no_metrics,
            cycles,
            request_timeout,
            node,
        } => {
            let cfg = RunConfig {
                interval,
                controller,
                metrics: (!no_metrics).then_some(metrics),
                cycles,
                request_timeout,
                report: node.report_config(),
                ..RunConfig::default()
            };
            let agent = Agent::start(node.backend()?, cfg, Log::stderr())?;
            agent.run()?;
            Ok(())
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
