//! The reporter on literal samples.

use expect_test::expect;
use phalanx_core::builders::JobBuilder;
use phalanx_core::{Config, GpuHealth, Scheduler, Time};

use super::*;
use crate::sample::{BackendKind, GpuEvent, GpuEventKind, GpuReading, GpuSample, HostInfo, MigSample, PciePath};

const GIB: u64 = 1024 * MIB;

fn host() -> HostInfo {
    HostInfo {
        name: "gpu-node-7".to_owned(),
        cpus: 64,
        cpu_model: "AMD EPYC 7763 64-Core Processor".to_owned(),
        memory_mib: 515_896,
    }
}

fn bus(i: u32) -> String {
    format!("00000000:{:02X}:00.0", 0x07 + 0x10 * i)
}

/// An A100 80GB at NVML index `i` of a node of `n`, NVLinked to its pair (`i ^ 1`) by 4 links.
fn a100(i: u32, n: u32) -> GpuSample {
    GpuSample {
        index: i,
        uuid: format!("GPU-1f0b2c3d-0000-4000-8000-00000000000{i}"),
        name: "NVIDIA A100-SXM4-80GB".to_owned(),
        pci_bus_id: bus(i),
        numa_node: Some(i * 2 / n),
        memory_total_bytes: 80 * GIB,
        memory_used_bytes: (i as u64 + 1) * GIB,
        memory_free_bytes: (79 - i as u64) * GIB,
        nvlink_remotes: if i ^ 1 < n { vec![bus(i ^ 1); 4] } else { Vec::new() },
        pcie_paths: (0..n)
            .filter(|&j| j != i)
            .map(|j| (j, if j / 2 == i / 2 { PciePath::Pix } else { PciePath::Sys }))
            .collect(),
        mig: Some(MigSample {
            enabled: false,
            pending: false,
            instances: Vec::new(),
        }),
        util_gpu_pct: Some(87),
        util_memory_pct: Some(41),
        temperature_c: Some(52 + i),
        power_mw: Some(312_500),
        energy_mj: Some(9_876_543),
        ecc_corrected: Some(0),
        ecc_uncorrected: Some(0),
    }
}

fn sample(gpus: Vec<GpuSample>) -> NodeSample {
    NodeSample {
        backend: BackendKind::Nvml,
        host: host(),
        driver_version: Some("550.54.15".to_owned()),
        gpus: gpus.into_iter().map(|g| GpuReading::Ok(Box::new(g))).collect(),
        events: Vec::new(),
        warnings: Vec::new(),
    }
}

fn two() -> NodeSample {
    sample(vec![a100(0, 2), a100(1, 2)])
}

fn healths(r: &Report) -> Vec<GpuHealth> {
    r.status.node.gpus.iter().map(|g| g.health).collect()
}

