//! Macro benchmark of the simulation engine: a synthetic 1-million-job trace (Poisson arrivals, a mix of
//! 1–32-GPU jobs and minutes-to-hours durations) on a 10,000-node, 80,000-GPU cluster, FIFO and best fit.
//! Prints events per second and the peak heap per job in flight.
//!
//! `cargo bench -p phalanx-benches --bench engine` (`PHALANX_BENCH_JOBS`, `PHALANX_BENCH_NODES` change the size)

use std::time::Instant;

use phalanx_benches::{synthetic, Counting};
use phalanx_core::builders::NodeBuilder;
use phalanx_core::{Config, HeadOfLine, Placement, QueueOrder};
use phalanx_sim::engine::{simulate, SimConfig};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("engine: benchmark");
        return;
    }
    let jobs: usize = std::env::var("PHALANX_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let node_count: usize = std::env::var("PHALANX_BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let nodes: Vec<_> = (0..node_count)
        .map(|i| {
            NodeBuilder::new(format!("node-{i:05}"))
                .cpu(96_000)
                .mem(786_432)
                .gpus(8, "nvidia/V100")
                .build()
        })
        .collect();
    let t = Instant::now();
    let workload = synthetic(jobs, 8.0 * node_count as f64, 42);
    let gen = t.elapsed();
    let config = SimConfig {
        scheduler: Config {
            queue: QueueOrder::Fifo,
            placement: Placement::BestFit,
            head_of_line: HeadOfLine::Block,
            ..Default::default()
        },
        sample_every: None,
    };
    // The cluster's own state (nodes, devices, indexes), measured alone: a fixed cost, not per job.
    let before = Counting::live();
    let mut empty = phalanx_core::Scheduler::new(config.scheduler);
    phalanx_sim::engine::add_nodes(&mut empty, nodes.iter().cloned()).expect("valid cluster");
    let cluster_bytes = Counting::live() - before;
    drop(empty);
    let base = Counting::live();
    Counting::reset_peak();
    let t = Instant::now();
    let r = simulate(&workload, &nodes, &config).expect("valid cluster");
    let dt = t.elapsed();
    let peak = Counting::peak() - base;
    // The records the engine returns are output, not in-flight state: one per job (the allocation the
    // engine used for each job's record and progress, reused in place for the output).
    let records = r.jobs.capacity() * std::mem::size_of_val(&r.jobs[0]);
    let mut in_flight_max = 0i64;
    let mut edges: Vec<(u64, i64)> = Vec::with_capacity(2 * r.jobs.len());
    for j in &r.jobs {
        edges.push((j.submit.as_millis(), 1));
        if let Some(e) = j.end {
            edges.push((e.as_millis(), -1));
        }
    }
    edges.sort_unstable();
    let mut cur = 0;
    for (_, d) in edges {
        cur += d;
        in_flight_max = in_flight_max.max(cur);
    }
    println!("jobs: {jobs}, generated in {:.2} s", gen.as_secs_f64());
    // A fingerprint of the outcome, so that a faster engine can be checked to decide the same.
    let finished = r.jobs.iter().filter(|j| j.end.is_some()).count();
    let jct: u128 = r
        .jobs
        .iter()
        .filter_map(|j| j.jct())
        .map(|s| u128::from(s.as_millis()))
        .sum();
    println!(
        "finished {finished}, mean JCT {:.3} s, makespan {:.0} s",
        jct as f64 / finished.max(1) as f64 / 1000.0,
        r.end.as_millis() as f64 / 1000.0
    );
    println!(
        "simulated {} events in {:.3} s: {:.2} M events/s ({:.0} ns per job)",
        r.events,
        dt.as_secs_f64(),
        r.events as f64 / dt.as_secs_f64() / 1e6,
        dt.as_nanos() as f64 / jobs as f64
    );
    println!(
        "peak heap during the run: {:.1} MiB = {:.1} MiB per-job records and progress ({:.0} B per trace job) + {:.1} MiB cluster state ({} nodes) + the rest",
        peak as f64 / 1048576.0,
        records as f64 / 1048576.0,
        records as f64 / jobs as f64,
        cluster_bytes as f64 / 1048576.0,
        nodes.len(),
    );
    println!(
        "peak jobs in flight {}: {:.0} bytes per job in flight (the rest), {:.0} with the cluster state",
        in_flight_max,
        (peak.saturating_sub(records + cluster_bytes)) as f64 / in_flight_max.max(1) as f64,
        (peak.saturating_sub(records)) as f64 / in_flight_max.max(1) as f64
    );
}
