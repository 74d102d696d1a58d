//! Criterion: the stages of one reporting cycle on an eight-GPU node, with the fake and the stub backends.
//!
//! `sample/*` is the probe's work (for the stub: every NVML call through nvml-wrapper), `report` the pure
//! conversion, `metrics` the Prometheus text, `json` the controller message. Throughput is in GPUs.

use criterion::{criterion_main, Criterion, Throughput};
use phalanx_agent::probe::{with_backend, BackendSpec};
use phalanx_agent::report::{render_metrics, AgentStats, ReportConfig, Reporter};

#[path = "../tests/it/support.rs"]
mod support;

fn stages(c: &mut Criterion) {
    let mut g = c.benchmark_group("cycle-8gpu");
    g.throughput(Throughput::Elements(8));

    let fake = BackendSpec::Fake(support::fake_node(""));
    with_backend(&fake, |b| {
        g.bench_function("sample/fake", |bn| bn.iter(|| b.sample().unwrap()))
    })
    .expect("open the fake backend");

    let stub = support::StubNode::bare();
    let sample = with_backend(&stub.spec(), |b| {
        g.bench_function("sample/stub-nvml", |bn| bn.iter(|| b.sample().unwrap()));
        b.sample().unwrap()
    })
    .expect("open the stub NVML library");

    let mut reporter = Reporter::new(ReportConfig::default());
    g.bench_function("report", |bn| bn.iter(|| reporter.report(&sample, 0)));
    let status = reporter.report(&sample, 0).status;
    let stats = AgentStats::default();
    g.bench_function("metrics", |bn| bn.iter(|| render_metrics(&status, &stats)));
    g.bench_function("json", |bn| bn.iter(|| serde_json::to_string(&status).unwrap()));
    g.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    stages(&mut c);
}

criterion_main!(benches);