#[test]
fn a_two_gpu_sample_becomes_the_wire_status() {
    let mut rep = Reporter::new(ReportConfig::default());
    let r = rep.report(&two(), 1_735_689_600_000);
    assert!(r.changes.is_empty());
    let json = serde_json::to_string_pretty(&r.status).unwrap();
    expect![[r#"
        {
          "version": 1,
          "agent": "phalanx-agent 0.1.0",
          "seq": 0,
          "unix_ms": 1735689600000,
          "backend": "nvml",
          "driver_version": "550.54.15",
          "cpu_model": "AMD EPYC 7763 64-Core Processor",
          "node": {
            "name": "gpu-node-7",
            "labels": {},
            "location": {
              "zone": "",
              "rack": ""
            },
            "cpu_milli": 64000,
            "memory_mib": 515896,
            "gpus": [
              {
                "model": "nvidia/A100-80G",
                "memory_mib": 81920,
                "health": "healthy"
              },
              {
                "model": "nvidia/A100-80G",
                "memory_mib": 81920,
                "health": "healthy"
              }
            ],
            "state": "schedulable"
          },
          "gpus": [
            {
              "index": 0,
              "uuid": "GPU-1f0b2c3d-0000-4000-8000-000000000000",
              "name": "NVIDIA A100-SXM4-80GB",
              "model": "nvidia/A100-80G",
              "memory_mib": 81920,
              "pci_bus_id": "00000000:07:00.0",
              "numa_node": 0,
              "nvlinks": 4,
              "nvswitch": false,
              "nvlink_peers": [
                1
              ],
              "pcie": [
                {
                  "gpu": 1,
                  "path": "pix"
                }
              ],
              "mig": {
                "enabled": false,
                "pending": false,
                "instances": []
              },
              "present": true,
              "health": "healthy",
              "health_reason": null,
              "xid_events": 0,
              "last_xid": null,
              "metrics": {
                "gpu_util_pct": 87,
                "mem_util_pct": 41,
                "fb_used_mib": 1024,
                "fb_free_mib": 80896,
                "temperature_c": 52,
                "power_mw": 312500,
                "energy_mj": 9876543,
                "ecc_corrected": 0,
                "ecc_uncorrected": 0
              }
            },
            {
              "index": 1,
              "uuid": "GPU-1f0b2c3d-0000-4000-8000-000000000001",
              "name": "NVIDIA A100-SXM4-80GB",
              "model": "nvidia/A100-80G",
              "memory_mib": 81920,
              "pci_bus_id": "00000000:17:00.0",
              "numa_node": 1,
              "nvlinks": 4,
              "nvswitch": false,
              "nvlink_peers": [
                0
              ],
              "pcie": [
                {
                  "gpu": 0,
                  "path": "pix"
                }
              ],
              "mig": {
                "enabled": false,
                "pending": false,
                "instances": []
              },
              "present": true,
              "health": "healthy",
              "health_reason": null,
              "xid_events": 0,
              "last_xid": null,
              "metrics": {
                "gpu_util_pct": 87,
                "mem_util_pct": 41,
                "fb_used_mib": 2048,
                "fb_free_mib": 79872,
                "temperature_c": 53,
                "power_mw": 312500,
                "energy_mj": 9876543,
                "ecc_corrected": 0,
                "ecc_uncorrected": 0
              }
            }
          ]
        }"#]]
    .assert_eq(&json);
    // The README shows this very sample.
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&json),
        "README.md's wire sample is out of date:\n{json}"
    );
    // And it reads back.
    let back: NodeStatus = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r.status);
}

#[test]
fn the_operator_names_labels_and_places_the_node() {
    let cfg = ReportConfig {
        node_name: Some("rack3-n12".to_owned()),
        labels: [("pool".to_owned(), "training".to_owned())].into(),
        location: Location {
            zone: "eu-1a".to_owned(),
            rack: "r3".to_owned(),
        },
    };
    let r = Reporter::new(cfg).report(&two(), 0);
    assert_eq!(r.status.node.name, "rack3-n12");
    assert_eq!(r.status.node.labels["pool"], "training");
    assert_eq!(r.status.node.location.rack, "r3");
}

#[test]
fn nvswitch_links_make_every_gpu_a_peer() {
    let switch = |l: u32| format!("00000000:{:02X}:00.0", 0xC0 + l % 6);
    let gpus = (0..8)
        .map(|i| GpuSample {
            nvlink_remotes: (0..12).map(switch).collect(),
            ..a100(i, 8)
        })
        .collect();
    let r = Reporter::new(ReportConfig::default()).report(&sample(gpus), 0);
    let g3 = &r.status.gpus[3];
    assert!(g3.nvswitch);
    assert_eq!(g3.nvlinks, 12);
    assert_eq!(g3.nvlink_peers, [0, 1, 2, 4, 5, 6, 7]);
    assert_eq!(g3.pcie.len(), 7);
    assert_eq!(
        g3.pcie[2],
        PeerPath {
            gpu: 2,
            path: PciePath::Pix
        }
    );
}

