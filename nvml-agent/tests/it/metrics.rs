//! The metrics text, and the `/metrics` and `/status` endpoints of a running agent.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use expect_test::expect;
use phalanx_agent::probe::Probe;
use phalanx_agent::report::{render_metrics, AgentStats, NodeStatus, ReportConfig, Reporter};
use phalanx_agent::run::{Agent, Log, RunConfig};

use crate::support::{http_get, StubNode};

#[test]
fn metrics_text_through_nvml() {
    let stub = StubNode::new(&["gpus 2"]);
    let sample = Probe::once(stub.spec()).unwrap();
    let cfg = ReportConfig {
        node_name: Some("stub-node".to_owned()),
        ..ReportConfig::default()
    };
    let status = Reporter::new(cfg).report(&sample, 0).status;
    let text = render_metrics(&status, &AgentStats::default());
    let gpu_lines: String = text
        .lines()
        .filter(|l| l.starts_with("DCGM_") && l.contains("gpu=\"1\""))
        .map(|l| format!("{l}\n"))
        .collect();
    expect![[r#"
        DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 15
        DCGM_FI_DEV_MEM_COPY_UTIL{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 3
        DCGM_FI_DEV_FB_USED{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 2048
        DCGM_FI_DEV_FB_FREE{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 79872
        DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 41
        DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 251
        DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 2000000
        DCGM_FI_DEV_ECC_SBE_VOL_TOTAL{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 0
        DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 0
        DCGM_FI_DEV_XID_ERRORS{gpu="1",UUID="GPU-5eed0000-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="stub-node"} 0
    "#]]
    .assert_eq(&gpu_lines);
    // Every series has its HELP and TYPE lines.
    for name in [
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_XID_ERRORS",
    ] {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
    }
}

/// Polls `addr` until `/metrics` shows at least `cycles` cycles.
fn wait_for_cycles(addr: SocketAddr, cycles: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = http_get(addr, "/metrics");
        let done = body
            .lines()
            .find_map(|l| l.strip_prefix("phalanx_agent_cycles_total{Hostname=\"stub-node\"} "))
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|c| c >= cycles);
        if code == 200 && done {
            return body;
        }
        assert!(Instant::now() < deadline, "no metrics after 10 s: {code} {body}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_running_agent_serves_metrics_and_status() {
    let stub = StubNode::new(&["gpus 8"]);
    let cfg = RunConfig {
        interval: Duration::from_millis(20),
        metrics: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        report: ReportConfig {
            node_name: Some("stub-node".to_owned()),
            ..ReportConfig::default()
        },
        ..RunConfig::default()
    };
    let log = Log::memory();
    let agent = Agent::start(stub.spec(), cfg, log.clone()).unwrap();
    let addr = agent.metrics_addr().unwrap();
    let stopper = agent.stopper();
    let running = thread::spawn(move || agent.run());

    let body = wait_for_cycles(addr, 2);
    assert_eq!(
        body.lines().filter(|l| l.starts_with("DCGM_FI_DEV_GPU_UTIL{")).count(),
        8
    );
    assert!(body.contains("phalanx_gpu_healthy{gpu=\"7\""));
    assert!(
        !body.contains("phalanx_agent_controller_up"),
        "no controller, no controller series"
    );

    stub.inject("xid 5 79");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = http_get(addr, "/metrics");
        if body.contains("phalanx_gpu_healthy{gpu=\"5\",UUID=\"GPU-5eed0000-0000-4000-8000-000000000005\",modelName=\"NVIDIA A100-SXM4-80GB\",Hostname=\"stub-node\"} 0") {
            assert!(body.contains("DCGM_FI_DEV_XID_ERRORS{gpu=\"5\""));
            break;
        }
        assert!(Instant::now() < deadline, "GPU 5 never became unhealthy:\n{body}");
        thread::sleep(Duration::from_millis(10));
    }

    let (code, json) = http_get(addr, "/status");
    assert_eq!(code, 200);
    let status: NodeStatus = serde_json::from_str(&json).unwrap();
    assert_eq!(status.node.name, "stub-node");
    assert_eq!(http_get(addr, "/nope").0, 404);

    stopper.stop();
    let summary = running.join().unwrap().unwrap();
    assert!(summary.stats.cycles >= 2);
    let lines = log.lines();
    assert!(
        lines.iter().any(|l| l.contains("serving metrics on http://127.0.0.1:")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("GPU 5 (GPU-5eed0000-0000-4000-8000-000000000005) is Unhealthy: XID 79")),
        "{lines:#?}"
    );
}

#[test]
fn energy_counter_is_read_at_most_every_30_s() {
    // The stub's counter grows by 1 J at each read: a second sample at once repeats the first reading.
    let stub = StubNode::new(&["gpus 2"]);
    let energy = |s: &phalanx_agent::sample::NodeSample| -> Vec<Option<u64>> {
        s.gpus
            .iter()
            .map(|g| match g {
                phalanx_agent::sample::GpuReading::Ok(g) => g.energy_mj,
                lost => panic!("{lost:?}"),
            })
            .collect()
    };
    let (first, second) =
        phalanx_agent::probe::with_backend(&stub.spec(), |b| (b.sample().unwrap(), b.sample().unwrap())).unwrap();
    assert_eq!(energy(&first), [Some(1_000_000), Some(2_000_000)]);
    assert_eq!(energy(&second), energy(&first));
}
