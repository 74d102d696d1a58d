//! The native JSON Lines format.

use std::path::Path;

use expect_test::expect;
use phalanx_core::Span;
use phalanx_sim::trace::native::{parse_native, read_native, save_native, write_native};
use phalanx_sim::trace::synthetic::{generate, SizeMix, SyntheticConfig};
use phalanx_sim::trace::Estimates;
use phalanx_sim::workload::TraceJob;

use super::gang;

fn sample_native() -> &'static str {
    concat!(
        r#"{"submit_ms":1500,"duration_ms":60000,"groups":[{"gpus":1,"gpu_milli":250}]}"#,
        "\n\n",
        r#"{"submit_ms":0,"duration_ms":3600000,"queue":"vc-a","priority":3,"estimate_ms":3000000,"groups":[{"name":"worker","count":2,"cpu_milli":8000,"memory_mib":65536,"gpus":8,"gpu_milli":1000,"models":["nvidia/V100","huawei/Ascend910B"]},{"name":"ps","cpu_milli":4000,"elastic":{"min":1,"max":4}}]}"#,
        "\n",
    )
}

#[test]
fn native_format_reads_the_whole_job_model() {
    let w = parse_native(Path::new("jobs.jsonl"), sample_native()).unwrap();
    assert_eq!(w.jobs.len(), 2);
    // Sorted by submit time; lines kept.
    assert_eq!((w.jobs[0].line, w.jobs[1].line), (3, 1));
    let spec = w.spec(0);
    assert_eq!(
        (spec.queue.as_str(), spec.priority, spec.estimate),
        ("vc-a", 3, Some(Span(3_000_000)))
    );
    assert_eq!(w.jobs[0].duration, Span::from_secs(3600));
    let g = &spec.groups;
    assert_eq!(gang(g), "2x8+1x0");
    assert_eq!(
        g[0].request.models.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["nvidia/V100", "huawei/Ascend910B"]
    );
    assert_eq!(g[1].elastic.map(|e| (e.min, e.max)), Some((1, 4)));
    assert_eq!((g[1].request.cpu_milli, g[1].request.gpu_milli), (4000, 0));
    let shared = w.spec(1);
    assert_eq!(
        (shared.queue.as_str(), shared.groups[0].request.gpu_milli),
        ("default", 250)
    );
}

#[test]
fn native_format_round_trips() {
    let mut w = parse_native(Path::new("jobs.jsonl"), sample_native()).unwrap();
    let g = generate(&SyntheticConfig {
        seed: 7,
        jobs: 2000,
        jobs_per_hour: 100.0,
        sizes: SizeMix::Gavel,
        gpus_per_node: 8,
        estimates: Estimates::Oracle,
    })
    .unwrap();
    for j in &g.jobs {
        let groups = g.shapes[j.shape as usize].clone();
        let shape = w.shape_index(groups);
        w.jobs.push(TraceJob {
            shape,
            queue: 0,
            ..j.clone()
        });
    }
    w.sort_by_submit();
    let dir = std::env::temp_dir().join(format!("phalanx-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("round-trip.jsonl");
    save_native(&w, &path).unwrap();
    let back = read_native(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(back.jobs.len(), w.jobs.len());
    for i in 0..w.jobs.len() {
        let (a, b) = (&w.jobs[i], &back.jobs[i]);
        assert_eq!(
            (a.submit, a.duration, a.priority, a.estimate),
            (b.submit, b.duration, b.priority, b.estimate)
        );
        assert_eq!(w.spec(i), back.spec(i));
    }
    // Writing what was read gives the same bytes.
    let (mut first, mut second) = (Vec::new(), Vec::new());
    write_native(&w, &mut first).unwrap();
    write_native(&back, &mut second).unwrap();
    assert_eq!(first, second);
}

#[test]
fn bad_native_lines() {
    const OK: &str = r#"{"submit_ms":0,"duration_ms":1000,"groups":[{"gpus":1}]}"#;
    let cases = [
        String::new(),
        "\n\n".to_owned(),
        format!("{OK}\n{{\"submit_ms\":0,\"duration_ms\":1000,\"groups\":[{{\"gpus\":1}}]\n"),
        r#"{"submit_ms":0,"groups":[{"gpus":1}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":0,"groups":[{"gpus":1}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":-5,"groups":[{"gpus":1}]}"#.to_owned(),
        r#"{"submit_ms":"soon","duration_ms":5,"groups":[{"gpus":1}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpus":1,"models":["V100"]}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpus":1,"gpu":2}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpus":1,"count":0}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpus":2,"gpu_milli":500}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpus":1,"gpu_milli":1500}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpu_milli":500}]}"#.to_owned(),
        r#"{"submit_ms":0,"duration_ms":5,"groups":[{"gpus":1,"count":5,"elastic":{"min":1,"max":4}}]}"#.to_owned(),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|c| parse_native(Path::new("jobs.jsonl"), c).unwrap_err().to_string())
        .collect();
    expect![[r#"
        jobs.jsonl: no jobs: expected one JSON object per line (Phalanx native format)
        jobs.jsonl: no jobs: expected one JSON object per line (Phalanx native format)
        jobs.jsonl:2:55: EOF while parsing an object
        jobs.jsonl:1:37: missing field `duration_ms`
        jobs.jsonl:1: field `duration_ms`: expected a positive duration in milliseconds, found `0`
        jobs.jsonl:1:31: invalid value: integer `-5`, expected u64
        jobs.jsonl:1:19: invalid type: string "soon", expected u64
        jobs.jsonl:1:68: `V100` is not a GPU model: expected `vendor/name` (e.g. `nvidia/V100M32`), but it has no `/`
        jobs.jsonl:1:56: unknown field `gpu`, expected one of `name`, `count`, `cpu_milli`, `memory_mib`, `gpus`, `gpu_milli`, `models`, `elastic`
        jobs.jsonl:1: field `groups`: expected at least one task over all groups, found `[]`
        jobs.jsonl:1: field `groups`: expected at least one task over all groups, found `[{"name":"","count":0,"cpu_milli":0,"memory_mib":0,"gpus":1,"gpu_milli":null,"models":[]}]`
        jobs.jsonl:1: field `groups[0].gpu_milli`: expected 1000 for a task of several GPUs (only a single GPU can be shared), found `500`
        jobs.jsonl:1: field `groups[0].gpu_milli`: expected a share of each GPU in 1..=1000, found `1500`
        jobs.jsonl:1: field `groups[0].gpu_milli`: expected 0 (or no field) for a task without GPUs, found `500`
        jobs.jsonl:1: field `groups[0].elastic`: expected bounds with min <= count (5) <= max, found `{"min":1,"max":4}`"#]]
    .assert_eq(&got.join("\n"));
}

#[test]
fn the_documented_example_reads() {
    let readme = std::fs::read_to_string(super::traces().join("README.md")).unwrap();
    let example = readme
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a json example in traces/README.md");
    let w = parse_native(Path::new("README.md"), example).unwrap();
    assert_eq!(w.jobs.len(), 2);
    assert_eq!(gang(&w.spec(0).groups), "2x8");
}
