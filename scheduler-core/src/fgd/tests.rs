//! Scores checked by hand against the paper's definitions, typical pods, the fragmentation measure, and a
//! scenario of all six policies on a small cluster.

use std::cell::Cell;
use std::fmt::Write as _;
use std::rc::Rc;

use expect_test::{expect, Expect};

use super::frag::{FragMemo, PodShape, TypicalPods};
use super::policies::{
    best_fit_fast, best_fit_float, best_fit_score, clustering_score, dot_prod_fast, dot_prod_float, dot_prod_score,
    packing_score, sigmoid_score,
};
use super::table::{NodeTable, Pod};
use super::{Fgd, PaperPolicy};
use crate::builders::{JobBuilder, NodeBuilder};
use crate::cluster::Demand;
use crate::model::{GpuModel, ModelSet};
use crate::policy::{Choice, Fifo, PlacementPolicy};
use crate::spec::{NodeId, TaskRequest};
use crate::{Config, Decision, Scheduler, Time};

/// Places every task where the test says.
struct Pin(Rc<Cell<Choice>>);

impl PlacementPolicy for Pin {
    fn name(&self) -> &str {
        "pin"
    }
    fn choose(&mut self, _: &crate::ClusterView<'_>, _: &Demand, _: u32) -> Option<Choice> {
        Some(self.0.get())
    }
}

struct Pinned {
    sched: Scheduler,
    target: Rc<Cell<Choice>>,
    next: u64,
}

impl Pinned {
    fn new(nodes: &[NodeBuilder]) -> Pinned {
        let target = Rc::new(Cell::new(Choice::node(NodeId(0))));
        let mut sched = Scheduler::with_policies(Config::default(), Box::new(Fifo), Box::new(Pin(target.clone())));
        for (i, n) in nodes.iter().enumerate() {
            let mut spec = n.clone().build();
            spec.name = format!("n{i}");
            sched.handle_node_added(Time::ZERO, spec).unwrap();
        }
        Pinned { sched, target, next: 0 }
    }

    /// Runs `job` on `node` (shared GPU on `device`).
    fn put(&mut self, job: JobBuilder, node: u32, device: Option<u32>) {
        let mut spec = job.build();
        spec.id = crate::JobId(self.next);
        self.next += 1;
        self.target.set(Choice {
            node: NodeId(node),
            device,
        });
        self.sched.handle_submit(Time::ZERO, spec).unwrap();
        assert!(matches!(self.sched.poll_decision(), Some(Decision::Start { .. })));
    }

    fn table(&self) -> NodeTable {
        let mut t = NodeTable::new(1);
        t.refresh(&self.sched.view());
        t
    }
}

fn gpu_node(gpus: usize, cpu: u64) -> NodeBuilder {
    NodeBuilder::new("n").cpu(cpu).gpus(gpus, "nvidia/A")
}

fn demand(cpu: u64, gpus: u32, milli: u32) -> Demand {
    Demand {
        cpu_milli: cpu,
        memory_mib: 1024,
        gpus,
        gpu_milli: milli,
        models: ModelSet::ANY,
    }
}

fn shape(cpu: u64, milli: u32, gpus: u32) -> PodShape {
    PodShape {
        cpu_milli: cpu,
        gpu_milli: milli,
        gpus,
        models: Vec::new(),
    }
}

#[test]
fn best_fit_and_dot_product_scores() {
    // 64 cores and 2 GPUs free; a pod of 8 cores and half a GPU.
    let c = Pinned::new(&[gpu_node(2, 64_000)]);
    let t = c.table();
    let s = &t.snaps()[0];
    let p = Pod::of(&demand(8_000, 1, 500));
    // 1 - (56000/128000 * 0.5 + 1500/8000 * 0.5) = 1 - (0.21875 + 0.09375) = 0.6875 → 68.
    assert_eq!(best_fit_score(s, &p), 68);
    // 1 - (0.5 * 0.0625 + 0.25 * 0.0625) / 2 = 0.9765625 → 97.
    assert_eq!(dot_prod_score(s, &p), 97);
    // A CPU request of 0 counts as 100 milli in scores: 1 - (63900/128000 + 2000/8000) / 2 → 62.53… → 62.
    assert_eq!(best_fit_score(s, &Pod::of(&demand(0, 0, 0))), 62);
}

