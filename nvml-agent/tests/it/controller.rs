//! Reports to a controller: the messages, what the core makes of them, and an unreachable controller.

use std::thread;
use std::time::{Duration, Instant};

use phalanx_agent::probe::BackendSpec;
use phalanx_agent::report::NodeStatus;
use phalanx_agent::run::{Agent, Log, RunConfig, STATUS_PATH};
use phalanx_agent::sample::BackendKind;
use phalanx_core::builders::JobBuilder;
use phalanx_core::{Config, GpuHealth, Scheduler, Time};

use crate::support::{agent_bin, closed_port, fake_file, fake_json, fake_node, StubNode, TestController};

fn config(controller: String) -> RunConfig {
    RunConfig {
        interval: Duration::from_millis(20),
        controller: Some(controller),
        request_timeout: Duration::from_secs(2),
        ..RunConfig::default()
    }
}

#[test]
fn each_cycle_posts_the_node_status_through_nvml() {
    let stub = StubNode::new(&["gpus 2"]);
    let ctrl = TestController::start();
    let cfg = RunConfig {
        cycles: Some(3),
        ..config(ctrl.url())
    };
    let summary = Agent::start(stub.spec(), cfg, Log::memory()).unwrap().run().unwrap();
    assert_eq!((summary.stats.cycles, summary.stats.reports_sent), (3, 3));
    let got = ctrl.wait_for(3);
    assert_eq!(got.len(), 3);
    for (seq, req) in got.iter().enumerate() {
        assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", STATUS_PATH));
        assert_eq!(req.content_type, "application/json");
        let status: NodeStatus = serde_json::from_str(&req.body).unwrap();
        assert_eq!(status.seq, seq as u64);
        assert_eq!(status.backend, BackendKind::Nvml);
        assert_eq!(status.node.gpus.len(), 2);
    }
}

#[test]
fn the_messages_drive_the_core() {
    let node = fake_node(r#""faults": [{ "fault": "xid", "cycle": 2, "gpu": 1, "code": 79 }]"#);
    let ctrl = TestController::start();
    let cfg = RunConfig {
        cycles: Some(4),
        ..config(ctrl.url())
    };
    Agent::start(BackendSpec::Fake(node), cfg, Log::memory())
        .unwrap()
        .run()
        .unwrap();
    let statuses: Vec<NodeStatus> = ctrl
        .wait_for(4)
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(statuses.len(), 4);
    assert_eq!(statuses[1].gpus[1].health, GpuHealth::Healthy);
    assert_eq!(statuses[2].gpus[1].health, GpuHealth::Unhealthy);
    assert_eq!(statuses[3].gpus[1].health, GpuHealth::Unhealthy);

    // A controller feeds the reports to the core as they are.
    let mut sched = Scheduler::new(Config::default());
    let id = sched.handle_node_added(Time(0), statuses[0].node.clone()).unwrap();
    sched
        .handle_submit(Time(0), JobBuilder::new(1).gpus(8).build())
        .unwrap();
    assert_eq!(
        sched.poll_decision().unwrap().to_string(),
        "start job1 0.0@n0[0,1,2,3,4,5,6,7]"
    );
    for (t, status) in statuses.iter().enumerate().skip(1) {
        for g in &status.gpus {
            sched.handle_gpu_health(Time(t as u64), id, g.index, g.health).unwrap();
        }
    }
    assert_eq!(
        sched.poll_decision().unwrap().to_string(),
        "stop job1: GPU 1 of n0 failed, requeued"
    );
}

#[test]
fn an_unreachable_controller_is_retried_with_backoff_and_logged() {
    let addr = closed_port();
    let log = Log::memory();
    let cfg = RunConfig {
        backoff: (Duration::from_millis(50), Duration::from_millis(200)),
        ..config(format!("http://{addr}"))
    };
    let agent = Agent::start(BackendSpec::Fake(fake_node("")), cfg, log.clone()).unwrap();
    let stopper = agent.stopper();
    let running = thread::spawn(move || agent.run());

    let wait_log = |needle: &str, count: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while log.lines().iter().filter(|l| l.contains(needle)).count() < count {
            assert!(
                Instant::now() < deadline,
                "no `{needle}` in the log: {:#?}",
                log.lines()
            );
            thread::sleep(Duration::from_millis(10));
        }
    };
    // Several failed tries, each logged, while the agent keeps cycling.
    wait_log("unreachable", 3);
    let line = log.lines().into_iter().find(|l| l.contains("unreachable")).unwrap();
    assert!(line.contains(" WARN  controller http://127.0.0.1:"), "{line}");
    assert!(line.contains("still sampling, next try in"), "{line}");

    // The controller comes up on that address: reports resume.
    let ctrl = TestController::on(addr);
    let got = ctrl.wait_for(1);
    assert!(!got.is_empty(), "no report after the controller came back");
    wait_log("reachable again", 1);
    stopper.stop();
    let stats = running.join().unwrap().unwrap().stats;
    assert!(stats.report_failures >= 3 && stats.reports_sent >= 1, "{stats:?}");
    // Backoff: far fewer tries than cycles while the controller was down.
    assert!(stats.report_failures < stats.cycles, "{stats:?}");
}

#[test]
fn the_binary_keeps_running_without_its_controller() {
    let file = fake_file(&fake_json(""));
    let url = format!("http://{}", closed_port());
    let out = agent_bin()
        .args([
            "run",
            "--interval",
            "20ms",
            "--cycles",
            "5",
            "--no-metrics",
            "--controller",
            &url,
            "--fake",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("unreachable") && stderr.contains("still sampling"),
        "{stderr}"
    );
    assert!(
        stderr.contains("node fake-a100: 8 GPUs (nvidia/A100-80G), 8 healthy, backend fake"),
        "{stderr}"
    );
}
