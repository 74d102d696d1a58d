//! Property tests of the core's invariants, over random clusters and random event sequences:
//! nothing is ever over-allocated, gangs start whole, every job ends in exactly one terminal state,
//! and the same inputs give the same decisions byte for byte.

use std::collections::BTreeMap;

use phalanx_core::builders::{JobBuilder, NodeBuilder};
use phalanx_core::{
    CheckpointCost, Config, Decision, GpuHealth, HeadOfLine, JobError, JobId, NodeId, NodeState, Placement, Prepared,
    QueueOrder, Scheduler, Time, WHOLE_GPU,
};
use proptest::prelude::*;

const MODELS: [&str; 3] = ["nvidia/A100", "huawei/Ascend910B", "nvidia/T4"];

#[derive(Clone, Debug)]
struct NodeSpecGen {
    gpus: usize,
    model: usize,
    cpu: u64,
}

#[derive(Clone, Debug)]
struct GroupGen {
    tasks: u32,
    gpus: u32,
    share: Option<u32>,
    cpu: u64,
    models: Vec<usize>,
}

#[derive(Clone, Debug)]
enum Op {
    Submit {
        groups: Vec<GroupGen>,
        priority: i32,
    },
    /// A new job with the groups of the `of`-th (modulo their number) job submitted so far.
    Again {
        of: usize,
        priority: i32,
    },
    FinishJob(usize),
    FinishTask(usize, usize),
    Cancel(usize),
    NodeState(usize, u8),
    GpuHealth(usize, u32, bool),
    RemoveNode(usize),
    AddNode(NodeSpecGen),
    Advance(u64),
}

fn node_gen() -> impl Strategy<Value = NodeSpecGen> {
    (prop_oneof![Just(0usize), 1usize..=8], 0..MODELS.len(), 1u64..=16).prop_map(|(gpus, model, cores)| NodeSpecGen {
        gpus,
        model,
        cpu: cores * 4000,
    })
}

fn group_gen() -> impl Strategy<Value = GroupGen> {
    (
        0u32..=4,
        0u32..=4,
        prop::option::weighted(0.3, 1u32..1000),
        0u64..=16_000,
        prop::collection::vec(0..MODELS.len(), 0..=2),
    )
        .prop_map(|(tasks, gpus, share, cpu, models)| GroupGen {
            tasks,
            gpus,
            share,
            cpu,
            models,
        })
}

fn op_gen() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec(group_gen(), 1..=2), -2i32..=2)
            .prop_map(|(groups, priority)| Op::Submit { groups, priority }),
        2 => (any::<usize>(), -2i32..=2).prop_map(|(of, priority)| Op::Again { of, priority }),
        3 => any::<usize>().prop_map(Op::FinishJob),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::FinishTask(a, b)),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => (any::<usize>(), 0u8..3).prop_map(|(n, s)| Op::NodeState(n, s)),
        1 => (any::<usize>(), 0u32..8, any::<bool>()).prop_map(|(n, g, h)| Op::GpuHealth(n, g, h)),
        1 => any::<usize>().prop_map(Op::RemoveNode),
        1 => node_gen().prop_map(Op::AddNode),
        1 => (1u64..100).prop_map(Op::Advance),
    ]
}

