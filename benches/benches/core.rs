//! Criterion benchmarks of the scheduling core: one 1-GPU best-fit decision and one 1,250 x 8-GPU gang,
//! on clusters of 1k, 10k and 100k nodes of 8 GPUs at 50 % random occupancy.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use phalanx_benches::{cluster, cycle};
use phalanx_core::builders::JobBuilder;
use phalanx_core::{Decision, JobId, Time};

fn decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("bestfit_1gpu_decision");
    g.throughput(Throughput::Elements(1));
    for nodes in [1_000, 10_000, 100_000] {
        let mut s = cluster(nodes, 0.5, 7);
        let mut id = 0u64;
        g.bench_with_input(BenchmarkId::from_parameter(nodes), &nodes, |b, _| {
            b.iter(|| {
                id += 1;
                assert!(cycle(&mut s, id, JobBuilder::new(id).gpus(1).cpu(4000).mem(16_384)));
            })
        });
    }
    g.finish();
}

fn gang(c: &mut Criterion) {
    let mut g = c.benchmark_group("gang_1250x8");
    g.sample_size(20);
    for (label, occupancy) in [("busy50", 0.5), ("empty", 0.0)] {
        for nodes in [1_000, 10_000, 100_000] {
            let mut s = cluster(nodes, occupancy, 7);
            let mut id = 0u64;
            // Timed: submitting the gang and taking its decision (placed, or left waiting / rejected).
            // Untimed: ending it again, so every iteration sees the same cluster.
            g.bench_with_input(BenchmarkId::new(label, nodes), &nodes, |b, _| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        id += 1;
                        let job = JobBuilder::new(id).tasks(1250).gpus(8).cpu(8000).mem(65_536).build();
                        let t = Instant::now();
                        s.handle_submit(Time::ZERO, job).unwrap();
                        let d = s.poll_decision();
                        total += t.elapsed();
                        match d {
                            Some(Decision::Start { .. }) => s.handle_job_finished(Time::ZERO, JobId(id)).unwrap(),
                            Some(Decision::Reject { .. }) => {}
                            _ => s.handle_cancel(Time::ZERO, JobId(id)).unwrap(),
                        }
                        while s.poll_decision().is_some() {}
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decision, gang);
criterion_main!(benches);