#[test]
fn packing_scores() {
    let mut c = Pinned::new(&[gpu_node(4, 64_000), gpu_node(4, 64_000)]);
    c.put(JobBuilder::new(0).share(700), 1, Some(0)); // n1: [300, 1000, 1000, 1000]
    let t = c.table();
    let idle = t.sorted(0);
    let used = t.sorted(1);
    assert_eq!(used, [300, 1000, 1000, 1000]);
    let share = |m| Pod::of(&demand(1000, 1, m));
    // Idle node: max(33 - 4, 4).
    assert_eq!(packing_score(idle, &share(500)), 29);
    // Only a fully free device holds 500: max(50 - 1, 33).
    assert_eq!(packing_score(used, &share(500)), 49);
    // 200 fits the shared device (30 % free): max(100 - 30/10, 50).
    assert_eq!(packing_score(used, &share(200)), 97);
    // Two whole GPUs on a used node: max(50 - 2, 33).
    assert_eq!(packing_score(used, &Pod::of(&demand(1000, 2, 1000))), 48);
    assert_eq!(packing_score(used, &Pod::of(&demand(1000, 0, 0))), 0);
}

#[test]
fn clustering_scores() {
    let mut c = Pinned::new(&[gpu_node(8, 96_000), gpu_node(8, 96_000), gpu_node(2, 32_000)]);
    c.put(JobBuilder::new(0).share(500), 1, Some(0));
    let t = c.table();
    let score = |i: usize, p: &Pod| clustering_score(&t.snaps()[i], t.meta(i).tags, p);
    let share = Pod::of(&demand(1000, 1, 300));
    let whole = Pod::of(&demand(1000, 1, 1000));
    // Idle 8-GPU node: 25 * 0 / 8000 + 25.
    assert_eq!(score(0, &share), 25);
    // Only shared-GPU tasks on it: 25 * 500 / 8000 = 1, + 75.
    assert_eq!(score(1, &share), 76);
    // Other kinds only: 1 + 0.
    assert_eq!(score(1, &whole), 1);
    // A small idle node scores higher: 25 * 6000 / 8000 = 18, + 25.
    assert_eq!(score(2, &whole), 43);
    assert_eq!(score(2, &Pod::of(&demand(1000, 0, 0))), 0);
}

#[test]
fn typical_pods_cover_the_threshold() {
    let mut shapes = Vec::new();
    shapes.extend(std::iter::repeat_n(shape(4000, 500, 1), 5));
    shapes.extend(std::iter::repeat_n(shape(8000, 1000, 1), 3));
    shapes.push(shape(2000, 0, 0));
    shapes.push(shape(1000, 1000, 2));
    // 95 % of 10 pods = 9.5: all four shapes are needed; the two singletons tie and the larger shape
    // (2000 m CPU) comes first.
    let t = TypicalPods::from_shapes(shapes.clone(), 95);
    let got: Vec<_> = t
        .pods()
        .iter()
        .map(|p| (p.shape.cpu_milli, p.count, p.weight))
        .collect();
    assert_eq!(got, [(4000, 5, 0.5), (8000, 3, 0.3), (2000, 1, 0.1), (1000, 1, 0.1)]);
    // 80 %: the first two cover 8 pods, and the weights are renormalised over them.
    let t = TypicalPods::from_shapes(shapes, 80);
    let got: Vec<_> = t.pods().iter().map(|p| p.count).collect();
    assert_eq!(got, [5, 3]);
    let w: Vec<f64> = t.pods().iter().map(|p| p.weight).collect();
    assert!((w[0] - 0.625).abs() < 1e-15 && (w[1] - 0.375).abs() < 1e-15, "{w:?}");
}

