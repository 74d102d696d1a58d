//! Cluster specs, and jobs their clusters can never run.

use std::path::Path;

use expect_test::expect;
use phalanx_core::GpuModel;
use phalanx_sim::engine::{simulate, Outcome, SimConfig};
use phalanx_sim::metrics::jobs_csv;
use phalanx_sim::trace::cluster::{openb_cluster, philly_vc_clusters, ClusterSpec};
use phalanx_sim::trace::native::parse_native;
use phalanx_sim::trace::philly::{read_helios, read_philly_vcs};
use phalanx_sim::trace::Estimates;
use phalanx_sim::workload::Workload;

use super::traces;

#[test]
fn cluster_specs_build_nodes() {
    let spec =
        ClusterSpec::parse("64x8:nvidia/V100,16x4:huawei/Ascend910B:cpu=96000:mem=786432,2x0:cpu=128000").unwrap();
    expect!["64x8:nvidia/V100:cpu=64000:mem=262144:gpumem=32768,16x4:huawei/Ascend910B:cpu=96000:mem=786432:gpumem=32768,2x0:cpu=128000:mem=262144"]
        .assert_eq(&spec.to_string());
    assert_eq!(ClusterSpec::parse(&spec.to_string()).unwrap(), spec);
    let nodes = spec.nodes();
    assert_eq!(nodes.len(), 82);
    assert_eq!(spec.gpus(), 576);
    assert_eq!((nodes[0].name.as_str(), nodes[0].gpus.len()), ("p0-0000", 8));
    assert_eq!(nodes[0].gpus[0].model.as_str(), "nvidia/V100");
    let ascend = &nodes[64];
    assert_eq!(
        (ascend.name.as_str(), ascend.cpu_milli, ascend.memory_mib),
        ("p1-0000", 96_000, 786_432)
    );
    assert_eq!(
        (nodes[81].name.as_str(), nodes[81].gpus.len(), nodes[81].cpu_milli),
        ("p2-0001", 0, 128_000)
    );

    let openb = openb_cluster(&traces().join("alibaba-openb/openb_node_list_gpu_node.csv")).unwrap();
    assert_eq!(openb.iter().map(|n| n.gpus.len()).sum::<usize>(), 6212);

    let vcs = read_philly_vcs(&traces().join("philly/philly_vc.csv")).unwrap();
    let clusters = philly_vc_clusters(&vcs, &GpuModel::new("nvidia/P100").unwrap());
    assert_eq!(clusters.len(), 11);
    assert_eq!(
        (
            clusters[0].0.as_str(),
            clusters[0].1.len(),
            clusters[0].1[63].name.as_str()
        ),
        ("6214e9", 64, "6214e9-063")
    );
    assert!(clusters.iter().all(|(_, n)| n.iter().all(|n| n.gpus.len() == 8)));
}

#[test]
fn bad_cluster_specs() {
    let cases = [
        "",
        "64x8",
        "64:nvidia/V100",
        "0x8:nvidia/V100",
        "4x65:nvidia/V100",
        "4x8:V100",
        "4x0:nvidia/V100",
        "4x8:nvidia/V100:nvidia/A100",
        "4x8:nvidia/V100:cpu=lots",
        "4x8:nvidia/V100:disk=1",
        "4x8:nvidia/V100,,2x8:nvidia/A100",
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|c| ClusterSpec::parse(c).unwrap_err().to_string())
        .collect();
    expect![[r#"
        cluster spec: pool 1 ``: empty pool; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `64x8`: nodes with GPUs need a GPU model (`vendor/name`); expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `64:nvidia/V100`: `64` is not NODESxGPUS; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `0x8:nvidia/V100`: node count `0` is not an integer in 1..=1000000; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `4x65:nvidia/V100`: GPU count `65` is not an integer in 0..=64; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `4x8:V100`: `V100` is not a GPU model: expected `vendor/name` (e.g. `nvidia/V100M32`), but it has no `/`; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `4x0:nvidia/V100`: model `nvidia/V100` given for nodes without GPUs; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `4x8:nvidia/V100:nvidia/A100`: a second GPU model `nvidia/A100`; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `4x8:nvidia/V100:cpu=lots`: `cpu=lots`: `lots` is not a non-negative integer; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 1 `4x8:nvidia/V100:disk=1`: unknown key `disk` (known: cpu, mem, gpumem); expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`
        cluster spec: pool 2 ``: empty pool; expected NODESxGPUS[:vendor/model][:cpu=MILLI][:mem=MIB][:gpumem=MIB], e.g. `64x8:nvidia/V100`"#]]
    .assert_eq(&got.join("\n"));
}

#[test]
fn jobs_larger_than_the_cluster_are_named() {
    let w = parse_native(
        Path::new("jobs.jsonl"),
        concat!(
            r#"{"submit_ms":0,"duration_ms":5,"groups":[{"count":2,"gpus":8}]}"#,
            "\n",
            r#"{"submit_ms":1,"duration_ms":5,"groups":[{"count":3,"gpus":8}]}"#,
            "\n",
            r#"{"submit_ms":2,"duration_ms":5,"groups":[{"gpus":1,"models":["nvidia/A100"]}]}"#,
            "\n",
        ),
    )
    .unwrap();
    let nodes = ClusterSpec::parse("2x8:nvidia/V100").unwrap().nodes();
    // Replayed, each is rejected with the scheduler's reason, and `jobs.csv` names its file and line.
    let r = simulate(&w, &nodes, &SimConfig::default()).unwrap();
    let csv = jobs_csv(&w, &r);
    let rejected: Vec<&str> = csv.lines().filter(|l| l.contains(",rejected,")).collect();
    expect![[r#"
        1,jobs.jsonl:2,default,0.001,,,,0.000,24,0,0,rejected,the gang needs 24 GPUs of the allowed models in total but the cluster has 16
        2,jobs.jsonl:3,default,0.002,,,,0.000,1,0,0,rejected,group 0: no node has GPU model nvidia/A100"#]]
    .assert_eq(&rejected.join("\n"));
    assert_eq!(r.jobs[0].outcome, Outcome::Finished);
}

#[test]
fn every_helios_job_fits_its_virtual_cluster() {
    let dir = traces().join("philly");
    let (w, _) = read_helios(&dir.join("philly.csv"), &dir.join("philly_vc.csv"), Estimates::None).unwrap();
    let model = GpuModel::new("nvidia/P100").unwrap();
    let clusters = philly_vc_clusters(&read_philly_vcs(&dir.join("philly_vc.csv")).unwrap(), &model);
    for (vc, nodes) in &clusters {
        let q = w.queues.iter().position(|q| q == vc).unwrap() as u32;
        let one = Workload {
            jobs: w.jobs.iter().filter(|j| j.queue == q).cloned().collect(),
            ..w.clone()
        };
        let r = simulate(&one, nodes, &SimConfig::default()).unwrap();
        assert!(
            r.jobs.iter().all(|j| !matches!(j.outcome, Outcome::Rejected(_))),
            "a job of {vc} is rejected"
        );
    }
}