#[test]
fn mig_instances_are_reported() {
    let mut g = a100(0, 1);
    g.mig = Some(MigSample {
        enabled: true,
        pending: true,
        instances: vec![crate::sample::MigInstanceSample {
            uuid: "MIG-aaaa".to_owned(),
            name: "NVIDIA A100-SXM4-80GB MIG 3g.40gb".to_owned(),
            memory_total_bytes: 40 * GIB,
        }],
    });
    let r = Reporter::new(ReportConfig::default()).report(&sample(vec![g]), 0);
    let mig = r.status.gpus[0].mig.as_ref().unwrap();
    assert!(mig.enabled);
    assert_eq!(mig.instances[0].memory_mib, 40_960);
}

#[test]
fn a_fatal_xid_marks_the_gpu_unhealthy_once_and_for_good() {
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let mut s = two();
    s.events = vec![GpuEvent {
        uuid: a100(1, 2).uuid,
        kind: GpuEventKind::Xid(Some(79)),
    }];
    let r = rep.report(&s, 1);
    assert_eq!(healths(&r), [GpuHealth::Healthy, GpuHealth::Unhealthy]);
    assert_eq!(
        r.changes,
        [HealthChange {
            gpu: 1,
            uuid: a100(1, 2).uuid,
            health: GpuHealth::Unhealthy,
            reason: "XID 79: GPU has fallen off the bus".to_owned(),
        }]
    );
    assert_eq!(r.status.gpus[1].last_xid, Some(79));
    assert_eq!(r.status.gpus[1].xid_events, 1);

    // The next sample has no event: the GPU stays unhealthy, and no change is reported again.
    let r = rep.report(&two(), 2);
    assert_eq!(healths(&r), [GpuHealth::Healthy, GpuHealth::Unhealthy]);
    assert!(r.changes.is_empty());
    assert_eq!(r.status.seq, 2);
}

#[test]
fn an_application_xid_is_counted_but_leaves_the_gpu_healthy() {
    let mut rep = Reporter::new(ReportConfig::default());
    let mut s = two();
    s.events = vec![GpuEvent {
        uuid: a100(0, 2).uuid,
        kind: GpuEventKind::Xid(Some(31)),
    }];
    let r = rep.report(&s, 0);
    assert_eq!(healths(&r), [GpuHealth::Healthy, GpuHealth::Healthy]);
    assert!(r.changes.is_empty());
    assert_eq!((r.status.gpus[0].xid_events, r.status.gpus[0].last_xid), (1, Some(31)));
}

#[test]
fn uncorrectable_ecc_marks_the_gpu_unhealthy_by_event_or_by_count() {
    // By event.
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let mut s = two();
    s.events = vec![GpuEvent {
        uuid: a100(0, 2).uuid,
        kind: GpuEventKind::UncorrectableEcc,
    }];
    let r = rep.report(&s, 1);
    assert_eq!(r.changes[0].reason, "uncorrectable ECC error");
    assert_eq!(healths(&r), [GpuHealth::Unhealthy, GpuHealth::Healthy]);

    // By a rising count, without an event.
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let mut g1 = a100(1, 2);
    g1.ecc_uncorrected = Some(2);
    let r = rep.report(&sample(vec![a100(0, 2), g1]), 1);
    assert_eq!(healths(&r), [GpuHealth::Healthy, GpuHealth::Unhealthy]);
    assert_eq!(
        r.changes[0].reason,
        "2 uncorrectable ECC error(s) since the driver loaded"
    );

    // A count already above zero at start counts too.
    let mut g0 = a100(0, 2);
    g0.ecc_uncorrected = Some(1);
    let r = Reporter::new(ReportConfig::default()).report(&sample(vec![g0, a100(1, 2)]), 0);
    assert_eq!(healths(&r), [GpuHealth::Unhealthy, GpuHealth::Healthy]);
}