#[test]
fn pod_shapes_use_the_nonzero_cpu_request_and_drop_gpu_fields_of_cpu_pods() {
    let model = GpuModel::new("nvidia/T4").unwrap();
    let req = |cpu, gpus, milli| TaskRequest {
        cpu_milli: cpu,
        memory_mib: 999,
        gpus,
        gpu_milli: milli,
        models: vec![model.clone()],
    };
    assert_eq!(PodShape::of(&req(0, 0, 300)), shape(100, 0, 0));
    let gpu = PodShape::of(&req(2000, 1, 300));
    assert_eq!(
        (gpu.cpu_milli, gpu.gpu_milli, gpu.gpus, gpu.models.len()),
        (2000, 300, 1, 1)
    );
    let t = TypicalPods::from_requests([&req(0, 0, 0), &req(100, 0, 0)]);
    assert_eq!(t.len(), 1, "memory is ignored and 0 CPU counts as 100");
}

#[test]
fn fragmentation_measure_by_hand() {
    // Typical pods: half a GPU with 4 cores (w 0.5), a whole GPU with 8 cores (0.3), 2 cores (0.2).
    let mut shapes = Vec::new();
    shapes.extend(std::iter::repeat_n(shape(4000, 500, 1), 5));
    shapes.extend(std::iter::repeat_n(shape(8000, 1000, 1), 3));
    shapes.extend(std::iter::repeat_n(shape(2000, 0, 0), 2));
    let typical = TypicalPods::from_shapes(shapes, 100);
    let mut c = Pinned::new(&[gpu_node(2, 14_000)]);
    c.put(JobBuilder::new(0).share(700).cpu(8_000), 0, Some(0));
    let view = c.sched.view();
    let m = typical.measure(view.models());
    // Node: 6 cores, GPUs [300, 1000] free (G = 1300).
    // - half GPU: fits (device 1) → only device 0 (300 < 500) is fragment: 0.5 * 300 = 150;
    // - whole GPU: the GPU fits but 6 < 8 cores: 0.3 * 1300 = 390;
    // - CPU-only: idle GPUs always count: 0.2 * 1300 = 260.
    let node = view.node(NodeId(0)).unwrap();
    assert_eq!(m.node_frag(&node), 800.0);
    // With 10 cores the whole GPU fits too, and only device 0 (300 < 1000) is fragment for it: 0.3 * 300.
    assert_eq!(m.frag(node.model(), 10_000, &[300, 1000]), 150.0 + 90.0 + 260.0);
    // A node of a model no typical GPU pod accepts: all GPU capacity is fragment.
    let restricted = TypicalPods::from_shapes(
        [PodShape {
            models: vec![GpuModel::new("nvidia/B").unwrap()],
            ..shape(1000, 500, 1)
        }],
        100,
    );
    let m = restricted.measure(view.models());
    assert_eq!(m.node_frag(&node), 1300.0);
    // The memoised path gives the same values.
    let mut memo = FragMemo::default();
    assert_eq!(m.frag_memo(&mut memo, node.model(), 6000, &[300, 1000]), 1300.0);
    assert_eq!(m.frag_memo(&mut memo, node.model(), 6000, &[300, 1000]), 1300.0);
}

#[test]
fn sigmoid_score_truncates() {
    assert_eq!(sigmoid_score(500.0, 500.0), 50);
    assert_eq!(
        sigmoid_score(500.0, 500.0 + 1e-9),
        49,
        "a tiny increase already scores below 50"
    );
    assert_eq!(sigmoid_score(1000.0, 0.0), 73); // σ(1) = 0.731
    assert_eq!(sigmoid_score(0.0, 1000.0), 26); // σ(-1) = 0.269
}

