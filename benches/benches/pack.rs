//! One run of the FGD paper's packing experiment (default openb workload: ≈ 10,800 pods on 1,213 nodes,
//! seed 42) per placement policy, end to end: build the cluster, place every pod through the scheduler,
//! sample allocation and fragmentation after each.

use std::path::PathBuf;

use criterion::{criterion_main, Criterion, Throughput};
use phalanx_core::fgd::PaperPolicy;
use phalanx_sim::openb;
use phalanx_sim::pack::{self, Workload};

fn trace(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../traces").join(path)
}

fn bench(c: &mut Criterion) {
    let nodes = openb::read_nodes(&trace("alibaba-openb/openb_node_list_gpu_node.csv")).expect("node list");
    let workload = Workload::from_file(&trace("alibaba-openb/openb_pod_list_default.csv")).expect("pod list");
    let pods = pack::arrivals(workload.pods(), 6_212_000, 1.3, 42).len();
    let mut g = c.benchmark_group("pack_default_seed42");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pods as u64));
    for policy in PaperPolicy::ALL {
        g.bench_function(policy.name(), |b| {
            b.iter(|| pack::run(&nodes, &workload, policy, 42, 1.3).expect("the cluster builds"))
        });
    }
    g.finish();
}

// The generated entry points carry no docs.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