fn config_gen() -> impl Strategy<Value = Config> {
    (0u8..4, 0u8..4, any::<bool>(), any::<bool>()).prop_map(|(q, p, skip, ckpt)| Config {
        queue: [
            QueueOrder::Fifo,
            QueueOrder::Priority,
            QueueOrder::ShortestFirst,
            QueueOrder::ShortestRemaining,
        ][q as usize],
        placement: [
            Placement::FirstFit,
            Placement::BestFit,
            Placement::WorstFit,
            Placement::Consolidate,
        ][p as usize],
        head_of_line: if skip { HeadOfLine::SkipAhead } else { HeadOfLine::Block },
        checkpoint: if ckpt {
            CheckpointCost::HELIOS
        } else {
            CheckpointCost::default()
        },
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Pending,
    Running,
    Finished,
    Cancelled,
    Rejected,
}

/// The `k`-th (modulo their number) job whose fate satisfies `want`, if any.
fn pick(fate: &BTreeMap<JobId, Fate>, k: usize, want: impl Fn(Fate) -> bool) -> Option<JobId> {
    let jobs: Vec<JobId> = fate.iter().filter(|(_, f)| want(**f)).map(|(j, _)| *j).collect();
    (!jobs.is_empty()).then(|| jobs[k % jobs.len()])
}

/// Drives a scheduler through `ops`, checking invariants after every step; returns the decision log.
/// Checks one decision against what the test knows of its job and records its effect.
fn apply(d: &Decision, fate: &mut BTreeMap<JobId, Fate>, tasks_of: &BTreeMap<JobId, u64>) -> Result<(), TestCaseError> {
    match &d {
        Decision::Start { job, tasks } => {
            prop_assert_eq!(fate[job], Fate::Pending, "{} started while not pending", job);
            // Gangs start whole: one placement per task, each (group, index) once.
            prop_assert_eq!(tasks.len() as u64, tasks_of[job]);
            let mut seen: Vec<(u32, u32)> = tasks.iter().map(|t| (t.group, t.index)).collect();
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), tasks.len());
            fate.insert(*job, Fate::Running);
        }
        Decision::Reject { job, .. } => {
            prop_assert_eq!(fate[job], Fate::Pending, "{} rejected while not pending", job);
            fate.insert(*job, Fate::Rejected);
        }
        Decision::Stop { job, requeued, .. } => {
            if *requeued {
                prop_assert_eq!(fate[job], Fate::Running);
                fate.insert(*job, Fate::Pending);
            } else {
                prop_assert_eq!(fate[job], Fate::Cancelled);
            }
        }
    }
    Ok(())
}