#[test]
fn fgd_picks_the_device_that_reduces_fragmentation() {
    // One node with GPUs [1000, 300, 600] free; the only typical pod takes half a GPU.
    let mut c = Pinned::new(&[gpu_node(3, 64_000)]);
    c.put(JobBuilder::new(0).share(700), 0, Some(1));
    c.put(JobBuilder::new(0).share(400), 0, Some(2));
    let typical = TypicalPods::from_shapes([shape(1000, 500, 1)], 100);
    let mut fgd = Fgd::new(1, typical);
    let view = c.sched.view();
    // F = 300 now (device 1 is too small for the typical pod). A share of 300 on device 0 leaves F = 300
    // (score 50), on device 1 F = 0 (σ(0.3) → 57), on device 2 F = 600 (σ(-0.3) → 42).
    let choice = fgd.choose(&view, &demand(1000, 1, 300), 1).unwrap();
    assert_eq!(choice.device, Some(1));
    // Whole GPUs name no device: the scheduler takes the lowest-index fully free ones.
    let choice = fgd.choose(&view, &demand(1000, 1, 1000), 1).unwrap();
    assert_eq!(choice.device, None);
}

#[test]
fn ties_follow_the_seeded_node_order() {
    // Identical idle nodes: every policy ties everywhere, so the node order alone decides, and
    // different seeds pick different nodes.
    let mut picks = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let c = Pinned::new(&vec![gpu_node(8, 96_000); 16]);
        let mut p = PaperPolicy::BestFit.build(seed, &TypicalPods::from_shapes([], 95));
        let a = p.choose(&c.sched.view(), &demand(1000, 1, 500), 1).unwrap();
        let b = p.choose(&c.sched.view(), &demand(1000, 1, 500), 1).unwrap();
        assert_eq!(a, b, "the order is fixed for a seed");
        picks.insert(a.node);
    }
    assert!(picks.len() > 1, "{picks:?}");
}

/// All six policies place the same pods, one at a time, on a small mixed cluster.
fn scenario(policy: PaperPolicy, expect: Expect) {
    let jobs = || {
        [
            JobBuilder::new(0).cpu(4_000).share(500),
            JobBuilder::new(1).cpu(8_000).gpus(1),
            JobBuilder::new(2).cpu(2_000).share(250).models(&["nvidia/B"]),
            JobBuilder::new(3).cpu(16_000).gpus(2),
            JobBuilder::new(4).cpu(6_000),
            JobBuilder::new(5).cpu(4_000).share(500),
            JobBuilder::new(6).cpu(4_000).share(700),
            JobBuilder::new(7).cpu(32_000).gpus(4).models(&["nvidia/A"]),
            JobBuilder::new(8).cpu(4_000).share(300),
            JobBuilder::new(9).cpu(24_000).gpus(4),
            JobBuilder::new(10).cpu(1_000).share(200).models(&["nvidia/B"]),
            JobBuilder::new(11).cpu(60_000),
        ]
    };
    let nodes = [
        NodeBuilder::new("a0").cpu(96_000).gpus(8, "nvidia/A"),
        NodeBuilder::new("a1").cpu(64_000).gpus(4, "nvidia/A"),
        NodeBuilder::new("b0").cpu(32_000).gpus(2, "nvidia/B"),
        NodeBuilder::new("b1").cpu(16_000).gpus(1, "nvidia/B"),
    ];
    let requests: Vec<TaskRequest> = jobs()
        .into_iter()
        .map(|j| j.build().groups[0].request.clone())
        .collect();
    let typical = TypicalPods::from_requests(&requests);
    let run = || {
        let mut s = Scheduler::with_policies(Config::default(), Box::new(Fifo), policy.build(7, &typical));
        for n in nodes.clone() {
            s.handle_node_added(Time::ZERO, n.build()).unwrap();
        }
        let mut log = String::new();
        for j in jobs() {
            let id = j.clone().build().id;
            s.handle_submit(Time::ZERO, j.build()).unwrap();
            match s.poll_decision() {
                Some(d) => writeln!(log, "{d}").unwrap(),
                None => {
                    s.handle_cancel(Time::ZERO, id).unwrap();
                    writeln!(log, "fail {id}").unwrap();
                }
            }
        }
        let view = s.view();
        let m = typical.measure(view.models());
        let frag: f64 = view.nodes().map(|n| m.node_frag(&n)).sum();
        writeln!(log, "frag {frag:.1}").unwrap();
        log
    };
    let log = run();
    assert_eq!(log, run(), "replay gives the same decisions");
    expect.assert_eq(&log);
}

