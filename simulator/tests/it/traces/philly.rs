//! Philly `philly.csv`, `philly_vc.csv` and the Helios selection.

use std::collections::BTreeMap;
use std::path::Path;

use expect_test::expect;
use phalanx_core::Time;
use phalanx_sim::trace::philly::{
    helios_workload, parse_philly_jobs, parse_philly_vcs, read_helios, read_philly, read_philly_jobs, read_philly_vcs,
};
use phalanx_sim::trace::{gpu_gang, Estimates};

use super::{gang, traces};

#[test]
fn gang_rule_splits_jobs_into_whole_nodes_and_a_rest() {
    let got: Vec<String> = [0, 1, 8, 12, 16, 24, 128]
        .iter()
        .map(|g| gang(&gpu_gang(*g, 8)))
        .collect();
    assert_eq!(got, ["1x0", "1x1", "1x8", "1x8+1x4", "2x8", "3x8", "16x8"]);
    assert!(gpu_gang(12, 8)
        .iter()
        .all(|g| g.request.cpu_milli == 0 && g.request.memory_mib == 0));
}

#[test]
fn philly_table_reads_whole() {
    let jobs = read_philly_jobs(&traces().join("philly/philly.csv")).unwrap();
    assert_eq!(jobs.len(), 82_247);
    let j = &jobs[0];
    assert_eq!(
        (j.line, j.submit, j.duration, j.gpus, j.vc.as_str()),
        (2, 1_507_532_515, 66, 1, "11cb48")
    );
    let w = read_philly(&traces().join("philly/philly.csv"), Estimates::None).unwrap();
    assert_eq!(w.jobs.len(), 82_247);
    assert_eq!(w.queues.len(), 15);
    assert_eq!(w.jobs[0].submit, Time::ZERO);
    assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    assert!(w.jobs.iter().all(|j| j.estimate.is_none()));
    let vcs = read_philly_vcs(&traces().join("philly/philly_vc.csv")).unwrap();
    assert_eq!(vcs.len(), 11);
    assert_eq!(vcs.iter().map(|v| v.nodes).sum::<u32>(), 352);
    assert_eq!((vcs[0].name.as_str(), vcs[0].nodes), ("6214e9", 64));
}

