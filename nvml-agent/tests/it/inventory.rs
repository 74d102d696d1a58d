//! The inventory, read through nvml-wrapper from the stub library.

use expect_test::expect;
use phalanx_agent::probe::Probe;
use phalanx_agent::report::{NodeStatus, ReportConfig, Reporter};
use phalanx_agent::sample::{BackendKind, PciePath};
use phalanx_core::GpuHealth;

use crate::support::{agent_bin, StubNode};

fn named(name: &str) -> ReportConfig {
    ReportConfig {
        node_name: Some(name.to_owned()),
        ..ReportConfig::default()
    }
}

#[test]
fn an_eight_gpu_node_through_nvml() {
    let stub = StubNode::new(&[]);
    let sample = Probe::once(stub.spec()).unwrap();
    assert_eq!(sample.backend, BackendKind::Nvml);
    assert_eq!(sample.driver_version.as_deref(), Some("550.54.15"));
    assert!(sample.warnings.is_empty(), "{:?}", sample.warnings);
    let status = Reporter::new(named("stub-node")).report(&sample, 0).status;

    assert_eq!(status.node.name, "stub-node");
    assert!(
        status.node.cpu_milli > 0 && status.node.memory_mib > 0,
        "the host is read from /proc"
    );
    assert_eq!(status.node.gpus.len(), 8);
    for (i, g) in status.gpus.iter().enumerate() {
        assert_eq!(g.index as usize, i);
        assert_eq!(g.uuid, format!("GPU-5eed0000-0000-4000-8000-{i:012x}"));
        assert_eq!(g.name, "NVIDIA A100-SXM4-80GB");
        assert_eq!(g.model.as_str(), "nvidia/A100-80G");
        assert_eq!(g.memory_mib, 81920);
        assert_eq!(g.pci_bus_id, format!("00000000:{:02X}:00.0", 0x10 + i));
        assert_eq!(g.numa_node, Some(u32::from(i >= 4)));
        assert_eq!((g.nvlinks, g.nvswitch), (12, true));
        let others: Vec<u32> = (0..8).filter(|&j| j != i as u32).collect();
        assert_eq!(g.nvlink_peers, others);
        assert_eq!(g.pcie.len(), 7);
        assert!(!g.mig.as_ref().unwrap().enabled);
        assert_eq!(g.health, GpuHealth::Healthy);
        let m = g.metrics.as_ref().unwrap();
        assert_eq!(m.fb_used_mib, 1024 * (i as u64 + 1));
        assert_eq!(m.temperature_c, Some(40 + i as u32));
    }
    let g0 = &status.gpus[0];
    let path = |gpu: u32| g0.pcie.iter().find(|p| p.gpu == gpu).unwrap().path;
    assert_eq!(
        (path(1), path(2), path(4)),
        (PciePath::Pix, PciePath::Node, PciePath::Sys)
    );
}

#[test]
fn a_two_gpu_node_with_mig_through_nvml() {
    let stub = StubNode::new(&["gpus 2", "name NVIDIA H100 80GB HBM3", "memory_mib 81559", "mig 1"]);
    let sample = Probe::once(stub.spec()).unwrap();
    let status = Reporter::new(named("stub-node")).report(&sample, 0).status;
    let gpus: Vec<String> = status
        .gpus
        .iter()
        .map(|g| {
            let mig = g.mig.as_ref().unwrap();
            let instances: Vec<String> = mig
                .instances
                .iter()
                .map(|m| format!("{} {} {} MiB", m.uuid, m.name, m.memory_mib))
                .collect();
            format!(
                "{} {} {} {} {} MiB numa {:?} nvlinks {} peers {:?} mig {} {:?}\n",
                g.index,
                g.uuid,
                g.name,
                g.model,
                g.memory_mib,
                g.numa_node,
                g.nvlinks,
                g.nvlink_peers,
                mig.enabled,
                instances
            )
        })
        .collect();
    expect![[r#"
        0 GPU-5eed0000-0000-4000-8000-000000000000 NVIDIA H100 80GB HBM3 nvidia/H100 81559 MiB numa Some(0) nvlinks 4 peers [1] mig false []
        1 GPU-5eed0000-0000-4000-8000-000000000001 NVIDIA H100 80GB HBM3 nvidia/H100 81559 MiB numa Some(1) nvlinks 4 peers [0] mig true ["MIG-5eed0000-0000-4000-8000-000000010000 NVIDIA H100 80GB HBM3 MIG 3g.40gb 40960 MiB", "MIG-5eed0000-0000-4000-8000-000000010001 NVIDIA H100 80GB HBM3 MIG 3g.40gb 40960 MiB"]
    "#]]
    .assert_eq(&gpus.concat());
}

#[test]
fn the_inventory_command_through_nvml() {
    let stub = StubNode::new(&["gpus 2"]);
    let out = agent_bin()
        .args([
            "inventory",
            "--json",
            "--node-name",
            "n1",
            "--zone",
            "z1",
            "--label",
            "pool=a",
            "--nvml-lib",
        ])
        .arg(stub.lib())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: NodeStatus = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status.node.name, "n1");
    assert_eq!(status.node.location.zone, "z1");
    assert_eq!(status.node.labels["pool"], "a");
    assert_eq!(status.node.gpus.len(), 2);
    assert_eq!(status.backend, BackendKind::Nvml);

    let out = agent_bin()
        .arg("inventory")
        .arg("--nvml-lib")
        .arg(stub.lib())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("driver  550.54.15 (backend nvml)"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("GPU  UUID")), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains("nvidia/A100-80G")).count(),
        2,
        "{text}"
    );
}
