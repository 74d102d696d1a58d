//! `phalanx place`: submit a pod list to a node list at once and place what fits.
//!
//! Every pod becomes a one-task job submitted at time 0 in file order; the scheduler (FIFO order,
//! skip-ahead so a pod that does not fit never blocks the ones behind it) places what fits with the
//! chosen placement policy. Pods that fit no node now stay unplaced; pods that can never run on this
//! cluster are rejected with a reason.

use phalanx_core::{Config, Decision, HeadOfLine, Placement, QueueOrder, RejectReason, Scheduler, Time};

use crate::engine::ClusterError;
use crate::openb::{OpenbNode, OpenbPod};

/// The outcome of a placement run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceReport {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// GPU devices in the cluster.
    pub cluster_gpus: u64,
    /// Pods submitted.
    pub pods: usize,
    /// Pods placed.
    pub placed: usize,
    /// Milli-GPU requested by all pods.
    pub gpu_milli_requested: u64,
    /// Milli-GPU held by placed pods.
    pub gpu_milli_placed: u64,
    /// Pods rejected as impossible, with the reason.
    pub rejected: Vec<(String, RejectReason)>,
    /// Pods that could run on this cluster but found no room.
    pub unplaced: usize,
}

/// Places `pods` on `nodes` with `placement`.
pub fn place(nodes: &[OpenbNode], pods: &[OpenbPod], placement: Placement) -> Result<PlaceReport, ClusterError> {
    let config = Config {
        queue: QueueOrder::Fifo,
        placement,
        head_of_line: HeadOfLine::SkipAhead,
        ..Default::default()
    };
    let mut sched = Scheduler::new(config);
    let cluster_gpus = crate::engine::add_nodes(&mut sched, nodes.iter().map(OpenbNode::to_spec))?;
    for (i, p) in pods.iter().enumerate() {
        sched
            .handle_submit(Time::ZERO, p.to_job(i as u64))
            .expect("job ids are the pod's position, unique");
    }
    let mut report = PlaceReport {
        nodes: nodes.len(),
        cluster_gpus,
        pods: pods.len(),
        placed: 0,
        gpu_milli_requested: pods.iter().map(OpenbPod::total_gpu_milli).sum(),
        gpu_milli_placed: 0,
        rejected: Vec::new(),
        unplaced: 0,
    };
    while let Some(d) = sched.poll_decision() {
        match d {
            Decision::Start { job, tasks } => {
                report.placed += 1;
                report.gpu_milli_placed += tasks
                    .iter()
                    .map(|t| u64::from(t.gpus.len()) * u64::from(t.gpu_milli))
                    .sum::<u64>();
                let _ = job;
            }
            Decision::Reject { job, reason } => report.rejected.push((pods[job.0 as usize].name.clone(), reason)),
            // Nothing is cancelled and no node fails in a placement run.
            Decision::Stop { .. } => {}
        }
    }
    report.unplaced = sched.pending_len();
    Ok(report)
}
