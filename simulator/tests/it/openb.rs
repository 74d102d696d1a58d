//! The openb readers: real files parse; every kind of bad row is reported with file, line and field.

use std::path::{Path, PathBuf};

use expect_test::expect;
use phalanx_sim::openb::{parse_nodes_text, parse_pods_text, read_nodes, read_pods};

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/alibaba-openb")
}

#[test]
fn shipped_openb_files_parse() {
    let nodes = read_nodes(&traces().join("openb_node_list_gpu_node.csv")).unwrap();
    assert_eq!(nodes.len(), 1213);
    assert_eq!(nodes.iter().map(|n| u64::from(n.gpus)).sum::<u64>(), 6212);
    let all = read_nodes(&traces().join("openb_node_list_all_node.csv")).unwrap();
    assert_eq!(all.len(), 1523);
    assert_eq!(all.iter().filter(|n| n.model.is_none()).count(), 310);
    let pods = read_pods(&traces().join("openb_pod_list_default.csv")).unwrap();
    assert_eq!(pods.len(), 8152);
    let p = &pods[1];
    assert_eq!((p.name.as_str(), p.num_gpu, p.gpu_milli), ("openb-pod-0001", 1, 460));
    let spec = read_pods(&traces().join("openb_pod_list_gpuspec33.csv")).unwrap();
    assert!(spec.iter().any(|p| p.gpu_spec.iter().any(|m| m.as_str() == "openb/G2")));
    // The multi-GPU lists carry only the first five columns.
    let multi = read_pods(&traces().join("openb_pod_list_multigpu50.csv")).unwrap();
    assert!(multi.iter().all(|p| p.creation_time.is_none()));
}

fn node_err(text: &str) -> String {
    parse_nodes_text(Path::new("nodes.csv"), text.to_owned())
        .unwrap_err()
        .to_string()
}

fn pod_err(text: &str) -> String {
    parse_pods_text(Path::new("pods.csv"), text.to_owned())
        .unwrap_err()
        .to_string()
}

const NODE_HEADER: &str = "sn,cpu_milli,memory_mib,gpu,model\n";
const POD_HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n";

#[test]
fn bad_node_rows() {
    let cases = [
        String::new(),
        "sn,cpu_milli,gpu,model\nn1,1,2,V100M32\n".to_owned(),
        NODE_HEADER.to_owned(),
        format!("{NODE_HEADER}n1,64000,262144,2,P100\nn2,64000,abc,2,P100\n"),
        format!("{NODE_HEADER}n1,-5,262144,2,P100\n"),
        format!("{NODE_HEADER}n1,64000,262144,2\n"),
        format!("{NODE_HEADER}n1,64000,262144,2,\n"),
        format!("{NODE_HEADER}n1,64000,262144,0,T4\n"),
        format!("{NODE_HEADER}n1,64000,262144,99,T4\n"),
        format!("{NODE_HEADER}n1,64000,262144,2,T 4\n"),
        format!("{NODE_HEADER}n1,64000,262144,2,T4\nn1,64000,262144,2,T4\n"),
        format!("{NODE_HEADER}\"n1\",64000,262144,2,T4\n"),
    ];
    let got: Vec<String> = cases.iter().map(|c| node_err(c)).collect();
    expect![[r#"
        nodes.csv: the file is empty; expected a header line with columns `sn`, `cpu_milli`, `memory_mib`, `gpu`, `model`
        nodes.csv:1: missing column `memory_mib`; expected columns `sn`, `cpu_milli`, `memory_mib`, `gpu`, `model`
        nodes.csv: no data rows after the header
        nodes.csv:3: field `memory_mib`: expected a non-negative integer, found `abc`
        nodes.csv:2: field `cpu_milli`: expected a non-negative integer, found `-5`
        nodes.csv:2: expected 5 fields as in the header, found 4
        nodes.csv:2: field `model`: expected a GPU model code for a node with GPUs, found ``
        nodes.csv:2: field `model`: expected an empty model for a node with 0 GPUs, found `T4`
        nodes.csv:2: field `gpu`: expected a GPU count of at most 64, found `99`
        nodes.csv:2: field `model`: expected a GPU model code such as `V100M32` or `G2`, found `T 4`
        nodes.csv:3: field `sn`: expected a node name not used on an earlier line, found `n1`
        nodes.csv:2: field `sn`: expected a plain value (quoted fields are not supported), found `"n1"`"#]]
    .assert_eq(&got.join("\n"));
}

#[test]
fn bad_pod_rows() {
    let cases = [
        format!("{POD_HEADER}p1,4000,1024,1,x,\n"),
        format!("{POD_HEADER}p1,4000,1024,2,500,\n"),
        format!("{POD_HEADER}p1,4000,1024,1,0,\n"),
        format!("{POD_HEADER}p1,4000,1024,1,1000,V100M32|bad model\n"),
        format!("{POD_HEADER},4000,1024,1,1000,\n"),
        format!("{POD_HEADER}p1,4000,1.5,1,1000,\n"),
    ];
    let got: Vec<String> = cases.iter().map(|c| pod_err(c)).collect();
    expect![[r#"
        pods.csv:2: field `gpu_milli`: expected an integer, found `x`
        pods.csv:2: field `gpu_milli`: expected 1000 for a pod with several GPUs (only 1-GPU pods share), found `500`
        pods.csv:2: field `gpu_milli`: expected a positive milli-GPU share for a pod with GPUs, found `0`
        pods.csv:2: field `gpu_spec`: expected a GPU model code such as `V100M32` or `G2`, found `V100M32|bad model`
        pods.csv:2: field `name`: expected a pod name, found ``
        pods.csv:2: field `memory_mib`: expected a non-negative integer, found `1.5`"#]]
    .assert_eq(&got.join("\n"));
}

#[test]
fn pod_normalisation_follows_the_fgd_experiment() {
    let pods = parse_pods_text(
        Path::new("p.csv"),
        format!("{POD_HEADER}cpu,2000,1024,0,500,\nbig,2000,1024,1,1500,\nany,1,1,1,200,|T4||G2|\n"),
    )
    .unwrap();
    assert_eq!(pods[0].gpu_milli, 0, "a CPU-only pod holds no GPU share");
    assert_eq!(pods[1].gpu_milli, 1000, "a share is capped at one GPU");
    let models: Vec<&str> = pods[2].gpu_spec.iter().map(|m| m.as_str()).collect();
    assert_eq!(models, ["nvidia/T4", "openb/G2"]);
}
