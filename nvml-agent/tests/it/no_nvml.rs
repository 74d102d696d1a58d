//! Without NVML the binary fails with one clear line: never a panic or a backtrace.

use crate::support::{agent_bin, fake_file};

fn check_one_line_error(args: &[&str], lib: &str, expect_reason: &str) {
    let out = agent_bin()
        .args(args)
        .args(["--nvml-lib", lib])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line, got:\n{stderr}");
    for needle in [
        "phalanx-agent: error: cannot load the NVIDIA driver library",
        "install the NVIDIA driver",
        "--fake FILE",
    ] {
        assert!(stderr.contains(needle), "{args:?}: `{needle}` missing from: {stderr}");
    }
    assert!(stderr.contains(expect_reason), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn inventory_and_run_without_the_library_say_what_to_do() {
    let missing = "/nonexistent/libnvidia-ml.so.1";
    check_one_line_error(&["inventory"], missing, "cannot open shared object file");
    check_one_line_error(&["inventory", "--json"], missing, "cannot open shared object file");
    check_one_line_error(
        &["run", "--no-metrics", "--cycles", "1"],
        missing,
        "cannot open shared object file",
    );
}

#[test]
fn a_library_that_is_not_nvml_is_refused_the_same_way() {
    let not_a_library = fake_file("this is not a shared library");
    check_one_line_error(&["inventory"], not_a_library.to_str().unwrap(), "file too short");
}
