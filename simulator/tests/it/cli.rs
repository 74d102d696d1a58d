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
    // The cause is said once, not once per link of the error chain.
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_writes_a_table_runs_and_plots() {
    let dir = std::env::temp_dir().join(format!("phalanx-compare-{}", std::process::id()));
    let out = phalanx()
        .args([
            "compare",
            "--format",
            "synthetic",
            "--jobs",
            "300",
            "--jobs-per-hour",
            "400",
        ])
        .args(["--cluster", "4x8:nvidia/V100", "--placement", "bestfit", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for policy in ["fifo", "sjf", "srtf"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(policy) && l.contains(" 300 ")),
            "{stdout}"
        );
        for file in ["jobs.csv", "summary.json", "timeseries.csv"] {
            assert!(dir.join(policy).join(file).is_file(), "{policy}/{file}");
        }
    }
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 4, "{summary}");
    assert!(summary.starts_with("experiment,run,vc,policy,seed,jobs_submitted,jobs_finished,jobs_rejected"));
    for svg in ["jct_cdf.svg", "utilization.svg"] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert!(text.starts_with("<svg") && text.contains("<path"), "{svg}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn simulate_reports_a_bad_trace_row() {
    let dir = std::env::temp_dir().join(format!("phalanx-badtrace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("philly.csv");
    std::fs::write(
        &trace,
        "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-03 10:00:00,60.0,1,60.0,vc1\n2017-10-03 10:00:05,0.0,1,0.0,vc1\n",
    )
    .unwrap();
    let out = phalanx()
        .args([
            "simulate",
            "--format",
            "philly",
            "--cluster",
            "1x8:nvidia/V100",
            "--trace",
        ])
        .arg(&trace)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("error: {}:3: field `duration`", trace.display())),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
