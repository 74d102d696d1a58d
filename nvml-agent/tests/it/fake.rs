//! `--fake`: a simulated node, through the binary and in process.

use std::time::Duration;

use phalanx_agent::probe::{BackendSpec, Probe};
use phalanx_agent::report::{NodeStatus, ReportConfig, Reporter};
use phalanx_agent::sample::BackendKind;
use phalanx_core::GpuHealth;

use crate::support::{agent_bin, fake_file, fake_json, fake_node, next_sample};

#[test]
fn inventory_of_a_fake_node() {
    let file = fake_file(&fake_json(r#""faults": []"#));
    let out = agent_bin()
        .args(["inventory", "--json", "--fake"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: NodeStatus = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status.backend, BackendKind::Fake);
    assert_eq!(status.node.name, "fake-a100");
    assert_eq!((status.node.cpu_milli, status.node.memory_mib), (128_000, 1_048_576));
    assert_eq!(status.gpus.len(), 8);
    assert!(status
        .gpus
        .iter()
        .all(|g| g.model.as_str() == "nvidia/A100-80G" && g.nvlink_peers.len() == 7));

    let out = agent_bin().args(["inventory", "--fake"]).arg(&file).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("node    fake-a100\ncpus    128 (AMD EPYC 7763)\n"),
        "{text}"
    );
    assert!(text.contains("12 links via switch to 1-7"), "{text}");
}

#[test]
fn fake_faults_happen_at_their_cycles() {
    let node = fake_node(
        r#""faults": [
            { "fault": "xid", "cycle": 1, "gpu": 1, "code": 79 },
            { "fault": "ecc", "cycle": 2, "gpu": 2, "count": 1 },
            { "fault": "lost", "cycle": 3, "gpu": 3 }
        ]"#,
    );
    let probe = Probe::start(BackendSpec::Fake(node), Duration::from_millis(1)).unwrap();
    let mut rep = Reporter::new(ReportConfig::default());
    let healths: Vec<String> = (0..4)
        .map(|_| {
            let r = rep.report(&next_sample(&probe), 0);
            r.status
                .gpus
                .iter()
                .map(|g| if g.health == GpuHealth::Healthy { '+' } else { 'X' })
                .collect()
        })
        .collect();
    assert_eq!(healths, ["++++++++", "+X++++++", "+XX+++++", "+XXX++++"]);
}

#[test]
fn a_bad_fake_file_is_one_line_naming_the_place() {
    let file =
        fake_file("{\n  \"host\": { \"name\": \"x\", \"cpus\": \"many\", \"memory_mib\": 1 },\n  \"gpus\": []\n}\n");
    let out = agent_bin().args(["inventory", "--fake"]).arg(&file).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let place = format!("{}:2:", file.display());
    assert!(stderr.contains(&place), "{stderr}");
    assert!(
        stderr.contains("invalid type: string \"many\", expected u32"),
        "{stderr}"
    );
}
