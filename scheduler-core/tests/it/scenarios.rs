//! Small inline clusters and jobs; the rendered decision log is compared with a snapshot.
//! Refresh the snapshots with `UPDATE_EXPECT=1 cargo test` and review the diff by hand.

use expect_test::expect;
use phalanx_core::builders::{Harness, JobBuilder as Job, NodeBuilder as Node};
use phalanx_core::{
    Config, GpuHealth, HeadOfLine, JobError, JobId, JobStatus, NodeId, NodeState, Placement, QueueOrder, Time,
};

fn harness(placement: Placement, queue: QueueOrder, head_of_line: HeadOfLine) -> Harness {
    Harness::new(Config {
        queue,
        placement,
        head_of_line,
        ..Default::default()
    })
}

fn bestfit() -> Harness {
    harness(Placement::BestFit, QueueOrder::Fifo, HeadOfLine::Block)
}

#[test]
fn gang_starts_whole_across_nodes_on_fewest_nodes() {
    let mut h = bestfit();
    h.nodes(4, "a", Node::new("").gpus(8, "nvidia/V100"));
    h.submit(Job::new(1).gpus(6));
    h.submit(Job::new(2).gpus(3));
    // 3 tasks x 4 GPUs: the emptiest node holds two, the best-fitting other node the third.
    h.submit(Job::new(3).tasks(3).gpus(4));
    expect![[r#"
        start job1 0.0@n0[0,1,2,3,4,5]
        start job2 0.0@n1[0,1,2]
        start job3 0.0@n2[0,1,2,3] 0.1@n2[4,5,6,7] 0.2@n1[3,4,5,6]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn a_gang_that_does_not_fit_waits_whole_then_starts_whole() {
    let mut h = bestfit();
    h.nodes(2, "a", Node::new("").gpus(4, "nvidia/A100"));
    h.submit(Job::new(1).gpus(2));
    h.submit(Job::new(2).tasks(2).gpus(4));
    expect![[r#"
        start job1 0.0@n0[0,1]
    "#]]
    .assert_eq(&h.step());
    assert_eq!(h.sched.job_status(JobId(2)), Some(JobStatus::Pending));
    // Nothing of job 2 holds resources while it waits.
    assert_eq!(h.sched.view().node(NodeId(1)).unwrap().free_whole_gpus(), 4);
    h.sched.handle_job_finished(Time::from_secs(5), JobId(1)).unwrap();
    expect![[r#"
        start job2 0.0@n0[0,1,2,3] 0.1@n1[0,1,2,3]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn model_constraints_and_unknown_models() {
    let mut h = bestfit();
    h.nodes(1, "v", Node::new("").gpus(2, "nvidia/V100M32"));
    h.nodes(1, "h", Node::new("").gpus(2, "huawei/Ascend910B"));
    h.nodes(1, "i", Node::new("").gpus(2, "iluvatar/BI-V150"));
    h.submit(Job::new(1).gpus(1).models(&["huawei/Ascend910B"]));
    h.submit(Job::new(2).gpus(2).models(&["nvidia/A100", "iluvatar/BI-V150"]));
    h.submit(Job::new(3).gpus(1).models(&["nvidia/A100", "nvidia/H100"]));
    h.submit(Job::new(4).gpus(1));
    expect![[r#"
        reject job3: group 0: no node has GPU model nvidia/A100 or nvidia/H100
        start job1 0.0@n1[0]
        start job2 0.0@n2[0,1]
        start job4 0.0@n1[1]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn shared_gpus_pack_onto_the_tightest_device() {
    let mut h = bestfit();
    h.nodes(2, "a", Node::new("").gpus(2, "nvidia/T4"));
    h.submit(Job::new(1).share(700));
    h.submit(Job::new(2).share(500));
    h.submit(Job::new(3).share(250));
    h.submit(Job::new(4).share(300));
    h.submit(Job::new(5).gpus(1));
    expect![[r#"
        start job1 0.0@n0[0:700m]
        start job2 0.0@n0[1:500m]
        start job3 0.0@n0[0:250m]
        start job4 0.0@n0[1:300m]
        start job5 0.0@n1[0]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn reject_reasons() {
    let mut h = bestfit();
    h.nodes(2, "a", Node::new("").cpu(32_000).mem(65_536).gpus(8, "nvidia/V100"));
    h.nodes(1, "c", Node::new("").cpu(96_000).mem(262_144));
    h.submit(Job::new(1).gpus(9));
    h.submit(Job::new(2).gpus(1).cpu(64_000));
    h.submit(Job::new(3).gpus(1).mem(100_000));
    h.submit(Job::new(4).cpu(128_000));
    h.submit(Job::new(5).tasks(3).gpus(8));
    h.submit(Job::new(6).tasks(4).cpu(48_000));
    h.submit(Job::new(7).raw_gpu(2, 500));
    h.submit(Job::new(8).raw_gpu(1, 1500));
    h.submit(Job::new(9).raw_gpu(1, 0));
    h.submit(Job::new(10).tasks(0));
    h.submit(Job::new(11).tasks(2).elastic(3, 4));
    h.submit(Job::new(12).group("ps").gpus(1).mem(300_000));
    expect![[r#"
        reject job1: group 0: one task needs more GPUs than any eligible node has
        reject job2: group 0: one task needs more CPU than any eligible node has
        reject job3: group 0: one task needs more memory than any eligible node has
        reject job4: group 0: one task needs more CPU than any eligible node has
        reject job5: the gang needs 24 GPUs of the allowed models in total but the cluster has 16
        reject job6: the gang needs 192000 milli-CPU in total but the cluster has 160000
        reject job7: group 0: a shared GPU (gpu_milli below 1000) needs gpus = 1
        reject job8: group 0: gpu_milli is above 1000 (one whole GPU)
        reject job9: group 0: asks for GPUs with gpu_milli 0
        reject job10: group 0: the job has no tasks
        reject job11: group 0: elastic bounds must satisfy min <= count <= max
        reject job12: group 1: one task needs more memory than any eligible node has
    "#]]
    .assert_eq(&h.step());
    let s = h.sched.stats();
    assert_eq!((s.submitted, s.rejected, s.started), (12, 12, 0));
}

#[test]
fn node_loss_stops_and_requeues_its_jobs() {
    let mut h = bestfit();
    let ids = h.nodes(3, "a", Node::new("").gpus(4, "nvidia/A100"));
    h.submit(Job::new(1).tasks(2).gpus(4));
    h.submit(Job::new(2).gpus(2));
    expect![[r#"
        start job1 0.0@n0[0,1,2,3] 0.1@n1[0,1,2,3]
        start job2 0.0@n2[0,1]
    "#]]
    .assert_eq(&h.step());
    h.at(10);
    h.sched.handle_node_state(h.now, ids[1], NodeState::Down).unwrap();
    // job1 is stopped on every node and waits whole; job2 keeps running.
    expect![[r#"
        stop job1: node n1 lost, requeued
    "#]]
    .assert_eq(&h.step());
    assert_eq!(h.sched.view().node(ids[0]).unwrap().free_whole_gpus(), 4);
    h.sched.handle_job_finished(h.now, JobId(2)).unwrap();
    expect![[r#"
        start job1 0.0@n0[0,1,2,3] 0.1@n2[0,1,2,3]
    "#]]
    .assert_eq(&h.step());
    // Removing a node that the waiting job's model needs rejects it.
    let b = h.nodes(1, "b", Node::new("").gpus(2, "nvidia/H100"));
    h.submit(Job::new(3).gpus(2).models(&["nvidia/H100"]));
    h.submit(Job::new(4).gpus(2).models(&["nvidia/H100"]));
    h.step();
    h.sched.handle_node_removed(h.now, b[0]).unwrap();
    expect![[r#"
        stop job3: node n3 lost, requeued
        reject job3: group 0: no node has GPU model nvidia/H100
        reject job4: group 0: no node has GPU model nvidia/H100
    "#]]
    .assert_eq(&h.step());
    let s = h.sched.stats();
    assert_eq!((s.requeued, s.rejected, s.finished), (2, 2, 1));
}

#[test]
fn failed_gpu_stops_its_job_and_is_not_used_again() {
    let mut h = bestfit();
    let ids = h.nodes(1, "a", Node::new("").gpus(4, "nvidia/A100"));
    h.submit(Job::new(1).gpus(1));
    h.submit(Job::new(2).gpus(2));
    h.step();
    h.sched
        .handle_gpu_health(h.now, ids[0], 0, GpuHealth::Unhealthy)
        .unwrap();
    expect![[r#"
        stop job1: GPU 0 of n0 failed, requeued
        start job1 0.0@n0[3]
    "#]]
    .assert_eq(&h.step());
    h.submit(Job::new(3).gpus(1));
    assert_eq!(h.step(), "");
    h.sched.handle_gpu_health(h.now, ids[0], 0, GpuHealth::Healthy).unwrap();
    expect![[r#"
        start job3 0.0@n0[0]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn cordoned_nodes_take_no_new_work() {
    let mut h = bestfit();
    let ids = h.nodes(2, "a", Node::new("").gpus(2, "nvidia/A100"));
    h.sched.handle_node_state(h.now, ids[0], NodeState::Cordoned).unwrap();
    h.submit(Job::new(1).gpus(2));
    h.submit(Job::new(2).gpus(1));
    expect![[r#"
        start job1 0.0@n1[0,1]
    "#]]
    .assert_eq(&h.step());
    h.sched
        .handle_node_state(h.now, ids[0], NodeState::Schedulable)
        .unwrap();
    expect![[r#"
        start job2 0.0@n0[0]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn head_of_line_blocking_versus_skip_ahead() {
    for hol in [HeadOfLine::Block, HeadOfLine::SkipAhead] {
        let mut h = harness(Placement::BestFit, QueueOrder::Fifo, hol);
        h.nodes(1, "a", Node::new("").gpus(4, "nvidia/A100"));
        h.submit(Job::new(1).gpus(2));
        h.submit(Job::new(2).gpus(4));
        h.submit(Job::new(3).gpus(1));
        let log = h.step();
        match hol {
            HeadOfLine::Block => expect![[r#"
                start job1 0.0@n0[0,1]
            "#]]
            .assert_eq(&log),
            HeadOfLine::SkipAhead => expect![[r#"
                start job1 0.0@n0[0,1]
                start job3 0.0@n0[2]
            "#]]
            .assert_eq(&log),
        }
    }
}

#[test]
fn queue_orders() {
    let run = |queue| {
        let mut h = harness(Placement::BestFit, queue, HeadOfLine::Block);
        h.nodes(1, "a", Node::new("").gpus(1, "nvidia/A100"));
        h.submit(Job::new(1).gpus(1));
        h.step();
        h.at(1).submit(Job::new(2).gpus(1).priority(1).estimate_secs(300));
        h.at(2).submit(Job::new(3).gpus(1).priority(5));
        h.at(3).submit(Job::new(4).gpus(1).priority(5).estimate_secs(60));
        h.at(4).submit(Job::new(5).gpus(1).estimate_secs(60));
        let mut order = Vec::new();
        loop {
            h.sched
                .handle_job_finished(h.now, h.decisions.last().unwrap().job())
                .unwrap();
            if h.step().is_empty() {
                break order;
            }
            order.push(h.decisions.last().unwrap().job().0);
        }
    };
    assert_eq!(run(QueueOrder::Fifo), [2, 3, 4, 5]);
    assert_eq!(run(QueueOrder::Priority), [3, 4, 2, 5]);
    assert_eq!(run(QueueOrder::ShortestFirst), [4, 5, 2, 3]);
}

#[test]
fn first_and_worst_fit() {
    let place = |p| {
        let mut h = harness(p, QueueOrder::Fifo, HeadOfLine::Block);
        h.nodes(1, "a", Node::new("").gpus(8, "nvidia/A100"));
        h.nodes(1, "b", Node::new("").gpus(2, "nvidia/A100"));
        h.nodes(1, "c", Node::new("").gpus(4, "nvidia/A100"));
        h.submit(Job::new(1).gpus(1));
        h.submit(Job::new(2).gpus(2));
        h.submit(Job::new(3).share(400));
        h.step()
    };
    expect![[r#"
        start job1 0.0@n0[0]
        start job2 0.0@n0[1,2]
        start job3 0.0@n0[3:400m]
    "#]]
    .assert_eq(&place(Placement::FirstFit));
    expect![[r#"
        start job1 0.0@n0[0]
        start job2 0.0@n0[1,2]
        start job3 0.0@n0[3:400m]
    "#]]
    .assert_eq(&place(Placement::WorstFit));
    expect![[r#"
        start job1 0.0@n1[0]
        start job2 0.0@n2[0,1]
        start job3 0.0@n1[1:400m]
    "#]]
    .assert_eq(&place(Placement::BestFit));
}

#[test]
fn cancel_and_finish() {
    let mut h = bestfit();
    h.nodes(1, "a", Node::new("").gpus(2, "nvidia/A100"));
    h.submit(Job::new(1).tasks(2).gpus(1));
    h.submit(Job::new(2).gpus(2));
    h.step();
    h.sched.handle_cancel(h.now, JobId(2)).unwrap();
    assert_eq!(h.step(), "");
    h.submit(Job::new(3).gpus(1));
    h.sched.handle_task_finished(h.now, JobId(1), 0, 1).unwrap();
    expect![[r#"
        start job3 0.0@n0[1]
    "#]]
    .assert_eq(&h.step());
    h.sched.handle_cancel(h.now, JobId(3)).unwrap();
    expect![[r#"
        stop job3: cancelled
    "#]]
    .assert_eq(&h.step());
    assert_eq!(
        h.sched.handle_task_finished(h.now, JobId(1), 0, 1),
        Err(JobError::NoSuchTask {
            job: JobId(1),
            group: 0,
            index: 1
        })
    );
    h.sched.handle_task_finished(h.now, JobId(1), 0, 0).unwrap();
    assert_eq!(h.sched.job_status(JobId(1)), None);
    assert_eq!(h.sched.handle_cancel(h.now, JobId(1)), Err(JobError::Unknown(JobId(1))));
    let s = h.sched.stats();
    assert_eq!((s.submitted, s.finished, s.cancelled), (3, 1, 2));
}

#[test]
fn duplicate_ids_and_unknown_nodes_are_errors_not_panics() {
    let mut h = bestfit();
    h.nodes(1, "a", Node::new("").gpus(1, "nvidia/A100"));
    h.submit(Job::new(1).gpus(1));
    let dup = h.sched.handle_submit(h.now, Job::new(1).build());
    assert_eq!(dup, Err(JobError::Duplicate(JobId(1))));
    let e = h.sched.handle_node_added(h.now, Node::new("a0").build()).unwrap_err();
    assert_eq!(e.to_string(), "a node named `a0` already exists");
    let e = h.sched.handle_node_removed(h.now, NodeId(9)).unwrap_err();
    assert_eq!(e.to_string(), "no node n9 (never added, or removed)");
    let e = h
        .sched
        .handle_gpu_health(h.now, NodeId(0), 7, GpuHealth::Unhealthy)
        .unwrap_err();
    assert_eq!(e.to_string(), "node n0 has no GPU 7");
}

#[test]
fn srtf_preempts_the_longest_remaining_and_charges_checkpoints() {
    let mut h = Harness::new(Config {
        queue: QueueOrder::ShortestRemaining,
        placement: Placement::Consolidate,
        checkpoint: phalanx_core::CheckpointCost::HELIOS,
        ..Default::default()
    });
    h.nodes(1, "a", Node::new("").gpus(8, "nvidia/V100"));
    h.submit(Job::new(1).gpus(8).estimate_secs(1000));
    h.step();
    // At t=100 job 1 has 900 s left; a 50 s job needs 4 GPUs: job 1 is preempted.
    h.at(100).submit(Job::new(2).gpus(4).estimate_secs(50));
    expect![[r#"
        stop job1: preempted, requeued
        start job2 0.0@n0[0,1,2,3]
    "#]]
    .assert_eq(&h.step());
    // A 2000 s job arriving now waits behind job 1 (900 s + 30 s checkpoint left) and does not fit beside job 2.
    h.at(120).submit(Job::new(3).gpus(8).estimate_secs(2000));
    assert_eq!(h.step(), "");
    h.at(150);
    h.sched.handle_job_finished(h.now, JobId(2)).unwrap();
    expect![[r#"
        start job1 0.0@n0[0,1,2,3,4,5,6,7]
    "#]]
    .assert_eq(&h.step());
    // Job 1's remaining time now includes the 30 s checkpoint: a 925 s job does not preempt it, a 5 s one does.
    h.at(160).submit(Job::new(4).gpus(1).estimate_secs(925));
    assert_eq!(h.step(), "");
    h.at(161).submit(Job::new(5).gpus(1).estimate_secs(5));
    expect![[r#"
        stop job1: preempted, requeued
        start job5 0.0@n0[0]
        start job4 0.0@n0[1]
    "#]]
    .assert_eq(&h.step());
}

#[test]
fn consolidate_gives_large_jobs_whole_nodes() {
    let mut h = harness(Placement::Consolidate, QueueOrder::Fifo, HeadOfLine::Block);
    h.nodes(4, "a", Node::new("").gpus(8, "nvidia/V100"));
    h.submit(Job::new(1).gpus(3));
    h.submit(Job::new(2).gpus(2));
    // 20 GPUs: two whole free nodes (lowest ids) and 4 GPUs on the freest remaining node.
    h.submit(Job::new(3).tasks(2).gpus(8).group("rest").gpus(4));
    expect![[r#"
        start job1 0.0@n0[0,1,2]
        start job2 0.0@n0[3,4]
        start job3 0.0@n1[0,1,2,3,4,5,6,7] 0.1@n2[0,1,2,3,4,5,6,7] 1.0@n3[0,1,2,3]
    "#]]
    .assert_eq(&h.step());
    // 16 GPUs need two fully free nodes: none left, so it waits whole.
    h.submit(Job::new(4).tasks(2).gpus(8));
    assert_eq!(h.step(), "");
}

#[test]
fn jobs_submitted_since_the_last_pass_are_waiting_jobs_like_any_other() {
    // Between a submission and the next pass the job is waiting: counted, listed in queue order,
    // cancellable, and re-checked when a node leaves.
    let mut h = harness(Placement::BestFit, QueueOrder::ShortestFirst, HeadOfLine::Block);
    let [small, big] = [
        h.nodes(1, "s", Node::new("").gpus(2, "nvidia/T4"))[0],
        h.nodes(1, "b", Node::new("").gpus(8, "nvidia/A100"))[0],
    ];
    h.submit(Job::new(1).gpus(8).models(&["nvidia/A100"]).estimate_secs(50));
    h.submit(Job::new(2).gpus(1).estimate_secs(10));
    h.submit(Job::new(3).gpus(1).estimate_secs(30));
    h.submit(Job::new(4).gpus(2).models(&["nvidia/T4"]).estimate_secs(20));
    assert_eq!(h.sched.pending_len(), 4);
    assert_eq!(h.sched.running_len(), 0);
    assert_eq!(
        h.sched.pending().collect::<Vec<_>>(),
        [JobId(2), JobId(4), JobId(3), JobId(1)]
    );
    h.sched.handle_cancel(Time::ZERO, JobId(3)).unwrap();
    assert_eq!(h.sched.pending_len(), 3);
    // The only T4 node leaves before any pass: job 4 can never run and is rejected.
    h.sched.handle_node_removed(Time::ZERO, small).unwrap();
    h.sched.audit().unwrap();
    expect![[r#"
        reject job4: group 0: no node has GPU model nvidia/T4
        start job2 0.0@n1[0]
    "#]]
    .assert_eq(&h.step());
    assert_eq!((h.sched.pending_len(), h.sched.running_len()), (1, 1));
    assert_eq!(h.sched.view().node(big).unwrap().free_whole_gpus(), 7);
    h.sched.audit().unwrap();
}

#[test]
fn a_job_cancelled_and_submitted_again_before_a_pass_starts_once() {
    for head_of_line in [HeadOfLine::Block, HeadOfLine::SkipAhead] {
        let mut h = harness(Placement::BestFit, QueueOrder::Fifo, head_of_line);
        h.nodes(1, "a", Node::new("").gpus(8, "nvidia/V100"));
        assert_eq!(h.step(), "");
        h.submit(Job::new(1).gpus(2));
        h.sched.handle_cancel(Time::ZERO, JobId(1)).unwrap();
        h.submit(Job::new(1).gpus(3));
        expect![[r#"
            start job1 0.0@n0[0,1,2]
        "#]]
        .assert_eq(&h.step());
        h.sched.audit().unwrap();
        assert_eq!(h.sched.view().node(NodeId(0)).unwrap().free_whole_gpus(), 5);
    }
}

#[test]
fn a_new_job_ahead_in_the_queue_starts_before_older_waiting_ones() {
    // Shortest first, strict order: job 3 arrives while job 2 waits and is shorter, so it is the head.
    let mut h = harness(Placement::BestFit, QueueOrder::ShortestFirst, HeadOfLine::Block);
    h.nodes(1, "a", Node::new("").gpus(8, "nvidia/V100"));
    h.submit(Job::new(1).gpus(6).estimate_secs(1000));
    expect![[r#"
        start job1 0.0@n0[0,1,2,3,4,5]
    "#]]
    .assert_eq(&h.step());
    h.at(1).submit(Job::new(2).gpus(4).estimate_secs(100));
    assert_eq!(h.step(), "");
    h.at(2).submit(Job::new(3).gpus(2).estimate_secs(10));
    expect![[r#"
        start job3 0.0@n0[6,7]
    "#]]
    .assert_eq(&h.step());
    assert_eq!(h.sched.pending().collect::<Vec<_>>(), [JobId(2)]);
    h.sched.audit().unwrap();
}

#[test]
fn prepared_descriptions_are_checked_again_after_a_node_leaves_and_go_stale_with_a_new_model() {
    let mut h = bestfit();
    let t4 = h.nodes(1, "s", Node::new("").gpus(2, "nvidia/T4"))[0];
    h.nodes(1, "b", Node::new("").gpus(8, "nvidia/A100"));
    let t4_job = h
        .sched
        .prepare(&Job::new(0).gpus(2).models(&["nvidia/T4"]).build())
        .unwrap();
    let any_job = h.sched.prepare(&Job::new(0).gpus(1).build()).unwrap();
    let h100_job = h
        .sched
        .prepare(&Job::new(0).gpus(1).models(&["nvidia/A100", "nvidia/H100"]).build());
    let h100_job = h100_job.unwrap();
    // Id, priority and estimate are the job's own, not the prepared description's.
    let submit = |h: &mut Harness, id, p| h.sched.handle_submit_prepared(h.now, JobId(id), p, 0, None);
    submit(&mut h, 1, &t4_job).unwrap();
    submit(&mut h, 2, &any_job).unwrap();
    assert_eq!(submit(&mut h, 2, &any_job), Err(JobError::Duplicate(JobId(2))));
    expect![[r#"
        start job1 0.0@n0[0,1]
        start job2 0.0@n1[0]
    "#]]
    .assert_eq(&h.step());
    h.sched.handle_job_finished(h.now, JobId(1)).unwrap();
    // The only T4 node leaves: a job of the prepared T4 description is checked again and rejected.
    h.sched.handle_node_removed(h.now, t4).unwrap();
    submit(&mut h, 3, &t4_job).unwrap();
    submit(&mut h, 4, &h100_job).unwrap();
    expect![[r#"
        reject job3: group 0: no node has GPU model nvidia/T4
        start job4 0.0@n1[1]
    "#]]
    .assert_eq(&h.step());
    // An H100 node arrives: the description naming models resolved H100 to nothing, so it is stale; one
    // naming none is not.
    h.nodes(1, "h", Node::new("").gpus(8, "nvidia/H100"));
    assert_eq!(submit(&mut h, 5, &h100_job), Err(JobError::StalePrepared(JobId(5))));
    assert_eq!(h.sched.job_status(JobId(5)), None);
    submit(&mut h, 6, &any_job).unwrap();
    assert_eq!(h.step(), "start job6 0.0@n1[2]\n");
    // A description from another scheduler is refused, not trusted.
    let mut other = bestfit();
    other.nodes(1, "o", Node::new("").gpus(8, "nvidia/V100"));
    // (Its second shape: the same index as a shape here that names no model.)
    other.sched.prepare(&Job::new(0).gpus(5).build()).unwrap();
    let foreign = other.sched.prepare(&Job::new(0).gpus(1).build()).unwrap();
    assert_eq!(submit(&mut h, 7, &foreign), Err(JobError::StalePrepared(JobId(7))));
    let stats = h.sched.stats();
    assert_eq!((stats.submitted, stats.rejected, stats.started), (5, 1, 4));
    h.sched.audit().unwrap();
}
