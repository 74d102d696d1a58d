//! Macro benchmark: the latency distribution of single 1-GPU best-fit decisions (median, p99, max) and the
//! core's memory per node, on 1k / 10k / 100k-node clusters of 8 GPUs at 50 % random occupancy.
//!
//! `cargo bench -p phalanx-benches --bench latency`

use std::time::Instant;

use phalanx_benches::{cluster, cycle, Counting};
use phalanx_core::builders::JobBuilder;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("latency: benchmark");
        return;
    }
    println!("nodes     bytes/node(empty)  bytes/node(50%)  decisions  median_us  p99_us  max_us");
    for nodes in [1_000usize, 10_000, 100_000] {
        let before = Counting::live();
        let empty = cluster(nodes, 0.0, 7);
        let empty_bytes = Counting::live() - before;
        drop(empty);
        let before = Counting::live();
        let mut s = cluster(nodes, 0.5, 7);
        let busy_bytes = Counting::live() - before;
        let n = 200_000u64;
        let mut lat = Vec::with_capacity(n as usize);
        for id in 0..n + 10_000 {
            let t = Instant::now();
            let ok = cycle(&mut s, id, JobBuilder::new(id).gpus(1).cpu(4000).mem(16_384));
            let dt = t.elapsed();
            assert!(ok);
            if id >= 10_000 {
                lat.push(dt.as_nanos() as u64);
            }
        }
        lat.sort_unstable();
        let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
        println!(
            "{nodes:<9} {:<18} {:<16} {:<10} {:<10.2} {:<7.2} {:.1}",
            empty_bytes / nodes,
            busy_bytes / nodes,
            lat.len(),
            q(0.5),
            q(0.99),
            q(1.0),
        );
    }
}
