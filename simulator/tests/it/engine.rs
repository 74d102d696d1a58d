//! The discrete-event engine on small hand-checked traces.

use expect_test::expect;
use phalanx_core::builders::{JobBuilder, NodeBuilder};
use phalanx_core::{CheckpointCost, Config, HeadOfLine, NodeSpec, Placement, QueueOrder, Span, Time};
use phalanx_sim::engine::{simulate, Outcome, SimConfig};
use phalanx_sim::metrics::{jobs_csv, summarize};
use phalanx_sim::workload::{TraceJob, Workload};

/// A workload from (submit s, duration s, GPUs) triples; jobs over 8 GPUs become gangs of 8-GPU tasks plus a
/// remainder task, as Helios' consolidate placement expects. Estimates are the true durations.
fn workload(jobs: &[(u64, u64, u32)]) -> Workload {
    let mut w = Workload::new("inline", "inline.csv");
    let q = w.queue_index("vc");
    for (line, &(submit, duration, gpus)) in jobs.iter().enumerate() {
        let mut b = JobBuilder::new(0).cpu(0).mem(0);
        if gpus <= 8 {
            b = b.gpus(gpus);
        } else {
            b = b.tasks(gpus / 8).gpus(8);
            if gpus % 8 != 0 {
                b = b.group("rest").cpu(0).mem(0).gpus(gpus % 8);
            }
        }
        let shape = w.shape_index(b.build().groups);
        w.jobs.push(TraceJob {
            submit: Time::from_secs(submit),
            duration: Span::from_secs(duration),
            queue: q,
            priority: 0,
            estimate: Some(Span::from_secs(duration)),
            shape,
            line: line as u32 + 2,
        });
    }
    w.sort_by_submit();
    w
}

fn nodes(n: usize) -> Vec<NodeSpec> {
    (0..n)
        .map(|i| NodeBuilder::new(format!("n{i}")).gpus(8, "nvidia/V100").build())
        .collect()
}

fn config(queue: QueueOrder) -> SimConfig {
    SimConfig {
        scheduler: Config {
            queue,
            placement: Placement::Consolidate,
            head_of_line: HeadOfLine::Block,
            checkpoint: CheckpointCost::HELIOS,
        },
        sample_every: Some(Span::from_secs(1)),
    }
}

/// (JCT, queue delay, preemptions) per job, in seconds.
fn outcomes(w: &Workload, n: usize, queue: QueueOrder) -> Vec<(u64, u64, u32)> {
    let r = simulate(w, &nodes(n), &config(queue)).unwrap();
    r.jobs
        .iter()
        .map(|j| {
            assert_eq!(j.outcome, Outcome::Finished);
            (j.jct().unwrap().as_secs(), j.queue.as_secs(), j.preemptions)
        })
        .collect()
}

// A: 6 GPUs for 100 s at 0; B: 4 GPUs for 50 s at 10; C: 2 GPUs for 10 s at 20. One 8-GPU node.
const ABC: [(u64, u64, u32); 3] = [(0, 100, 6), (10, 50, 4), (20, 10, 2)];

#[test]
fn fifo_blocks_the_head_of_the_line() {
    // B waits for A; C would fit at 20 but waits behind B; both start at 100.
    assert_eq!(
        outcomes(&workload(&ABC), 1, QueueOrder::Fifo),
        [(100, 0, 0), (140, 90, 0), (90, 80, 0)]
    );
}

#[test]
fn sjf_reorders_the_queue_but_still_blocks() {
    // At 20 the queue is [C (10 s), B (50 s)]: C fits and starts; B still waits for A.
    assert_eq!(
        outcomes(&workload(&ABC), 1, QueueOrder::ShortestFirst),
        [(100, 0, 0), (140, 90, 0), (10, 0, 0)]
    );
}

#[test]
fn srtf_preempts_and_charges_the_checkpoint() {
    // At 10, B (50 s) preempts A (90 s left, 6 GPUs: +30 s checkpoint); C runs 20..30; B ends at 60;
    // A restarts at 60 with 120 s of work and ends at 180.
    assert_eq!(
        outcomes(&workload(&ABC), 1, QueueOrder::ShortestRemaining),
        [(180, 50, 1), (50, 0, 0), (10, 0, 0)]
    );
}

#[test]
fn consolidation_gives_large_jobs_whole_nodes() {
    // X (12 GPUs) takes n0 whole and 4 GPUs of n1; Y (4) fits beside it on n1; Z (16) needs two whole nodes.
    let w = workload(&[(0, 100, 12), (0, 100, 4), (1, 10, 16)]);
    let r = simulate(&w, &nodes(2), &config(QueueOrder::Fifo)).unwrap();
    let got: Vec<_> = r.jobs.iter().map(|j| (j.jct().unwrap().as_secs(), j.nodes)).collect();
    assert_eq!(got, [(100, 2), (100, 1), (109, 2)]);
    let s = summarize(&r, |_| true);
    assert_eq!((s.jobs_finished, s.makespan_s), (3, 110.0));
    // 12x100 + 4x100 + 16x10 GPU-s over 16 GPUs x 110 s.
    assert!((s.gpu_utilization - 1.0).abs() < 1e-9, "{}", s.gpu_utilization);
}

#[test]
fn impossible_and_never_fitting_jobs_are_reported_not_lost() {
    let w = workload(&[(0, 10, 1), (0, 10, 24), (5, 10, 2)]);
    let r = simulate(&w, &nodes(2), &config(QueueOrder::Fifo)).unwrap();
    expect![[r#"
        job,origin,queue,submit_s,start_s,end_s,jct_s,queue_s,gpus,nodes,preemptions,outcome,reason
        0,inline.csv:2,vc,0.000,0.000,10.000,10.000,0.000,1,1,0,finished,
        1,inline.csv:3,vc,0.000,,,,0.000,24,0,0,rejected,the gang needs 24 GPUs of the allowed models in total but the cluster has 16
        2,inline.csv:4,vc,5.000,5.000,15.000,10.000,0.000,2,1,0,finished,
    "#]]
    .assert_eq(&jobs_csv(&w, &r));
    let s = summarize(&r, |_| true);
    assert_eq!(
        (s.jobs_submitted, s.jobs_finished, s.jobs_rejected, s.jobs_unfinished),
        (3, 2, 1, 0)
    );
}

#[test]
fn replay_is_deterministic() {
    let jobs: Vec<(u64, u64, u32)> = (0..300u64)
        .map(|i| (i * 7 % 200, 5 + i * 13 % 90, [1, 2, 4, 8, 12, 16][i as usize % 6]))
        .collect();
    let w = workload(&jobs);
    for q in [
        QueueOrder::Fifo,
        QueueOrder::ShortestFirst,
        QueueOrder::ShortestRemaining,
    ] {
        let a = simulate(&w, &nodes(3), &config(q)).unwrap();
        let b = simulate(&w, &nodes(3), &config(q)).unwrap();
        assert_eq!(jobs_csv(&w, &a), jobs_csv(&w, &b));
        assert_eq!(a.series, b.series);
        assert!(a.jobs.iter().all(|j| j.outcome == Outcome::Finished));
    }
}