/// With `prepare`, every other job is submitted through a description prepared for an earlier job of its
/// shape (perhaps before nodes were removed or added), and before every step the driver names a job (known
/// or not, running or not) to [`Scheduler::expect_finish`], a hint that must change no decision.
fn drive(
    config: Config,
    nodes: &[NodeSpecGen],
    ops: &[(Op, bool)],
    prepare: bool,
) -> Result<Vec<String>, TestCaseError> {
    let mut s = Scheduler::new(config);
    let mut now = Time::ZERO;
    let mut node_ids: Vec<NodeId> = Vec::new();
    let mut added = 0usize;
    let add = |s: &mut Scheduler, n: &NodeSpecGen, added: &mut usize, ids: &mut Vec<NodeId>, now| {
        let mut b = NodeBuilder::new(format!("n{added}")).cpu(n.cpu).mem(64 * 1024);
        if n.gpus > 0 {
            b = b.gpus(n.gpus, MODELS[n.model]);
        }
        *added += 1;
        ids.push(s.handle_node_added(now, b.build()).unwrap());
    };
    for n in nodes {
        add(&mut s, n, &mut added, &mut node_ids, now);
    }
    let mut fate: BTreeMap<JobId, Fate> = BTreeMap::new();
    let mut tasks_of: BTreeMap<JobId, u64> = BTreeMap::new();
    let mut log = Vec::new();
    let mut next_id = 0u64;
    let mut prepared: BTreeMap<String, Prepared> = BTreeMap::new();
    let mut history: Vec<Vec<GroupGen>> = Vec::new();
    let mut stamps: Vec<u64> = Vec::new();
    for (op_index, (op, poll)) in ops.iter().enumerate() {
        if prepare {
            s.expect_finish(JobId((op_index as u64 * 7) % (next_id + 2)));
        }
        // The test picks jobs to finish or cancel by what it has seen: it takes the decisions first.
        if matches!(op, Op::FinishJob(_) | Op::FinishTask(..) | Op::Cancel(_)) {
            while let Some(d) = s.poll_decision() {
                log.push(d.to_string());
                apply(&d, &mut fate, &tasks_of)?;
            }
        }
        match op {
            Op::Submit { .. } | Op::Again { .. } => {
                let (groups, priority) = match op {
                    Op::Submit { groups, priority } => (groups.clone(), *priority),
                    Op::Again { of, priority } if !history.is_empty() => {
                        (history[of % history.len()].clone(), *priority)
                    }
                    _ => continue,
                };
                let mut b = JobBuilder::new(next_id).priority(priority).estimate_secs(next_id % 7);
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        b = b.group("g");
                    }
                    b = b.tasks(g.tasks).cpu(g.cpu).mem(1024);
                    b = match g.share {
                        Some(m) => b.share(m),
                        None => b.gpus(g.gpus),
                    };
                    let models: Vec<&str> = g.models.iter().map(|m| MODELS[*m]).collect();
                    b = b.models(&models);
                }
                history.push(groups);
                let spec = b.build();
                tasks_of.insert(spec.id, spec.task_count());
                if prepare {
                    // One description per shape, prepared for its first job, kept while it is valid.
                    let shape = format!("{:?}", spec.groups);
                    if !prepared.contains_key(&shape) {
                        if let Ok(p) = s.prepare(&spec) {
                            prepared.insert(shape.clone(), p);
                        }
                    }
                    let result = match prepared.get(&shape) {
                        Some(p) => s.handle_submit_prepared(now, spec.id, p, spec.priority, spec.estimate),
                        None => s.handle_submit(now, spec.clone()),
                    };
                    match result {
                        Err(JobError::StalePrepared(_)) => {
                            prepared.remove(&shape);
                            s.handle_submit(now, spec).unwrap();
                        }
                        r => r.unwrap(),
                    }
                } else {
                    s.handle_submit(now, spec).unwrap();
                }
                fate.insert(JobId(next_id), Fate::Pending);
                next_id += 1;
            }
            Op::FinishJob(k) => {
                if let Some(j) = pick(&fate, *k, |f| f == Fate::Running) {
                    s.handle_job_finished(now, j).unwrap();
                    fate.insert(j, Fate::Finished);
                }
            }
            Op::FinishTask(k, t) => {
                if let Some(j) = pick(&fate, *k, |f| f == Fate::Running) {
                    let p = s.placements(j).unwrap().to_vec();
                    let task = p[t % p.len()];
                    // Finishing a task twice is an error; finishing the last one ends the job.
                    if s.handle_task_finished(now, j, task.group, task.index).is_ok() && s.job_status(j).is_none() {
                        fate.insert(j, Fate::Finished);
                    }
                }
            }
            Op::Cancel(k) => {
                if let Some(j) = pick(&fate, *k, |f| matches!(f, Fate::Running | Fate::Pending)) {
                    s.handle_cancel(now, j).unwrap();
                    fate.insert(j, Fate::Cancelled);
                }
            }
            Op::NodeState(k, st) => {
                if !node_ids.is_empty() {
                    let n = node_ids[k % node_ids.len()];
                    let st = [NodeState::Schedulable, NodeState::Cordoned, NodeState::Down][*st as usize];
                    s.handle_node_state(now, n, st).unwrap();
                }
            }
            Op::GpuHealth(k, g, healthy) => {
                if !node_ids.is_empty() {
                    let n = node_ids[k % node_ids.len()];
                    let h = if *healthy {
                        GpuHealth::Healthy
                    } else {
                        GpuHealth::Unhealthy
                    };
                    let _ = s.handle_gpu_health(now, n, *g, h);
                }
            }
            Op::RemoveNode(k) => {
                if !node_ids.is_empty() {
                    let n = node_ids.remove(k % node_ids.len());
                    s.handle_node_removed(now, n).unwrap();
                }
            }
            Op::AddNode(n) => add(&mut s, n, &mut added, &mut node_ids, now),
            Op::Advance(secs) => now = now + phalanx_core::Span::from_secs(*secs),
        }
        // Some events arrive in bursts: the driver feeds several before it asks for decisions.
        if !*poll {
            check_allocation(&s)?;
            if let Err(e) = s.audit() {
                prop_assert!(false, "indexes out of line: {}", e);
            }
            continue;
        }
        while let Some(d) = s.poll_decision() {
            log.push(d.to_string());
            apply(&d, &mut fate, &tasks_of)?;
        }
        check_allocation(&s)?;
        if let Err(e) = s.audit() {
            prop_assert!(false, "indexes out of line: {}", e);
        }
        // What changed since an earlier stamp (from the change log once it is kept, before that and for
        // stamps before it started from the nodes' versions): the present nodes with a newer version, in
        // version order.
        let view = s.view();
        for since in [
            0,
            stamps.first().copied().unwrap_or(0),
            stamps.last().copied().unwrap_or(0),
        ] {
            let mut want: Vec<(u64, NodeId)> = view
                .nodes()
                .filter(|n| n.version() > since)
                .map(|n| (n.version(), n.id()))
                .collect();
            want.sort();
            let got: Vec<NodeId> = view
                .nodes_changed_since(since)
                .filter(|id| view.node(*id).is_some())
                .collect();
            prop_assert_eq!(got, want.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
        }
        if stamps.len() < 3 || op_index % 5 == 0 {
            stamps.push(view.stamp());
        }
        for (j, f) in &fate {
            let status = s.job_status(*j);
            match f {
                Fate::Pending => prop_assert_eq!(status, Some(phalanx_core::JobStatus::Pending)),
                Fate::Running => prop_assert_eq!(status, Some(phalanx_core::JobStatus::Running)),
                _ => prop_assert_eq!(status, None, "{} ended but the scheduler still has it", j),
            }
        }
    }
    while let Some(d) = s.poll_decision() {
        log.push(d.to_string());
        apply(&d, &mut fate, &tasks_of)?;
    }
    // Wind down: finish what runs, cancel what waits; then every job has exactly one terminal state.
    for (j, f) in fate.iter_mut() {
        match f {
            Fate::Running => {
                s.handle_job_finished(now, *j).unwrap();
                *f = Fate::Finished;
            }
            Fate::Pending => {
                s.handle_cancel(now, *j).unwrap();
                *f = Fate::Cancelled;
            }
            _ => {}
        }
    }
    while let Some(d) = s.poll_decision() {
        prop_assert!(false, "decision after wind-down: {}", d);
    }
    let st = s.stats();
    let count = |x| fate.values().filter(|f| **f == x).count() as u64;
    prop_assert_eq!(st.submitted, fate.len() as u64);
    prop_assert_eq!(st.finished, count(Fate::Finished));
    prop_assert_eq!(st.cancelled, count(Fate::Cancelled));
    prop_assert_eq!(st.rejected, count(Fate::Rejected));
    prop_assert_eq!(st.finished + st.cancelled + st.rejected, st.submitted);
    prop_assert_eq!(st.policy_errors, 0);
    prop_assert_eq!(s.pending_len() + s.running_len(), 0);
    // With everything ended, every node is whole again.
    for n in s.view().nodes() {
        prop_assert_eq!(n.cpu_free(), n.cpu_total());
        prop_assert!(n.gpus().all(|g| g.free_milli == WHOLE_GPU));
    }
    Ok(log)
}