#[test]
fn helios_filter_keeps_the_jobs_of_the_experiment() {
    let dir = traces().join("philly");
    let (w, report) = read_helios(&dir.join("philly.csv"), &dir.join("philly_vc.csv"), Estimates::Oracle).unwrap();
    assert_eq!(w.jobs.len(), 68_503);
    expect![[r#"
        82247 rows read, 68503 jobs kept; left out:
          5649 jobs submitted before the window (first at line 4)
          18 jobs of a virtual cluster not in the VC table (first at line 19016)
          8077 jobs submitted after the window (first at line 15898)"#]]
    .assert_eq(&report.to_string());
    assert_eq!(report.rows, report.jobs + report.dropped_rows());
    // Time 0 is the first job on or after 2017-10-01 00:00:00 (it was submitted at 00:00:45).
    assert_eq!(w.jobs[0].submit, Time::ZERO);
    assert!(w.jobs.last().unwrap().submit <= Time::from_secs(5_270_340));
    // The oracle estimate is the true duration.
    assert!(w.jobs.iter().all(|j| j.estimate == Some(j.duration)));
    // Jobs per VC as the Helios artifact's simulator counted them on this table.
    let expected = std::fs::read_to_string(dir.join("helios-substitute-expected.csv")).unwrap();
    let mut want = BTreeMap::new();
    for line in expected
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("fifo,") && !l.contains(",all,"))
    {
        let f: Vec<&str> = line.split(',').collect();
        want.insert(f[1].to_owned(), f[2].parse::<usize>().unwrap());
    }
    let mut got = BTreeMap::new();
    for j in &w.jobs {
        *got.entry(w.queues[j.queue as usize].clone()).or_insert(0usize) += 1;
    }
    assert_eq!(got, want);
    // Gangs of 12 and 24 GPUs have a partial node.
    let shapes: Vec<String> = w.shapes.iter().map(|s| gang(s)).collect();
    assert!(
        shapes.contains(&"1x8+1x4".to_owned()) && shapes.contains(&"3x8".to_owned()),
        "{shapes:?}"
    );
}

fn philly_err(text: &str) -> String {
    parse_philly_jobs(Path::new("philly.csv"), text.to_owned())
        .unwrap_err()
        .to_string()
}

const PHILLY_HEADER: &str = "timestamp,duration,num_gpus,gpu_time,cluster\n";

#[test]
fn bad_philly_rows() {
    let cases = [
        String::new(),
        "timestamp,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,1,66.0,11cb48\n".to_owned(),
        PHILLY_HEADER.to_owned(),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,66.0,1,66.0,11cb48\n2017-10-09 7:01:55,66.0,1,66.0,11cb48\n"),
        format!("{PHILLY_HEADER}2017-02-30 07:01:55,66.0,1,66.0,11cb48\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,0.0,1,0.0,11cb48\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,-66.0,1,66.0,11cb48\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,66.5,1,66.5,11cb48\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,abc,1,66.0,11cb48\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,66.0,one,66.0,11cb48\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,66.0,1,66.0,\n"),
        format!("{PHILLY_HEADER}2017-10-09 07:01:55,66.0,1,66.0\n"),
    ];
    let got: Vec<String> = cases.iter().map(|c| philly_err(c)).collect();
    expect![[r#"
        philly.csv: the file is empty; expected a header line with columns `timestamp`, `duration`, `num_gpus`, `cluster`
        philly.csv:1: missing column `duration`; expected columns `timestamp`, `duration`, `num_gpus`, `cluster`
        philly.csv: no data rows after the header
        philly.csv:3: field `timestamp`: expected a UTC time `YYYY-mm-dd HH:MM:SS` (1970 or later), found `2017-10-09 7:01:55`
        philly.csv:2: field `timestamp`: expected a UTC time `YYYY-mm-dd HH:MM:SS` (1970 or later), found `2017-02-30 07:01:55`
        philly.csv:2: field `duration`: expected a positive whole number of seconds, found `0.0`
        philly.csv:2: field `duration`: expected a positive whole number of seconds, found `-66.0`
        philly.csv:2: field `duration`: expected a positive whole number of seconds, found `66.5`
        philly.csv:2: field `duration`: expected a positive whole number of seconds, found `abc`
        philly.csv:2: field `num_gpus`: expected a non-negative integer, found `one`
        philly.csv:2: field `cluster`: expected a virtual-cluster id, found ``
        philly.csv:2: expected 5 fields as in the header, found 4"#]]
    .assert_eq(&got.join("\n"));
}

#[test]
fn bad_philly_vc_tables_and_oversized_jobs() {
    let vc_err = |text: &str| {
        parse_philly_vcs(Path::new("philly_vc.csv"), text.to_owned())
            .unwrap_err()
            .to_string()
    };
    let got = [
        vc_err("vc,nodes\na,1\n"),
        vc_err("vc,node num\na,0\n"),
        vc_err("vc,node num\na,2\na,3\n"),
    ];
    expect![[r#"
        philly_vc.csv:1: missing column `node num`; expected columns `vc`, `node num`
        philly_vc.csv:2: field `node num`: expected a positive node count below 2^32, found `0`
        philly_vc.csv:3: field `vc`: expected a virtual-cluster id not used on an earlier line, found `a`"#]]
    .assert_eq(&got.join("\n"));

    // A job larger than its virtual cluster would wait for ever in the Helios experiment: an error.
    let jobs = parse_philly_jobs(
        Path::new("philly.csv"),
        format!("{PHILLY_HEADER}2017-10-02 00:00:00,60.0,8,480.0,small\n2017-10-02 00:01:00,60.0,16,960.0,small\n"),
    )
    .unwrap();
    let vcs = parse_philly_vcs(Path::new("philly_vc.csv"), "vc,node num\nsmall,1\n".to_owned()).unwrap();
    let err = helios_workload(Path::new("philly.csv"), &jobs, &vcs, Estimates::None).unwrap_err();
    expect!["philly.csv:3: a job of 16 GPUs is larger than its virtual cluster `small` (1 nodes of 8 GPUs)"]
        .assert_eq(&err.to_string());
}
