//! `phalanx pack` end to end: outputs are written, and a malformed row names its file, line and field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NODES: &str = "sn,cpu_milli,memory_mib,gpu,model
node-a,32000,131072,4,T4
node-b,16000,65536,2,V100M16
node-c,64000,262144,8,G2
";

const PODS: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec
pod-01,4000,8192,1,500,
pod-02,8000,16384,1,1000,
pod-03,2000,4096,1,250,T4
pod-04,16000,32768,2,1000,
pod-05,1000,2048,0,0,
pod-06,4000,8192,1,700,V100M16|T4
pod-07,32000,65536,4,1000,G2
pod-08,2000,4096,1,300,
pod-09,500000,4096,1,300,
pod-10,4000,8192,1,500,
";

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pack(dir: &Path, nodes: &str, pods: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("nodes.csv"), nodes).unwrap();
    std::fs::write(dir.join("pods.csv"), pods).unwrap();
    Command::new(env!("CARGO_BIN_EXE_phalanx"))
        .arg("pack")
        .arg("--nodes")
        .arg(dir.join("nodes.csv"))
        .arg("--pods")
        .arg(dir.join("pods.csv"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn writes_the_summary_runs_and_chart() {
    let dir = scratch("pack-ok");
    let out = pack(
        &dir,
        NODES,
        PODS,
        &["--seeds", "1-3", "--policy", "all", "--threads", "2"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let summary = std::fs::read_to_string(dir.join("out/summary.csv")).unwrap();
    let expected_header = std::fs::read_to_string(crate::trace("fgd-expected/summary.csv")).unwrap();
    assert_eq!(
        summary.lines().next(),
        expected_header.lines().next(),
        "the paper's columns"
    );
    for p in ["random", "dotprod", "clustering", "packing", "bestfit", "fgd"] {
        assert!(summary.contains(&format!("pods,{p},3,")), "{p} missing:\n{summary}");
        assert!(stdout.contains(&format!(" {p} ")), "{p} missing:\n{stdout}");
    }
    let runs = std::fs::read_to_string(dir.join("out/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 6 * 3);
    // pod-09 asks for more CPU than any node has: it fails in every run, and the report says why.
    assert!(stdout.contains("can never run on this cluster"), "{stdout}");
    assert!(stdout.contains("pod-09"), "{stdout}");
    let svg = std::fs::read_to_string(dir.join("out/allocation.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn a_malformed_pod_row_names_file_line_and_field() {
    let dir = scratch("pack-bad-pod");
    let pods = PODS.replace("pod-04,16000,", "pod-04,16 cores,");
    let out = pack(&dir, NODES, &pods, &["--seeds", "1"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let file = dir.join("pods.csv");
    assert!(
        err.contains(&format!("{}:5: field `cpu_milli`", file.display())),
        "{err}"
    );
    assert!(err.contains("16 cores"), "{err}");
}

#[test]
fn a_malformed_node_row_names_file_line_and_field() {
    let dir = scratch("pack-bad-node");
    let nodes = NODES.replace("node-b,16000,65536,2,V100M16", "node-b,16000,65536,two,V100M16");
    let out = pack(&dir, &nodes, PODS, &["--seeds", "1"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let file = dir.join("nodes.csv");
    assert!(err.contains(&format!("{}:3: field `gpu`", file.display())), "{err}");
}

#[test]
fn unknown_policies_and_bad_seeds_are_refused() {
    let dir = scratch("pack-bad-args");
    let out = pack(&dir, NODES, PODS, &["--policy", "bestfit,tetris"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown policy `tetris`"),
        "{}",
        text(&out.stderr)
    );
    let out = pack(&dir, NODES, PODS, &["--seeds", "51-42"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("`51-42` is not a seed"),
        "{}",
        text(&out.stderr)
    );
}
