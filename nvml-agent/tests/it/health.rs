//! Health transitions through nvml-wrapper: XID events, uncorrectable ECC, lost and vanished GPUs.

use std::time::{Duration, Instant};

use phalanx_agent::probe::Probe;
use phalanx_agent::report::{Report, ReportConfig, Reporter};
use phalanx_agent::sample::GpuEventKind;
use phalanx_core::GpuHealth;

use crate::support::{next_sample, StubNode};

/// Samples until a report has health changes (at most `samples` reports); returns that report.
fn until_change(probe: &Probe, rep: &mut Reporter, samples: usize) -> Report {
    for _ in 0..samples {
        let r = rep.report(&next_sample(probe), 0);
        if !r.changes.is_empty() {
            return r;
        }
    }
    panic!("no health change within {samples} samples");
}

fn healths(r: &Report) -> String {
    r.status
        .node
        .gpus
        .iter()
        .map(|g| if g.health == GpuHealth::Healthy { '+' } else { 'X' })
        .collect()
}

#[test]
fn xid_ecc_and_lost_gpus_become_unhealthy_in_the_next_report() {
    let stub = StubNode::new(&[]);
    let probe = Probe::start(stub.spec(), Duration::from_millis(25)).unwrap();
    let mut rep = Reporter::new(ReportConfig::default());
    let first = rep.report(&next_sample(&probe), 0);
    assert_eq!(healths(&first), "++++++++");

    // An application XID is counted, not fatal; a fatal one is.
    stub.inject("xid 0 13");
    stub.inject("xid 1 79");
    let r = until_change(&probe, &mut rep, 5);
    assert_eq!(healths(&r), "+X++++++");
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0].reason, "XID 79: GPU has fallen off the bus");
    assert_eq!((r.status.gpus[0].xid_events, r.status.gpus[0].last_xid), (1, Some(13)));

    stub.inject("ecc 2 1");
    let r = until_change(&probe, &mut rep, 5);
    assert_eq!(healths(&r), "+XX+++++");
    assert_eq!(r.changes[0].reason, "uncorrectable ECC error");
    let m = r.status.gpus[2].metrics.as_ref().unwrap();
    assert_eq!(m.ecc_uncorrected, Some(1));

    stub.inject("lost 3");
    let r = until_change(&probe, &mut rep, 5);
    assert_eq!(healths(&r), "+XXX++++");
    let g3 = &r.status.gpus[3];
    assert!(!g3.present && g3.metrics.is_none());
    assert_eq!(
        g3.uuid, "GPU-5eed0000-0000-4000-8000-000000000003",
        "a lost GPU keeps its identity"
    );
    assert!(
        g3.health_reason.as_deref().unwrap().starts_with("lost: "),
        "{:?}",
        g3.health_reason
    );

    stub.inject("count 7");
    let r = until_change(&probe, &mut rep, 5);
    assert_eq!(healths(&r), "+XXX+++X");
    assert_eq!(r.changes[0].reason, "lost: no longer listed by the driver");
    assert_eq!(r.status.node.gpus.len(), 8, "indices never shift");
}

#[test]
fn an_xid_event_is_reported_at_once_not_at_the_next_interval() {
    let stub = StubNode::new(&["gpus 2"]);
    let probe = Probe::start(stub.spec(), Duration::from_secs(3600)).unwrap();
    let first = next_sample(&probe);
    assert!(first.events.is_empty());
    let injected = Instant::now();
    stub.inject("xid 1 48");
    let s = next_sample(&probe);
    assert!(
        injected.elapsed() < Duration::from_secs(60),
        "the event ended the one-hour wait"
    );
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.events[0].uuid, "GPU-5eed0000-0000-4000-8000-000000000001");
    assert_eq!(s.events[0].kind, GpuEventKind::Xid(Some(48)));
}

#[test]
fn without_events_a_rising_ecc_count_still_marks_the_gpu() {
    let stub = StubNode::new(&["gpus 2", "no_events"]);
    let probe = Probe::start(stub.spec(), Duration::from_millis(25)).unwrap();
    let mut rep = Reporter::new(ReportConfig::default());
    let first = rep.report(&next_sample(&probe), 0);
    assert!(
        first.status.gpus.iter().all(|g| g.health == GpuHealth::Healthy),
        "{:?}",
        first.status.gpus
    );
    stub.inject("ecc 0 2");
    let r = until_change(&probe, &mut rep, 10);
    assert_eq!(healths(&r), "X+");
    assert_eq!(
        r.changes[0].reason,
        "2 uncorrectable ECC error(s) since the driver loaded"
    );
}
