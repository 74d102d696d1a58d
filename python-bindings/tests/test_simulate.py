"""phalanx.simulate and phalanx.compare on traces small enough to check by hand."""

import math

import pandas as pd
import pytest

import phalanx


def test_fifo_by_hand(three_jobs, one_node):
    # FIFO: the 4-GPU job runs 0–100, then both small jobs 100–110.
    r = phalanx.simulate(three_jobs, one_node, queue="fifo")
    jobs = r.jobs
    assert list(jobs.columns) == [
        "vc", "job", "origin", "queue", "submit_s", "start_s", "end_s", "jct_s", "queue_s",
        "gpus", "nodes", "preemptions", "outcome", "reason",
    ]
    assert jobs["start_s"].tolist() == [0.0, 100.0, 100.0]
    assert jobs["end_s"].tolist() == [100.0, 110.0, 110.0]
    assert jobs["jct_s"].tolist() == [100.0, 110.0, 110.0]
    assert jobs["queue_s"].tolist() == [0.0, 100.0, 100.0]
    assert jobs["outcome"].tolist() == ["finished"] * 3
    assert jobs["reason"].isna().all()
    s = r.summary
    assert s["jobs_submitted"] == 3 and s["jobs_finished"] == 3
    assert s["avg_jct_s"] == pytest.approx(320 / 3)
    assert s["avg_queue_s"] == pytest.approx(200 / 3)
    assert s["makespan_s"] == 110.0
    assert s["p50_jct_s"] == 110.0
    # 4 GPUs × 100 s + 2 × 2 GPUs × 10 s = 440 GPU-s over 4 GPUs × 110 s.
    assert s["gpu_utilization"] == pytest.approx(1.0)
    assert r.policy == "fifo" and r.seed == 0 and r.python_calls == 0


def test_sjf_by_hand(three_jobs, one_node):
    # SJF with exact estimates: both small jobs 0–10, then the big one 10–110.
    r = phalanx.simulate(three_jobs, one_node, queue="sjf")
    assert r.jobs["start_s"].tolist() == [10.0, 0.0, 0.0]
    assert r.jobs["jct_s"].tolist() == [110.0, 10.0, 10.0]
    assert r.summary["avg_jct_s"] == pytest.approx(130 / 3)
    assert r.summary["avg_queue_s"] == pytest.approx(10 / 3)


def test_srtf_preempts_with_checkpoint_cost(one_node):
    # A 4-GPU job of 100 s at 0; a 4-GPU job of 10 s at 50 preempts it (Helios cost: 30 s for 4 GPUs).
    df = pd.DataFrame({"submit_s": [0.0, 50.0], "duration_s": [100.0, 10.0], "gpus": [4, 4]})
    trace = phalanx.Trace.from_pandas(df, estimates="oracle")
    r = phalanx.simulate(trace, one_node, queue="srtf")
    assert r.jobs["preemptions"].tolist() == [1, 0]
    assert r.jobs["end_s"].tolist() == [50.0 + 10.0 + 50.0 + 30.0, 60.0]
    r = phalanx.simulate(trace, one_node, queue="srtf", checkpoint="none")
    assert r.jobs["end_s"].tolist() == [110.0, 60.0]


def test_rejected_and_skip_ahead(one_node):
    df = pd.DataFrame(
        {"submit_s": [0.0, 1.0, 2.0, 3.0], "duration_s": [10.0] * 4, "gpus": [3, 8, 2, 1]}
    )
    trace = phalanx.Trace.from_pandas(df)
    r = phalanx.simulate(trace, one_node)
    assert r.jobs["outcome"].tolist() == ["finished", "rejected", "finished", "finished"]
    assert "GPU" in r.jobs["reason"][1]
    # Blocked behind the 2-GPU job, the 1-GPU job waits; with skip-ahead it starts at once.
    assert r.jobs["start_s"].tolist()[2:] == [10.0, 10.0]
    r = phalanx.simulate(trace, one_node, head_of_line="skip")
    assert r.jobs["start_s"].tolist()[2:] == [10.0, 3.0]
    assert math.isnan(r.jobs["start_s"][1])
    assert r.summary["jobs_rejected"] == 1


def test_placements_and_gangs():
    cluster = phalanx.Cluster.from_pandas(
        pd.DataFrame({"gpus": [8, 4], "gpu_model": ["nvidia/V100"] * 2, "count": [2, 1]})
    )
    assert len(cluster) == 3 and cluster.gpus == 20
    assert cluster.to_pandas()["name"].tolist() == ["n0-0", "n0-1", "n1-0"]
    # A gang of 2 tasks × 8 GPUs takes both 8-GPU nodes.
    df = pd.DataFrame({"submit_s": [0.0, 0.0], "duration_s": [5.0, 5.0], "gpus": [8, 4], "tasks": [2, 1]})
    r = phalanx.simulate(df, cluster)
    assert r.jobs["nodes"].tolist() == [2, 1]
    assert r.jobs["gpus"].tolist() == [16, 4]
    assert r.jobs["start_s"].tolist() == [0.0, 0.0]


def test_timeseries(three_jobs, one_node):
    ts = phalanx.simulate(three_jobs, one_node, queue="sjf", sample_every_s=60).timeseries
    assert list(ts.columns) == ["vc", "time_s", "gpus_allocated", "gpu_utilization", "running", "queued"]
    # A sample at the first event of each 60 s interval, and the last state within it (t=10: the 4-GPU job
    # starts as the two small ones end).
    assert ts["time_s"].tolist() == [0.0, 10.0, 110.0]
    assert ts["gpus_allocated"].tolist() == [4, 4, 0]
    assert ts["queued"].tolist() == [1, 0, 0]
    assert phalanx.simulate(three_jobs, one_node, sample_every_s=0).timeseries.empty


def test_dataframes_are_accepted_directly(one_node):
    df = pd.DataFrame({"submit_s": [0.0], "duration_s": [1.5], "gpus": [1]})
    r = phalanx.simulate(df, pd.DataFrame({"gpus": [1], "gpu_model": ["nvidia/T4"]}))
    assert r.jobs["end_s"].tolist() == [1.5]


def test_compare(three_jobs, one_node):
    c = phalanx.compare(three_jobs, one_node, policies=["fifo", "sjf", phalanx.Policy("srtf-none", "srtf", checkpoint="none")])
    assert list(c) == ["fifo", "sjf", "srtf-none"]
    assert c["fifo"].summary == phalanx.simulate(three_jobs, one_node, queue="fifo").summary
    assert c["sjf"].jobs.equals(phalanx.simulate(three_jobs, one_node, queue="sjf").jobs)
    table = c.summary
    assert table.loc["fifo", "avg_jct_s"] == pytest.approx(320 / 3)
    assert table.loc["sjf", "avg_jct_s"] == pytest.approx(130 / 3)
    assert table.loc["srtf-none", "avg_jct_s"] == pytest.approx(130 / 3)
    c = phalanx.compare(three_jobs, one_node, policies=[{"name": "ff", "queue": "fifo", "placement": "firstfit"}], threads=1)
    assert list(c) == ["ff"]
