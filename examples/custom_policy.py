"""A scheduling policy written in Python, run by the Rust core during the simulation.

    python examples/custom_policy.py                  # from the repository root

The queue order is "smallest gang first, but never let a job wait more than an hour behind smaller
ones" (a key function); placement packs jobs onto the busiest node that still holds them (a node-scoring
function). Both are compared with the built-in policies on the first 10,000 jobs of the Philly trace.
"""

from pathlib import Path

import phalanx

PHILLY = Path("traces/philly")
HOUR = 3600.0


def small_first_with_aging(job: phalanx.JobInfo):
    # Smaller keys start first. Jobs submitted in the same hour go smallest first; older hours go first.
    return (job.submit_s // HOUR, job.gpus)


def busiest_node(demand: phalanx.DemandInfo, node: phalanx.NodeInfo) -> float:
    # Called for every node with room for the tasks; the highest score wins (ties: the lowest node id).
    return node.gpus - node.free_gpus


def main() -> None:
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle").head(10_000)
    cluster = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    runs = {
        "fifo + bestfit (built-in)": phalanx.simulate(trace, cluster, queue="fifo", placement="bestfit"),
        "sjf + bestfit (built-in)": phalanx.simulate(trace, cluster, queue="sjf", placement="bestfit"),
        "python key + bestfit": phalanx.simulate(trace, cluster, queue=small_first_with_aging, placement="bestfit"),
        "python key + python score": phalanx.simulate(trace, cluster, queue=small_first_with_aging, placement=busiest_node),
    }
    print(f"{'policy':<28} {'avg JCT s':>10} {'p95 JCT s':>10} {'avg queue s':>12} {'Python calls':>13} {'time s':>7}")
    for name, r in runs.items():
        s = r.summary
        print(f"{name:<28} {s['avg_jct_s']:>10.0f} {s['p95_jct_s']:>10.0f} {s['avg_queue_s']:>12.0f} {r.python_calls:>13,} {r.sim_seconds:>7.2f}")


if __name__ == "__main__":
    main()
