"""Speed of the Python package against the `phalanx` program, and the cost of Python policies.

Run from the repository root after ./test.sh (which builds target/release/phalanx and installs the
package in .venv):

    .venv/bin/python python-bindings/benchmarks/bench_python.py

Prints the numbers BENCHMARKS.md quotes. Every figure is the best of several repetitions.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phalanx

ROOT = Path(__file__).resolve().parents[2]
PHILLY = ROOT / "traces" / "philly"
BIN = ROOT / "target" / "release" / "phalanx"
REPEAT = int(os.environ.get("REPEAT", "5"))


def best(f, repeat=REPEAT):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def cli(queue):
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([BIN, "simulate", "--queue", queue, "--out", out], cwd=ROOT, check=True, capture_output=True, text=True)
    m = re.search(r"read in ([\d.]+) s, simulated in ([\d.]+) s", p.stdout)
    return float(m.group(1)), float(m.group(2))


def python(queue):
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle")
    cluster = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    r = phalanx.simulate(trace, cluster, queue=queue, placement="consolidate")
    jobs = r.jobs  # the DataFrame, built through Arrow
    return r, len(jobs)


def main():
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; phalanx {phalanx.__version__}")
    print("\n## Built-in policies: Helios selection of philly.csv (68,503 jobs), one cluster per VC, consolidate\n")
    print("| queue | CLI process (read+simulate+write) | CLI simulate only | Python read+simulate+jobs DataFrame | Python simulate only | ratio end to end | ratio simulate |")
    print("|---|---|---|---|---|---|---|")
    for q in ("fifo", "sjf", "srtf"):
        t_cli, (read, sim) = best(lambda: cli(q))
        sims = []
        t_py, (r, n) = best(lambda: python(q))
        for _ in range(REPEAT):
            sims.append(python(q)[0].sim_seconds)
        s_py = min(sims)
        sims_cli = [cli(q)[1] for _ in range(REPEAT)]
        s_cli = min(sims_cli)
        print(f"| {q} | {t_cli:.3f} s | {s_cli:.3f} s | {t_py:.3f} s | {s_py:.3f} s | {t_py / t_cli:.2f} | {s_py / s_cli:.2f} |")

    print("\n## Python policies: first 5,000 jobs of the Helios selection, one cluster per VC\n")
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle").head(5000)
    cluster = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")

    def by_estimate(job):
        return job.estimate_s

    def tightest(demand, node):
        return -node.free_gpus

    cases = [
        ("key function (SJF by estimate) vs built-in sjf", dict(queue="sjf"), dict(queue=by_estimate)),
        ("key function, preemptive (SRTF by remaining) vs built-in srtf", dict(queue="srtf"),
         dict(queue=lambda j: j.remaining_s, preemptive=True)),
        ("score function (fewest free GPUs) vs built-in bestfit", dict(placement="bestfit"), dict(placement=tightest)),
    ]
    print("| policy | built-in | Python | Python calls | overhead per call | calls per second |")
    print("|---|---|---|---|---|---|")
    for name, builtin, mine in cases:
        t_b, rb = best(lambda: phalanx.simulate(trace, cluster, threads=1, **builtin), 3)
        t_p, rp = best(lambda: phalanx.simulate(trace, cluster, **mine), 3)
        per = (t_p - t_b) / rp.python_calls
        print(f"| {name} | {t_b * 1e3:.1f} ms | {t_p * 1e3:.1f} ms | {rp.python_calls:,} | {per * 1e6:.2f} µs | {1 / per:,.0f} |")
        assert rp.summary["jobs_finished"] == rb.summary["jobs_finished"]


if __name__ == "__main__":
    main()
