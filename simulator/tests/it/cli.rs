//! The `phalanx` binary, run as a user would.

use std::path::Path;
use std::process::Command;

fn phalanx() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_phalanx"));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    c
}

#[test]
fn place_runs_on_the_shipped_openb_trace() {
    let out = phalanx().arg("place").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("cluster: 1213 nodes, 6212 GPUs"), "{stdout}");
    assert!(stdout.contains("pods:    8152 submitted"), "{stdout}");
    let placed: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("placed:  "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a placed line");
    let no_room: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("no room: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a no-room line");
    assert_eq!(
        placed + no_room,
        8152,
        "every pod is placed, waiting or rejected (none rejected here)"
    );
    assert!(placed > 7000, "{stdout}");
}

#[test]
fn place_reports_a_bad_row_with_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("phalanx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pods = dir.join("pods.csv");
    std::fs::write(
        &pods,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,500\np1,1000,lots,1,500\n",
    )
    .unwrap();
    let out = phalanx().arg("place").arg("--pods").arg(&pods).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {}:3: field `memory_mib`: expected a non-negative integer, found `lots`",
            pods.display()
        )
    );
    let missing = phalanx()
        .args(["place", "--nodes", "no/such/file.csv"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert!(
        stderr.starts_with("error: no/such/file.csv: cannot read the file:"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
