//! The seeded synthetic generator.

use std::path::Path;

use expect_test::expect;
use phalanx_core::Span;
use phalanx_sim::trace::synthetic::{generate, JobSizeTable, SizeMix, SyntheticConfig};
use phalanx_sim::trace::Estimates;

use super::{job_gang, traces};

fn philly_mix() -> JobSizeTable {
    JobSizeTable::read(&traces().join("gavel/philly_job_distribution.csv")).unwrap()
}

fn config(seed: u64, jobs: usize, sizes: SizeMix) -> SyntheticConfig {
    SyntheticConfig {
        seed,
        jobs,
        jobs_per_hour: 360.0,
        sizes,
        gpus_per_node: 8,
        estimates: Estimates::None,
    }
}

#[test]
fn generator_is_deterministic_per_seed() {
    let table = philly_mix();
    assert_eq!(table.pairs().len(), 33_192);
    let a = generate(&config(42, 5000, SizeMix::Empirical(table.clone()))).unwrap();
    let b = generate(&config(42, 5000, SizeMix::Empirical(table.clone()))).unwrap();
    let c = generate(&config(43, 5000, SizeMix::Empirical(table))).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.jobs, c.jobs);
    assert_eq!(a.jobs.len(), 5000);
    assert!(a.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    // The same bits on every platform: a few values pinned.
    let head: Vec<String> = a.jobs[..4]
        .iter()
        .enumerate()
        .map(|(i, j)| format!("{} {} {}", j.submit.0, j.duration.0, job_gang(&a, i)))
        .collect();
    expect![[r#"
        0 11057000 1x1
        30013 6889000 1x1
        39884 268293000 1x1
        41509 7475000 1x1"#]]
    .assert_eq(&head.join("\n"));
    let g = generate(&config(42, 3, SizeMix::Gavel)).unwrap();
    let head: Vec<String> = (0..3)
        .map(|i| format!("{} {} {}", g.jobs[i].submit.0, g.jobs[i].duration.0, job_gang(&g, i)))
        .collect();
    expect![[r#"
        0 50531753 1x1
        9871 3184854 1x1
        26161 4325429 1x1"#]]
    .assert_eq(&head.join("\n"));
}

#[test]
fn generator_follows_its_distributions() {
    let table = philly_mix();
    let n = 50_000;
    let table_mean_gpus = table.pairs().iter().map(|p| f64::from(p.1)).sum::<f64>() / table.pairs().len() as f64;
    let w = generate(&config(1, n, SizeMix::Empirical(table))).unwrap();
    let mean_gpus = (0..n).map(|i| w.gpus(i) as f64).sum::<f64>() / n as f64;
    assert!(
        (mean_gpus / table_mean_gpus - 1.0).abs() < 0.03,
        "{mean_gpus} vs {table_mean_gpus}"
    );
    // 360 jobs an hour: a mean gap of 10 s.
    let gap = w.jobs.last().unwrap().submit.as_millis() as f64 / (n - 1) as f64 / 1000.0;
    assert!((gap - 10.0).abs() < 0.2, "mean gap {gap} s");
    assert!(w.shapes.len() <= 4, "shapes are shared: {}", w.shapes.len());

    let w = generate(&config(2, n, SizeMix::Gavel)).unwrap();
    let share = |g: u64| (0..n).filter(|i| w.gpus(*i) == g).count() as f64 / n as f64;
    for (g, p) in [(1, 0.7), (2, 0.1), (4, 0.15), (8, 0.05)] {
        assert!((share(g) - p).abs() < 0.01, "{g} GPUs: {} vs {p}", share(g));
    }
    let long = w.jobs.iter().filter(|j| j.duration > Span::from_secs(60_000)).count() as f64 / n as f64;
    assert!((long - 0.2).abs() < 0.01, "long jobs {long}");
    assert!(w
        .jobs
        .iter()
        .all(|j| j.duration >= Span(1_897_000) && j.duration <= Span(600_000_000)));
}

#[test]
fn generator_rejects_bad_configs_and_tables() {
    let bad_rate = generate(&SyntheticConfig {
        jobs_per_hour: 0.0,
        ..config(1, 1, SizeMix::Gavel)
    })
    .unwrap_err();
    let empty = generate(&config(1, 1, SizeMix::Empirical(JobSizeTable::from_pairs(Vec::new())))).unwrap_err();
    let too_many = generate(&config(1, usize::MAX, SizeMix::Gavel)).unwrap_err();
    let table = |text: &str| {
        JobSizeTable::parse(Path::new("sizes.csv"), text.to_owned())
            .unwrap_err()
            .to_string()
    };
    let got = [
        bad_rate.to_string(),
        empty.to_string(),
        too_many.to_string(),
        table("duration_s\n5\n"),
        table("duration_s,num_gpus\n0,1\n"),
        table("duration_s,num_gpus\nNaN,1\n"),
        table("duration_s,num_gpus\n5.5,0\n"),
    ];
    expect![[r#"
        jobs_per_hour must be a positive finite number, got 0
        the empirical size table is empty
        cannot hold 18446744073709551615 jobs in memory
        sizes.csv:1: missing column `num_gpus`; expected columns `duration_s`, `num_gpus`
        sizes.csv:2: field `duration_s`: expected a positive number of seconds (at least 0.0005, below 10^12), found `0`
        sizes.csv:2: field `duration_s`: expected a decimal number, found `NaN`
        sizes.csv:2: field `num_gpus`: expected a positive GPU count below 2^32, found `0`"#]]
    .assert_eq(&got.join("\n"));
}
