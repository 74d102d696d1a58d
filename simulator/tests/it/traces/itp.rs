//! Microsoft ITP cluster files.

use std::path::Path;

use expect_test::expect;
use phalanx_core::{Span, Time};
use phalanx_sim::trace::itp::{parse_itp, read_itp};
use phalanx_sim::trace::Estimates;

use super::{job_gang, traces};

#[test]
fn itp_clusters_read_whole() {
    let dir = traces().join("itp/raw-traces");
    let mut total = 0;
    let mut counts = Vec::new();
    for n in 1..=10 {
        let w = read_itp(&dir.join(format!("cluster{n:02}.csv")), Estimates::None).unwrap();
        assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
        total += w.jobs.len();
        counts.push(w.jobs.len());
    }
    assert_eq!(total, 69_351);
    assert_eq!(counts, [1595, 5778, 3011, 15802, 3629, 2396, 12699, 13047, 11134, 260]);
    let w = read_itp(&dir.join("cluster01.csv"), Estimates::Oracle).unwrap();
    let j = &w.jobs[0];
    assert_eq!(
        (j.submit, j.duration, j.line),
        (Time::from_secs(1_932_025), Span::from_secs(2429), 2)
    );
    assert_eq!(job_gang(&w, 0), "8x8");
    assert_eq!(j.estimate, Some(j.duration));
    assert_eq!(w.queues, ["cluster01"]);
}

#[test]
fn bad_itp_rows() {
    const H: &str = "job_id,submission_time,duration,num_gpu\n";
    let cases = [
        String::new(),
        "job_id,submission_time,num_gpu\na,1,1\n".to_owned(),
        format!("{H}a,10,0,1\n"),
        format!("{H}a,10,-5,1\n"),
        format!("{H}a,ten,5,1\n"),
        format!("{H}a,10,5,1.5\n"),
        format!("{H},10,5,1\n"),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|c| {
            parse_itp(Path::new("cluster01.csv"), c.clone(), Estimates::None)
                .unwrap_err()
                .to_string()
        })
        .collect();
    expect![[r#"
        cluster01.csv: the file is empty; expected a header line with columns `job_id`, `submission_time`, `duration`, `num_gpu`
        cluster01.csv:1: missing column `duration`; expected columns `job_id`, `submission_time`, `duration`, `num_gpu`
        cluster01.csv:2: field `duration`: expected a positive whole number of seconds, found `0`
        cluster01.csv:2: field `duration`: expected a positive whole number of seconds, found `-5`
        cluster01.csv:2: field `submission_time`: expected a whole number of seconds, found `ten`
        cluster01.csv:2: field `num_gpu`: expected a non-negative integer, found `1.5`
        cluster01.csv:2: field `job_id`: expected a job id, found ``"#]]
    .assert_eq(&got.join("\n"));
}
