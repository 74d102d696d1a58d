//! openb pod lists replayed in time.

use std::path::Path;

use expect_test::expect;
use phalanx_core::{Span, Time};
use phalanx_sim::trace::openb_replay::{parse_openb_replay, read_openb_replay, OpenbReplayOptions, ZeroLifetime};

use super::traces;

#[test]
fn openb_pods_replay_in_time() {
    let path = traces().join("alibaba-openb/openb_pod_list_default.csv");
    let (w, report) = read_openb_replay(&path, &OpenbReplayOptions::default()).unwrap();
    expect![[r#"
        8152 rows read, 8151 jobs kept; left out:
          1 pods deleted in the second they were created (deletion_time == creation_time): they never ran (first at line 7287)"#]]
    .assert_eq(&report.to_string());
    assert_eq!(w.jobs.len(), 8151);
    // openb-pod-0000: created at 0, deleted at 12537496.
    let first = w.jobs.iter().find(|j| j.line == 2).unwrap();
    assert_eq!(
        (first.submit, first.duration),
        (Time::ZERO, Span::from_secs(12_537_496))
    );
    let spec = w.spec(w.jobs.iter().position(|j| j.line == 3).unwrap());
    let r = &spec.groups[0].request;
    assert_eq!((r.cpu_milli, r.memory_mib, r.gpus, r.gpu_milli), (6000, 12288, 1, 460));
    assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    assert!(w.shapes.len() < 1000, "pod shapes are shared: {}", w.shapes.len());

    let strict = OpenbReplayOptions {
        zero_lifetime: ZeroLifetime::Error,
        ..OpenbReplayOptions::default()
    };
    let err = read_openb_replay(&path, &strict).unwrap_err().to_string();
    assert!(
        err.ends_with("openb_pod_list_default.csv:7287: field `deletion_time`: expected a time after creation_time 12774042 (the pod never ran; ZeroLifetime::Skip leaves such pods out), found `12774042`"),
        "{err}"
    );
    // The multi-GPU lists have no times: they cannot be replayed in time.
    let err = read_openb_replay(&traces().join("alibaba-openb/openb_pod_list_multigpu50.csv"), &strict)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("openb_pod_list_multigpu50.csv:1: missing column `creation_time`; expected columns `name`, `cpu_milli`, `memory_mib`, `num_gpu`, `gpu_milli`, `creation_time`, `deletion_time`"), "{err}");
}

#[test]
fn bad_openb_replay_rows() {
    const H: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time,deletion_time\n";
    let cases = [
        format!("{H}p,1000,1024,1,1000,100,50\n"),
        format!("{H}p,1000,1024,1,1000,,50\n"),
        format!("{H}p,1000,1024,1,1000,100,\n"),
        format!("{H}p,1000,1024,1,1000,100,1e3\n"),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|c| {
            parse_openb_replay(Path::new("pods.csv"), c.clone(), &OpenbReplayOptions::default())
                .unwrap_err()
                .to_string()
        })
        .collect();
    expect![[r#"
        pods.csv:2: field `deletion_time`: expected a time no earlier than creation_time 100, found `50`
        pods.csv:2: field `creation_time`: expected a creation time in seconds, found ``
        pods.csv:2: field `deletion_time`: expected a deletion time in seconds, found ``
        pods.csv:2: field `deletion_time`: expected a non-negative integer, found `1e3`"#]]
    .assert_eq(&got.join("\n"));
}