#[test]
fn a_lost_gpu_keeps_its_place_and_identity() {
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let mut s = two();
    s.gpus[0] = GpuReading::Lost {
        index: 0,
        reason: "GPU is lost".to_owned(),
    };
    let r = rep.report(&s, 1);
    assert_eq!(healths(&r), [GpuHealth::Unhealthy, GpuHealth::Healthy]);
    let g0 = &r.status.gpus[0];
    assert!(!g0.present);
    assert!(g0.metrics.is_none());
    assert_eq!(g0.uuid, a100(0, 2).uuid);
    assert_eq!(g0.model.as_str(), "nvidia/A100-80G");
    assert_eq!(g0.health_reason.as_deref(), Some("lost: GPU is lost"));
    // The survivor no longer lists the lost GPU as a PCIe neighbour.
    assert!(r.status.gpus[1].pcie.is_empty());
}

#[test]
fn a_gpu_no_longer_listed_is_lost() {
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let r = rep.report(&sample(vec![a100(0, 2)]), 1);
    assert_eq!(r.status.node.gpus.len(), 2);
    assert_eq!(healths(&r), [GpuHealth::Healthy, GpuHealth::Unhealthy]);
    assert_eq!(r.changes[0].reason, "lost: no longer listed by the driver");
}

#[test]
fn a_gpu_lost_before_the_first_sample_still_takes_its_place() {
    let mut s = two();
    s.gpus[1] = GpuReading::Lost {
        index: 1,
        reason: "Unknown Error".to_owned(),
    };
    let r = Reporter::new(ReportConfig::default()).report(&s, 0);
    assert_eq!(r.status.gpus[1].uuid, "unknown-1");
    assert_eq!(r.status.node.gpus[1].model.as_str(), "nvidia/A100-80G");
    assert_eq!(healths(&r), [GpuHealth::Healthy, GpuHealth::Unhealthy]);
}

