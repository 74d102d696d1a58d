//! Fragmentation-aware packing: the six placement policies of the FGD paper (Weng et al., "Beware of
//! Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC'23),
//! as its reference simulator (`hkust-adsl/kubernetes-scheduler-simulator`) defines them.
//!
//! | policy | picks the feasible node with the highest score |
//! |---|---|
//! | [`Random`] | uniformly at random |
//! | [`DotProd`] | smallest dot product of normalised free (CPU, GPU) and request |
//! | [`GpuClustering`] | running only GPU tasks of the same kind, then fullest |
//! | [`GpuPacking`] | shared devices first, then partly used nodes, then small idle nodes |
//! | [`BestFit`] | least free CPU and GPU left after placing |
//! | [`Fgd`] | least growth of the workload-aware fragmentation measure ([`FragMeasure`]) |
//!
//! They are ordinary [`PlacementPolicy`]s: the scheduler calls them through [`ClusterView`] like any
//! other, and they work the same in the simulator and on a live cluster.
//!
//! # Common rules
//!
//! - **Filter.** A node is feasible for a task if it is schedulable, has the task's CPU and memory free,
//!   is of a GPU model the task accepts (GPU tasks), and has a device with the task's share free (shared
//!   GPU) or enough fully free devices (whole GPUs). With several tasks at once it must hold them all.
//! - **Scores** are integers (most from truncated doubles, evaluated in the reference's order). Scores
//!   count a CPU request of 0 as 100 milli-CPU, as Kubernetes does; the filter uses the real request.
//! - **Ties** are the rule, not the exception, and go to the node that comes first in a seeded random
//!   order of the nodes (the reference renames nodes with a random prefix and takes the smallest name).
//!   A node's place in the order is a bijective hash of the seed and its id, so nodes added later
//!   join the order without disturbing it.
//! - **Devices.** Whole GPUs go on the lowest-index fully free devices (the scheduler's default). A
//!   shared GPU goes on the device with the least free milli that holds it (the scheduler's default),
//!   except under [`Random`] (a random device that holds it) and [`Fgd`] (the device its score picked).
//! - Unhealthy devices count as fully used. The reference's limit of 1,001 pods per node never binds on
//!   its traces and is not modelled.
//!
//! # Incremental state
//!
//! Each policy keeps a compact copy of every node's free resources, brought up to date from the
//! cluster's change feed ([`ClusterView::nodes_changed_since`]) at each call: a placement then costs one
//! pass over that copy. [`Fgd`] also caches scores per node version and memoises `F` per node state.
//! None of this changes a decision; it only avoids recomputing.
//!
//! [`ClusterView`]: crate::ClusterView
//! [`ClusterView::nodes_changed_since`]: crate::ClusterView::nodes_changed_since

mod frag;
mod policies;
mod table;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use frag::{nonzero_cpu, FragMeasure, PodShape, TypicalPod, TypicalPods, DEFAULT_CPU_MILLI};
pub use policies::{BestFit, DotProd, Fgd, GpuClustering, GpuPacking, Random};

use crate::policy::PlacementPolicy;

/// The paper's policies, for configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PaperPolicy {
    /// [`Random`].
    Random,
    /// [`DotProd`].
    DotProd,
    /// [`GpuClustering`].
    GpuClustering,
    /// [`GpuPacking`].
    GpuPacking,
    /// [`BestFit`].
    BestFit,
    /// [`Fgd`].
    Fgd,
}

impl PaperPolicy {
    /// All six, in the paper's order.
    pub const ALL: [PaperPolicy; 6] = [
        PaperPolicy::Random,
        PaperPolicy::DotProd,
        PaperPolicy::GpuClustering,
        PaperPolicy::GpuPacking,
        PaperPolicy::BestFit,
        PaperPolicy::Fgd,
    ];

    /// Phalanx's name: `random`, `dotprod`, `clustering`, `packing`, `bestfit` or `fgd`.
    pub fn name(self) -> &'static str {
        match self {
            PaperPolicy::Random => "random",
            PaperPolicy::DotProd => "dotprod",
            PaperPolicy::GpuClustering => "clustering",
            PaperPolicy::GpuPacking => "packing",
            PaperPolicy::BestFit => "bestfit",
            PaperPolicy::Fgd => "fgd",
        }
    }

    /// The name in the paper's published results: `01-Random` … `06-FGD`.
    pub fn paper_name(self) -> &'static str {
        match self {
            PaperPolicy::Random => "01-Random",
            PaperPolicy::DotProd => "02-DotProd",
            PaperPolicy::GpuClustering => "03-GpuClustering",
            PaperPolicy::GpuPacking => "04-GpuPacking",
            PaperPolicy::BestFit => "05-BestFit",
            PaperPolicy::Fgd => "06-FGD",
        }
    }

    /// The policy object. `seed` sets the tie-breaking node order (and [`Random`]'s draws); `typical`
    /// is used by [`Fgd`] only.
    pub fn build(self, seed: u64, typical: &TypicalPods) -> Box<dyn PlacementPolicy + Send> {
        match self {
            PaperPolicy::Random => Box::new(Random::new(seed)),
            PaperPolicy::DotProd => Box::new(DotProd::new(seed)),
            PaperPolicy::GpuClustering => Box::new(GpuClustering::new(seed)),
            PaperPolicy::GpuPacking => Box::new(GpuPacking::new(seed)),
            PaperPolicy::BestFit => Box::new(BestFit::new(seed)),
            PaperPolicy::Fgd => Box::new(Fgd::new(seed, typical.clone())),
        }
    }
}

impl fmt::Display for PaperPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy name that is none of the paper's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy `{0}`: expected one of random, dotprod, clustering, packing, bestfit, fgd")]
pub struct UnknownPolicy(pub String);

impl FromStr for PaperPolicy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PaperPolicy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPolicy(s.to_owned()))
    }
}
