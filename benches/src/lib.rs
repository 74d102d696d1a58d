//! Shared fixtures for Phalanx's benchmarks: large synthetic clusters at a chosen random occupancy, synthetic
//! workloads, and a counting allocator for memory figures.

// The counting allocator needs `unsafe impl GlobalAlloc`; it only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// A synthetic workload of `jobs` jobs (the generator's Gavel size mix, seed `seed`) whose arrival rate puts a
/// cluster of `gpus` GPUs at about 70 % load.
pub fn synthetic(jobs: usize, gpus: f64, seed: u64) -> phalanx_sim::workload::Workload {
    use phalanx_sim::trace::synthetic::{generate, SizeMix, SyntheticConfig};
    let config = |jobs, jobs_per_hour| SyntheticConfig {
        seed,
        jobs,
        jobs_per_hour,
        sizes: SizeMix::Gavel,
        gpus_per_node: 8,
        estimates: phalanx_sim::trace::Estimates::None,
    };
    // Mean GPU-hours per job, from a pilot sample.
    let pilot = generate(&config(20_000, 1.0)).expect("valid generator settings");
    let gpu_hours: f64 = (0..pilot.jobs.len())
        .map(|i| pilot.gpus(i) as f64 * pilot.jobs[i].duration.as_millis() as f64 / 3_600_000.0)
        .sum::<f64>()
        / pilot.jobs.len() as f64;
    generate(&config(jobs, 0.7 * gpus / gpu_hours)).expect("valid generator settings")
}

/// A global allocator that forwards to the system allocator and counts live and peak heap bytes. A benchmark
/// binary installs it with `#[global_allocator] static A: Counting = Counting;`.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    /// Heap bytes allocated and not yet freed.
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    /// The most live bytes since the last [`Counting::reset_peak`].
    pub fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }

    /// Starts a new peak measurement from the current live bytes.
    pub fn reset_peak() {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    /// Forwarded as a realloc (which moves large blocks by remapping pages), counted as the change in size.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}
