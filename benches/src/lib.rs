//! Shared fixtures for Phalanx's benchmarks: large synthetic clusters at a chosen random occupancy.

use std::cell::Cell;
use std::rc::Rc;

use phalanx_core::builders::{JobBuilder, NodeBuilder};
use phalanx_core::{
    BestFit, Choice, ClusterView, Config, Decision, Demand, JobId, NodeId, PlacementPolicy, QueueOrder, Scheduler, Time,
};
use rand::{Rng, SeedableRng};

/// Best fit, except that while `pin` holds a node every task goes there (used to lay out occupancy).
pub struct Pinnable {
    /// The node to force, if any.
    pub pin: Rc<Cell<Option<NodeId>>>,
}

impl PlacementPolicy for Pinnable {
    fn name(&self) -> &str {
        "pinnable-bestfit"
    }
    fn choose(&mut self, view: &ClusterView<'_>, demand: &Demand, tasks: u32) -> Option<Choice> {
        match self.pin.get() {
            Some(node) => view
                .node(node)
                .filter(|n| n.room_for(demand) >= tasks)
                .map(|n| Choice::node(n.id())),
            None => BestFit.choose(view, demand, tasks),
        }
    }
}

/// A scheduler over `nodes` nodes of 8 GPUs (`nvidia/V100`), 96 cores and 768 GiB each, where every GPU
/// is busy with probability `occupancy` (seeded), with best-fit placement.
pub fn cluster(nodes: usize, occupancy: f64, seed: u64) -> Scheduler {
    let pin = Rc::new(Cell::new(None));
    let mut s = Scheduler::with_policies(
        Config::default(),
        QueueOrder::Fifo.build(),
        Box::new(Pinnable { pin: pin.clone() }),
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut job = 1u64 << 40;
    for i in 0..nodes {
        let spec = NodeBuilder::new(format!("node-{i:06}"))
            .cpu(96_000)
            .mem(768 * 1024)
            .gpus(8, "nvidia/V100")
            .build();
        let id = s.handle_node_added(Time::ZERO, spec).expect("unique names");
        let busy = (0..8).filter(|_| rng.gen_bool(occupancy)).count() as u32;
        if busy > 0 {
            pin.set(Some(id));
            s.handle_submit(
                Time::ZERO,
                JobBuilder::new(job).gpus(busy).cpu(4000).mem(16_384).build(),
            )
            .expect("unique ids");
            job += 1;
            while let Some(d) = s.poll_decision() {
                assert!(matches!(d, Decision::Start { .. }), "fixture job did not start: {d}");
            }
        }
    }
    pin.set(None);
    s
}

/// One scheduling decision for a fresh job: submit it, poll the decision, then end the job so the cluster
/// returns to the same occupancy. Returns whether it started.
pub fn cycle(s: &mut Scheduler, id: u64, job: JobBuilder) -> bool {
    s.handle_submit(Time::ZERO, job.build()).expect("unique ids");
    let started = matches!(s.poll_decision(), Some(Decision::Start { .. }));
    if started {
        s.handle_job_finished(Time::ZERO, JobId(id)).expect("running");
    } else if s.job_status(JobId(id)).is_some() {
        s.handle_cancel(Time::ZERO, JobId(id)).expect("pending");
    }
    while s.poll_decision().is_some() {}
    started
}

/// A synthetic workload of `jobs` jobs for a cluster of `gpus` GPUs at about 70 % load: Poisson arrivals,
/// GPU counts from {1, 2, 4, 8, 16, 32} (mostly small), durations log-uniform from 1 minute to 10 hours.
pub fn synthetic(jobs: usize, gpus: f64, seed: u64) -> phalanx_sim::workload::Workload {
    use phalanx_core::{Span, Time};
    use phalanx_sim::workload::{TraceJob, Workload};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut w = Workload::new("synthetic", "");
    let q = w.queue_index("default");
    let sizes = [(1u32, 0.55), (2, 0.15), (4, 0.12), (8, 0.12), (16, 0.04), (32, 0.02)];
    let shapes: Vec<u32> = sizes
        .iter()
        .map(|(g, _)| {
            let b = if *g <= 8 {
                JobBuilder::new(0).gpus(*g)
            } else {
                JobBuilder::new(0).tasks(g / 8).gpus(8)
            };
            w.shape_index(b.cpu(4000).mem(16_384).build().groups)
        })
        .collect();
    let mean_gpus: f64 = sizes.iter().map(|(g, p)| f64::from(*g) * p).sum();
    let (lo, hi) = (60f64.ln(), 36_000f64.ln());
    let mean_dur = (36_000.0 - 60.0) / (hi - lo);
    let rate = 0.7 * gpus / (mean_gpus * mean_dur); // jobs per second
    let mut t = 0.0f64;
    for _ in 0..jobs {
        t += -(1.0 - rng.gen::<f64>()).ln() / rate;
        let u: f64 = rng.gen();
        let mut acc = 0.0;
        let k = sizes.iter().position(|(_, p)| {
            acc += p;
            u < acc
        });
        let k = k.unwrap_or(sizes.len() - 1);
        let dur = (lo + rng.gen::<f64>() * (hi - lo)).exp();
        w.jobs.push(TraceJob {
            submit: Time((t * 1000.0) as u64),
            duration: Span((dur * 1000.0) as u64),
            queue: q,
            priority: 0,
            estimate: None,
            shape: shapes[k],
            line: 0,
        });
    }
    w
}
