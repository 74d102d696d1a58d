"""The package and the `phalanx` program agree on the real Philly trace: same summary, same jobs."""

import csv
import subprocess

import pandas as pd
import pytest

import phalanx
from conftest import ROOT

PHILLY = ROOT / "traces" / "philly"
BIN = ROOT / "target" / "release" / "phalanx"


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory):
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: build it with `cargo build --release --bin phalanx` (./test.sh does)")
    out = tmp_path_factory.mktemp("cli")
    # The command line's defaults: the Helios selection of philly.csv, one cluster per VC, consolidate.
    subprocess.run(
        [BIN, "compare", "--policies", "fifo,sjf,srtf", "--out", out], cwd=ROOT, check=True, capture_output=True
    )
    return out


@pytest.fixture(scope="module")
def python_runs():
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle")
    cluster = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    return {q: phalanx.simulate(trace, cluster, queue=q, placement="consolidate") for q in ("fifo", "sjf", "srtf")}


def test_same_summary_as_the_cli(cli_out, python_runs):
    rows = {r["run"]: r for r in csv.DictReader(open(cli_out / "summary.csv"))}
    for q, run in python_runs.items():
        cli = rows[f"{q}-all"]
        s = run.summary
        for field in ("jobs_submitted", "jobs_finished", "jobs_rejected", "jobs_unfinished", "preemptions", "events"):
            assert s[field] == int(cli[field]), (q, field)
        for field in ("avg_jct_s", "p50_jct_s", "p95_jct_s", "p99_jct_s", "avg_queue_s", "makespan_s"):
            assert f"{s[field]:.3f}" == cli[field], (q, field)
        assert f"{s['gpu_utilization']:.6f}" == cli["gpu_utilization"], q
    assert python_runs["fifo"].summary["jobs_submitted"] == 68503


def test_same_jobs_as_the_cli(cli_out, python_runs):
    jobs = python_runs["srtf"].jobs
    for vc in ("6214e9", "11cb48"):
        cli = pd.read_csv(cli_out / f"srtf-{vc}" / "jobs.csv")
        mine = jobs[jobs["vc"] == vc].reset_index(drop=True)
        assert len(mine) == len(cli)
        for col in ("start_s", "end_s", "jct_s", "queue_s"):
            assert mine[col].round(3).equals(cli[col].round(3)), (vc, col)
        assert mine["preemptions"].tolist() == cli["preemptions"].tolist()
        # The same rows of philly.csv (the program was given a relative path, the package an absolute one).
        assert mine["origin"].str.rsplit(":", n=1).str[1].tolist() == cli["origin"].str.rsplit(":", n=1).str[1].tolist()


def test_compare_matches_simulate(python_runs):
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle")
    cluster = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    c = phalanx.compare(trace, cluster, placement="consolidate")
    for q in ("fifo", "sjf", "srtf"):
        assert c[q].summary == python_runs[q].summary