#[test]
fn scenario_random() {
    scenario(
        PaperPolicy::Random,
        expect![[r#"
        start job0 0.0@n1[2:500m]
        start job1 0.0@n1[0]
        start job2 0.0@n2[0:250m]
        start job3 0.0@n0[0,1]
        start job4 0.0@n1
        start job5 0.0@n1[1:500m]
        start job6 0.0@n0[6:700m]
        start job7 0.0@n0[2,3,4,5]
        start job8 0.0@n0[7:300m]
        fail job9
        start job10 0.0@n3[0:200m]
        fail job11
        frag 3266.7
    "#]],
    );
}

#[test]
fn scenario_dotprod() {
    scenario(
        PaperPolicy::DotProd,
        expect![[r#"
        start job0 0.0@n3[0:500m]
        start job1 0.0@n2[0]
        start job2 0.0@n2[1:250m]
        start job3 0.0@n1[0,1]
        start job4 0.0@n2
        start job5 0.0@n2[1:500m]
        start job6 0.0@n1[2:700m]
        start job7 0.0@n0[0,1,2,3]
        start job8 0.0@n1[2:300m]
        start job9 0.0@n0[4,5,6,7]
        start job10 0.0@n2[1:200m]
        fail job11
        frag 925.0
    "#]],
    );
}

#[test]
fn scenario_clustering() {
    scenario(
        PaperPolicy::GpuClustering,
        expect![[r#"
        start job0 0.0@n3[0:500m]
        start job1 0.0@n2[0]
        start job2 0.0@n3[0:250m]
        start job3 0.0@n1[0,1]
        start job4 0.0@n2
        start job5 0.0@n0[0:500m]
        start job6 0.0@n0[1:700m]
        start job7 0.0@n0[2,3,4,5]
        start job8 0.0@n0[1:300m]
        fail job9
        start job10 0.0@n3[0:200m]
        fail job11
        frag 2841.7
    "#]],
    );
}

#[test]
fn scenario_packing() {
    scenario(
        PaperPolicy::GpuPacking,
        expect![[r#"
        start job0 0.0@n3[0:500m]
        start job1 0.0@n2[0]
        start job2 0.0@n3[0:250m]
        start job3 0.0@n1[0,1]
        start job4 0.0@n2
        start job5 0.0@n2[1:500m]
        start job6 0.0@n1[2:700m]
        start job7 0.0@n0[0,1,2,3]
        start job8 0.0@n1[2:300m]
        start job9 0.0@n0[4,5,6,7]
        start job10 0.0@n3[0:200m]
        fail job11
        frag 925.0
    "#]],
    );
}

#[test]
fn scenario_bestfit() {
    scenario(
        PaperPolicy::BestFit,
        expect![[r#"
        start job0 0.0@n3[0:500m]
        start job1 0.0@n2[0]
        start job2 0.0@n3[0:250m]
        start job3 0.0@n1[0,1]
        start job4 0.0@n3
        start job5 0.0@n2[1:500m]
        start job6 0.0@n1[2:700m]
        start job7 0.0@n0[0,1,2,3]
        start job8 0.0@n2[1:300m]
        start job9 0.0@n0[4,5,6,7]
        start job10 0.0@n3[0:200m]
        fail job11
        frag 1091.7
    "#]],
    );
}

#[test]
fn scenario_fgd() {
    scenario(
        PaperPolicy::Fgd,
        expect![[r#"
        start job0 0.0@n3[0:500m]
        start job1 0.0@n0[0]
        start job2 0.0@n3[0:250m]
        start job3 0.0@n2[0,1]
        start job4 0.0@n2
        start job5 0.0@n0[1:500m]
        start job6 0.0@n0[2:700m]
        start job7 0.0@n1[0,1,2,3]
        start job8 0.0@n0[2:300m]
        start job9 0.0@n0[3,4,5,6]
        start job10 0.0@n3[0:200m]
        fail job11
        frag 1008.3
    "#]],
    );
}

#[test]
fn policy_names_round_trip() {
    for p in PaperPolicy::ALL {
        assert_eq!(p.name().parse::<PaperPolicy>(), Ok(p));
    }
    let e = "tetris".parse::<PaperPolicy>().unwrap_err().to_string();
    assert!(e.contains("expected one of random"), "{e}");
}

#[test]
fn change_feed_lists_changed_nodes() {
    let mut c = Pinned::new(&[gpu_node(1, 8000), gpu_node(1, 8000), gpu_node(1, 8000)]);
    let view = c.sched.view();
    assert_eq!(view.nodes_changed_since(0).count(), 3);
    let (s0, v1) = (view.stamp(), view.node(NodeId(1)).unwrap().version());
    c.put(JobBuilder::new(0).share(500), 1, Some(0));
    let view = c.sched.view();
    assert_eq!(view.nodes_changed_since(s0).collect::<Vec<_>>(), [NodeId(1)]);
    assert!(view.node(NodeId(1)).unwrap().version() > v1);
    let s1 = view.stamp();
    c.sched.handle_node_removed(Time::ZERO, NodeId(2)).unwrap();
    let view = c.sched.view();
    assert_eq!(view.nodes_changed_since(s1).collect::<Vec<_>>(), [NodeId(2)]);
    assert!(view.node(NodeId(2)).is_none());
    // A policy's copy follows the removal.
    let mut t = NodeTable::new(0);
    t.refresh(&view);
    assert!(!t.snaps()[2].schedulable && t.snaps()[1].schedulable);
}

proptest::proptest! {
    /// The integer fast paths of BestFit and DotProd give exactly the reference's doubles' results.
    #[test]
    fn fast_scores_match_the_reference_doubles(
        cpu_free in 0u64..300_000,
        gpu_free in 0u64..20_000,
        cpu_frac in 0u64..=100,
        gpu_frac in 0u64..=100,
        round in proptest::bool::ANY,
    ) {
        let (mut cpu, mut gpu) = (cpu_free * cpu_frac / 100, gpu_free * gpu_frac / 100);
        if round {
            // Round values, as in real traces, hit the integer boundaries where the doubles matter.
            cpu -= cpu % 1000;
            gpu -= gpu % 100;
        }
        proptest::prop_assert_eq!(best_fit_fast(cpu_free, gpu_free, cpu, gpu), best_fit_float(cpu_free, gpu_free, cpu, gpu));
        proptest::prop_assert_eq!(dot_prod_fast(cpu_free, gpu_free, cpu, gpu), dot_prod_float(cpu_free, gpu_free, cpu, gpu));
    }
}

#[test]
fn fast_scores_match_on_boundaries() {
    // Exactly on an integer score the doubles may fall below it: these take the reference's path.
    for (cf, gf, c, g) in [
        (64_000, 0, 0, 0),
        (2560, 0, 0, 0),
        (128_000, 8000, 0, 0),
        (66_560, 2000, 0, 0),
    ] {
        assert_eq!(best_fit_fast(cf, gf, c, g), best_fit_float(cf, gf, c, g), "{cf} {gf}");
        assert_eq!(
            dot_prod_fast(cf, gf, cf, gf),
            dot_prod_float(cf, gf, cf, gf),
            "{cf} {gf}"
        );
    }
}