#[test]
fn metrics_text_has_dcgm_names_and_labels() {
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let mut s = two();
    s.gpus[1] = GpuReading::Lost {
        index: 1,
        reason: "GPU is lost".to_owned(),
    };
    s.events = vec![GpuEvent {
        uuid: a100(0, 2).uuid,
        kind: GpuEventKind::Xid(Some(13)),
    }];
    let r = rep.report(&s, 1);
    let stats = AgentStats {
        cycles: 2,
        reports_sent: 1,
        report_failures: 1,
        controller_up: Some(false),
    };
    expect![[r#"
        # HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
        # TYPE DCGM_FI_DEV_GPU_UTIL gauge
        DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 87
        # HELP DCGM_FI_DEV_MEM_COPY_UTIL Memory utilization (in %).
        # TYPE DCGM_FI_DEV_MEM_COPY_UTIL gauge
        DCGM_FI_DEV_MEM_COPY_UTIL{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 41
        # HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
        # TYPE DCGM_FI_DEV_FB_USED gauge
        DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 1024
        # HELP DCGM_FI_DEV_FB_FREE Framebuffer memory free (in MiB).
        # TYPE DCGM_FI_DEV_FB_FREE gauge
        DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 80896
        # HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
        # TYPE DCGM_FI_DEV_GPU_TEMP gauge
        DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 52
        # HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
        # TYPE DCGM_FI_DEV_POWER_USAGE gauge
        DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 312.5
        # HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).
        # TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter
        DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 9876543
        # HELP DCGM_FI_DEV_ECC_SBE_VOL_TOTAL Total number of single-bit volatile ECC errors.
        # TYPE DCGM_FI_DEV_ECC_SBE_VOL_TOTAL counter
        DCGM_FI_DEV_ECC_SBE_VOL_TOTAL{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 0
        # HELP DCGM_FI_DEV_ECC_DBE_VOL_TOTAL Total number of double-bit volatile ECC errors.
        # TYPE DCGM_FI_DEV_ECC_DBE_VOL_TOTAL counter
        DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 0
        # HELP DCGM_FI_DEV_XID_ERRORS Value of the last XID error encountered.
        # TYPE DCGM_FI_DEV_XID_ERRORS gauge
        DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 13
        DCGM_FI_DEV_XID_ERRORS{gpu="1",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 0
        # HELP phalanx_gpu_xid_events_total Critical XID events since the agent started.
        # TYPE phalanx_gpu_xid_events_total counter
        phalanx_gpu_xid_events_total{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 1
        phalanx_gpu_xid_events_total{gpu="1",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 0
        # HELP phalanx_gpu_healthy 1 if the GPU may be given to jobs, 0 if it failed.
        # TYPE phalanx_gpu_healthy gauge
        phalanx_gpu_healthy{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 1
        phalanx_gpu_healthy{gpu="1",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 0
        # HELP phalanx_gpu_present 1 if the driver lists the GPU and answers for it.
        # TYPE phalanx_gpu_present gauge
        phalanx_gpu_present{gpu="0",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000000",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 1
        phalanx_gpu_present{gpu="1",UUID="GPU-1f0b2c3d-0000-4000-8000-000000000001",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-node-7"} 0
        # HELP phalanx_agent_cycles_total Reporting cycles done.
        # TYPE phalanx_agent_cycles_total counter
        phalanx_agent_cycles_total{Hostname="gpu-node-7"} 2
        # HELP phalanx_agent_reports_sent_total Reports the controller accepted.
        # TYPE phalanx_agent_reports_sent_total counter
        phalanx_agent_reports_sent_total{Hostname="gpu-node-7"} 1
        # HELP phalanx_agent_report_failures_total Reports that did not reach the controller.
        # TYPE phalanx_agent_report_failures_total counter
        phalanx_agent_report_failures_total{Hostname="gpu-node-7"} 1
        # HELP phalanx_agent_controller_up 1 if the last report reached the controller.
        # TYPE phalanx_agent_controller_up gauge
        phalanx_agent_controller_up{Hostname="gpu-node-7"} 0
    "#]]
    .assert_eq(&render_metrics(&r.status, &stats));
}

#[test]
fn the_inventory_table_reads_well() {
    let mut rep = Reporter::new(ReportConfig::default());
    rep.report(&two(), 0);
    let mut s = two();
    s.events = vec![GpuEvent {
        uuid: a100(1, 2).uuid,
        kind: GpuEventKind::Xid(Some(48)),
    }];
    let r = rep.report(&s, 1);
    expect![[r#"
        node    gpu-node-7
        cpus    64 (AMD EPYC 7763 64-Core Processor)
        memory  515896 MiB
        driver  550.54.15 (backend nvml)
        gpus    2
        GPU  UUID                                      NAME                   MODEL            MEMORY     NUMA  NVLINK        MIG  HEALTH
        0    GPU-1f0b2c3d-0000-4000-8000-000000000000  NVIDIA A100-SXM4-80GB  nvidia/A100-80G  81920 MiB  0     4 links to 1  off  healthy
        1    GPU-1f0b2c3d-0000-4000-8000-000000000001  NVIDIA A100-SXM4-80GB  nvidia/A100-80G  81920 MiB  1     4 links to 0  off  UNHEALTHY: XID 48: Double-bit ECC error
    "#]]
    .assert_eq(&render_inventory(&r.status));
}

#[test]
fn the_status_feeds_the_core_directly() {
    let mut rep = Reporter::new(ReportConfig::default());
    let first = rep.report(&two(), 0).status;
    let mut sched = Scheduler::new(Config::default());
    let node = sched.handle_node_added(Time::ZERO, first.node.clone()).unwrap();
    sched
        .handle_submit(Time::ZERO, JobBuilder::new(1).gpus(2).build())
        .unwrap();
    assert_eq!(sched.poll_decision().unwrap().to_string(), "start job1 0.0@n0[0,1]");

    let mut s = two();
    s.events = vec![GpuEvent {
        uuid: a100(1, 2).uuid,
        kind: GpuEventKind::Xid(Some(79)),
    }];
    let later = rep.report(&s, 1).status;
    for g in &later.gpus {
        sched.handle_gpu_health(Time(1), node, g.index, g.health).unwrap();
    }
    assert_eq!(
        sched.poll_decision().unwrap().to_string(),
        "stop job1: GPU 1 of n0 failed, requeued"
    );
}
