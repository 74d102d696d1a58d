"""FIFO, SJF and SRTF on the Philly trace (the Helios experiment's setup), with a JCT CDF plot.

    python examples/compare_philly.py [OUT_DIR]      # from the repository root; default OUT_DIR: out

Every virtual cluster runs on its own nodes of 8 GPUs; SJF and SRTF see each job's true duration; jobs
are placed with the Helios consolidate policy. Saves OUT_DIR/jct_cdf.png and prints the summary table.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import phalanx  # noqa: E402

PHILLY = Path("traces/philly")


def main(out: Path) -> None:
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle")
    cluster = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    print(f"{len(trace)} jobs on {len(cluster)} nodes ({cluster.gpus} GPUs) in {len(cluster.queues)} virtual clusters")
    results = phalanx.compare(trace, cluster, policies=["fifo", "sjf", "srtf"], placement="consolidate")
    print(results.summary[["jobs_finished", "avg_jct_s", "p95_jct_s", "avg_queue_s", "gpu_utilization"]].round(1))

    # Queueing is a small part of most jobs' completion time here, so the JCT curves lie close together;
    # the right panel shows where the policies differ: the waits of the jobs that waited.
    fig, (ax, ax_q) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, r in results.items():
        jct = np.sort(r.jobs["jct_s"].dropna().to_numpy())
        ax.plot(jct, np.arange(1, len(jct) + 1) / len(jct), label=f"{name} (mean {r.summary['avg_jct_s']:,.0f} s)")
        waits = np.sort(r.jobs["queue_s"].to_numpy())
        waits = waits[waits > 0]
        ax_q.plot(waits, np.arange(1, len(waits) + 1) / len(waits), label=f"{name} ({len(waits):,} jobs waited)")
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (s, log scale)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title(f"Philly, Helios selection: JCT CDF of {len(trace):,} jobs")
    ax_q.set_xscale("log")
    ax_q.set_xlabel("queueing delay (s, log scale)")
    ax_q.set_ylabel("fraction of the jobs that waited")
    ax_q.set_title("queueing delay CDF")
    for a in (ax, ax_q):
        a.grid(True, which="both", alpha=0.3)
        a.legend()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "jct_cdf.png", dpi=120, bbox_inches="tight")
    print(f"wrote {out / 'jct_cdf.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