/// No node gives out more CPU, memory or GPU than it has, and free + held = capacity everywhere.
fn check_allocation(s: &Scheduler) -> Result<(), TestCaseError> {
    for n in s.view().nodes() {
        let cpu: u64 = n.tasks().iter().map(|t| t.cpu_milli).sum();
        let mem: u64 = n.tasks().iter().map(|t| t.memory_mib).sum();
        prop_assert_eq!(cpu + n.cpu_free(), n.cpu_total(), "CPU accounting on {}", n.name());
        prop_assert_eq!(
            mem + n.memory_free(),
            n.memory_total(),
            "memory accounting on {}",
            n.name()
        );
        for g in n.gpus() {
            let held: u32 = n
                .tasks()
                .iter()
                .filter(|t| t.gpus.contains(g.index))
                .map(|t| t.gpu_milli)
                .sum();
            prop_assert_eq!(held + g.free_milli, WHOLE_GPU, "GPU {} of {}", g.index, n.name());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_and_replay_is_deterministic(
        config in config_gen(),
        nodes in prop::collection::vec(node_gen(), 0..=5),
        ops in prop::collection::vec((op_gen(), prop::bool::weighted(0.7)), 0..60),
    ) {
        let first = drive(config, &nodes, &ops, false)?;
        let second = drive(config, &nodes, &ops, false)?;
        prop_assert_eq!(&first, &second);
        // Prepared descriptions decide exactly as full ones (a rejection's reason may name only the
        // requested models that the cluster knew when the description was prepared).
        let reasonless = |log: Vec<String>| -> Vec<String> {
            log.into_iter()
                .map(|l| match l.split_once(':') {
                    Some((head, _)) if l.starts_with("reject") => head.to_owned(),
                    _ => l,
                })
                .collect()
        };
        let prepared = drive(config, &nodes, &ops, true)?;
        prop_assert_eq!(reasonless(first), reasonless(prepared));
    }
}
