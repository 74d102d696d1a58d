//! Criterion: the stages of one reporting cycle on an eight-GPU node, with the fake and the stub backends.
//!
//! `sample/*` is the probe's work (for the stub: every NVML call through nvml-wrapper), `report` the pure
//! conversion, `metrics` the Prometheus text, `json` the controller message. Throughput is in GPUs.
//!
//! On a GPU host, `CYCLE_NVML=1` times the same stages on the host's own GPUs through the real driver's
//! `libnvidia-ml.so.1` instead (group `cycle-nvml`; throughput in the host's GPUs), without the stub.

use criterion::measurement::WallTime;
use criterion::{criterion_main, BenchmarkGroup, Criterion, Throughput};
use phalanx_agent::probe::{with_backend, BackendSpec};
use phalanx_agent::report::{render_metrics, AgentStats, ReportConfig, Reporter};
use phalanx_agent::sample::NodeSample;

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
    after_sample(g, &sample);
}

/// The same stages on this host's GPUs, through the real NVML library.
fn real_nvml(c: &mut Criterion) {
    let spec = BackendSpec::Nvml { lib_path: None };
    let gpus = with_backend(&spec, |b| b.sample().map(|s| s.gpus.len()))
        .expect("open this host's NVML library")
        .expect("sample this host's GPUs");
    let mut g = c.benchmark_group("cycle-nvml");
    g.throughput(Throughput::Elements(gpus as u64));
    let sample = with_backend(&spec, |b| {
        g.bench_function("sample/nvml", |bn| bn.iter(|| b.sample().unwrap()));
        b.sample().unwrap()
    })
    .expect("open this host's NVML library");
    after_sample(g, &sample);
}

/// The pure stages of a cycle after the probe: report, metrics text, controller message.
fn after_sample(mut g: BenchmarkGroup<'_, WallTime>, sample: &NodeSample) {
    let mut reporter = Reporter::new(ReportConfig::default());
    g.bench_function("report", |bn| bn.iter(|| reporter.report(sample, 0)));
    let status = reporter.report(sample, 0).status;
    let stats = AgentStats::default();
    g.bench_function("metrics", |bn| bn.iter(|| render_metrics(&status, &stats)));
    g.bench_function("json", |bn| bn.iter(|| serde_json::to_string(&status).unwrap()));
    g.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    if std::env::var_os("CYCLE_NVML").is_some() {
        real_nvml(&mut c);
    } else {
        stages(&mut c);
    }
}

criterion_main!(benches);
