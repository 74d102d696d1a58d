//! Pollux workloads and their running-time model.

use std::path::Path;

use expect_test::expect;
use phalanx_core::{Span, Time};
use phalanx_sim::trace::pollux::{parse_pollux, read_pollux, PolluxOptions, PolluxProfiles};
use phalanx_sim::trace::Estimates;

use super::{job_gang, traces};

fn profiles() -> PolluxProfiles {
    PolluxProfiles::read(&traces().join("pollux/profiles")).unwrap()
}

#[test]
fn pollux_running_times_follow_the_profiles() {
    let p = profiles();
    assert_eq!(
        p.names().collect::<Vec<_>>(),
        ["bert", "cifar10", "deepspeech2", "imagenet", "ncf", "yolov3"]
    );
    // Every (application, replicas, batch) of workloads 1-8, in seconds of training.
    let configs = [
        ("bert", 6, 384),
        ("bert", 8, 384),
        ("bert", 12, 384),
        ("bert", 16, 384),
        ("cifar10", 6, 2048),
        ("cifar10", 8, 2048),
        ("cifar10", 12, 4096),
        ("cifar10", 16, 4096),
        ("deepspeech2", 6, 320),
        ("deepspeech2", 8, 320),
        ("deepspeech2", 12, 640),
        ("imagenet", 24, 3200),
        ("imagenet", 32, 6400),
        ("imagenet", 48, 6400),
        ("ncf", 1, 32768),
        ("yolov3", 4, 64),
    ];
    let got: Vec<String> = configs
        .iter()
        .map(|(app, n, b)| format!("{app} {n} {b}: {}", p.app(app).unwrap().training_secs(*n, *b).unwrap()))
        .collect();
    expect![[r#"
        bert 6 384: 3092
        bert 8 384: 2459
        bert 12 384: 1594
        bert 16 384: 1324
        cifar10 6 2048: 910
        cifar10 8 2048: 865
        cifar10 12 4096: 624
        cifar10 16 4096: 482
        deepspeech2 6 320: 4142
        deepspeech2 8 320: 3530
        deepspeech2 12 640: 2477
        imagenet 24 3200: 31805
        imagenet 32 6400: 27431
        imagenet 48 6400: 19689
        ncf 1 32768: 47
        yolov3 4 64: 14102"#]]
    .assert_eq(&got.join("\n"));
}

#[test]
fn pollux_workloads_read_whole() {
    let p = profiles();
    for n in 1..=8 {
        let path = traces().join(format!("pollux/workloads/workload-{n}.csv"));
        let w = read_pollux(&path, &p, &PolluxOptions::default()).unwrap();
        assert_eq!(w.jobs.len(), 160, "{}", path.display());
        assert!(w.jobs.iter().all(|j| j.duration > Span::from_secs(30)));
    }
    let w = read_pollux(
        &traces().join("pollux/workloads/workload-1.csv"),
        &p,
        &PolluxOptions {
            estimates: Estimates::Oracle,
            ..PolluxOptions::default()
        },
    )
    .unwrap();
    // cifar10-0: submitted at 107 s, 6 replicas, batch 2048: 910 s of training + 30 s start-up, on 4 + 2 GPUs.
    let j = &w.jobs[0];
    assert_eq!(
        (j.submit, j.duration, j.line),
        (Time::from_secs(107), Span::from_secs(940), 2)
    );
    assert_eq!(j.estimate, Some(j.duration));
    assert_eq!(job_gang(&w, 0), "1x4+1x2");
}

#[test]
fn bad_pollux_rows() {
    let p = profiles();
    const H: &str = "name,time,application,num_replicas,batch_size\n";
    let cases = [
        String::new(),
        "name,time,num_replicas,batch_size\na,1,1,128\n".to_owned(),
        format!("{H}a,1,resnet,1,128\n"),
        format!("{H}a,1,cifar10,0,128\n"),
        format!("{H}a,1,cifar10,1,0\n"),
        format!("{H}a,x,cifar10,1,128\n"),
        format!("{H}a,1,cifar10,64,128\n"),
        format!("{H}a,1,imagenet,20,6400\n"),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|c| {
            let e = parse_pollux(Path::new("workload-1.csv"), c.clone(), &p, &PolluxOptions::default())
                .unwrap_err()
                .to_string();
            e.replace(&traces().join("pollux/profiles").display().to_string(), "PROFILES")
        })
        .collect();
    expect![[r#"
        workload-1.csv: the file is empty; expected a header line with columns `name`, `time`, `application`, `num_replicas`, `batch_size`
        workload-1.csv:1: missing column `application`; expected columns `name`, `time`, `application`, `num_replicas`, `batch_size`
        workload-1.csv:2: field `application`: expected an application profiled in PROFILES (bert, cifar10, deepspeech2, imagenet, ncf, yolov3), found `resnet`
        workload-1.csv:2: field `num_replicas`: expected a positive replica count below 2^32, found `0`
        workload-1.csv:2: field `batch_size`: expected a positive batch size, found `0`
        workload-1.csv:2: field `time`: expected a whole number of seconds, found `x`
        workload-1.csv:2: field `batch_size`: expected a local batch size within 32..=182, the rows of 16 nodes and 64 replicas of scalability.csv (got 2) for 64 replicas of `cifar10`, found `128`
        workload-1.csv:2: field `batch_size`: expected a replica count with a measured throughput (no placement `44444` in placements.csv, no 5 nodes × 20 replicas in scalability.csv) for 20 replicas of `imagenet`, found `6400`"#]]
    .assert_eq(&got.join("\n"));
}
