"""Policies written in Python: the core calls them during a simulation."""

import pandas as pd
import pytest

import phalanx


def shortest_first(job):
    return job.estimate_s


def test_key_function_orders_the_queue(three_jobs, one_node):
    seen = []

    def key(job):
        seen.append((job.id, job.gpus, job.tasks, job.estimate_s, job.running, job.queue))
        return job.estimate_s

    r = phalanx.simulate(three_jobs, one_node, queue=key)
    # The same order as the built-in SJF: the small jobs first.
    assert r.jobs["start_s"].tolist() == [10.0, 0.0, 0.0]
    assert r.summary == {**phalanx.simulate(three_jobs, one_node, queue="sjf").summary}
    assert sorted(seen) == [(0, 4, 1, 100.0, False, "default"), (1, 2, 1, 10.0, False, "default"), (2, 2, 1, 10.0, False, "default")]
    assert r.python_calls == 3 and r.policy == "python"


def test_tuple_keys_and_ties(one_node):
    df = pd.DataFrame({"submit_s": [0.0] * 4, "duration_s": [10.0] * 4, "gpus": [4] * 4, "priority": [1, 2, 2, 1]})
    trace = phalanx.Trace.from_pandas(df)
    # Highest priority first, then the later job id first: (-priority, -id).
    r = phalanx.simulate(trace, one_node, queue=lambda j: (-j.priority, -j.id))
    assert r.jobs["start_s"].tolist() == [30.0, 10.0, 0.0, 20.0]
    # Equal keys keep submission order.
    r = phalanx.simulate(trace, one_node, queue=lambda j: 0)
    assert r.jobs["start_s"].tolist() == [0.0, 10.0, 20.0, 30.0]
    # Floats keep their order, negative ones included.
    r = phalanx.simulate(trace, one_node, queue=lambda j: [0.5, -2.5, -0.25, 1e9][j.id])
    assert r.jobs["start_s"].tolist() == [20.0, 0.0, 10.0, 30.0]


def test_preemptive_key_sees_running_jobs(one_node):
    df = pd.DataFrame({"submit_s": [0.0, 50.0], "duration_s": [100.0, 10.0], "gpus": [4, 4]})
    trace = phalanx.Trace.from_pandas(df, estimates="oracle")
    running_seen = []

    def remaining(job):
        running_seen.append(job.running)
        return job.remaining_s

    r = phalanx.simulate(trace, one_node, queue=remaining, preemptive=True, checkpoint="none")
    assert r.jobs["end_s"].tolist() == phalanx.simulate(trace, one_node, queue="srtf", checkpoint="none").jobs["end_s"].tolist()
    assert r.jobs["preemptions"].tolist() == [1, 0]
    assert True in running_seen


def test_score_function_places(one_node):
    cluster = phalanx.Cluster.from_pandas(pd.DataFrame({"gpus": [8, 8, 8], "gpu_model": ["nvidia/V100"] * 3}))
    df = pd.DataFrame({"submit_s": [0.0, 1.0, 2.0], "duration_s": [100.0] * 3, "gpus": [2, 2, 2]})
    trace = phalanx.Trace.from_pandas(df)
    calls = []

    def spread(demand, node):
        calls.append((demand.tasks, demand.gpus, demand.gpu_milli, node.id, node.free_gpus, node.model))
        return node.free_gpus  # most free GPUs first: spread

    r = phalanx.simulate(trace, cluster, placement=spread)
    assert r.jobs["nodes"].tolist() == [1, 1, 1]
    # Job 0: all free, tie → node 0. Job 1: node 1 or 2 (8 free) → node 1. Job 2 → node 2.
    assert [c[3:5] for c in calls] == [(0, 8), (1, 8), (2, 8), (0, 6), (1, 8), (2, 8), (0, 6), (1, 6), (2, 8)]
    assert calls[0][:3] == (1, 2, 1000) and calls[0][5] == "nvidia/V100"
    assert r.python_calls == 9


def test_score_can_refuse_nodes():
    cluster = phalanx.Cluster.from_pandas(pd.DataFrame({"gpus": [8, 8], "gpu_model": ["nvidia/V100"] * 2}))
    df = pd.DataFrame({"submit_s": [0.0, 0.0], "duration_s": [10.0, 10.0], "gpus": [8, 8]})
    # Never node 0: the jobs run one after the other on node 1.
    r = phalanx.simulate(df, cluster, placement=lambda d, n: float("-inf") if n.id == 0 else 1.0)
    assert r.jobs["start_s"].tolist() == [0.0, 10.0]


def test_both_functions_and_per_vc_clusters():
    from conftest import ROOT

    philly = ROOT / "traces" / "philly"
    trace = phalanx.read_trace(philly / "philly.csv", format="helios", vcs=philly / "philly_vc.csv", estimates="oracle").head(300)
    cluster = phalanx.Cluster.from_philly_vcs(philly / "philly_vc.csv")
    built_in = phalanx.simulate(trace, cluster, queue="sjf", placement="bestfit")
    mine = phalanx.simulate(trace, cluster, queue=shortest_first, placement="bestfit")
    assert mine.summary == built_in.summary
    assert mine.jobs["start_s"].equals(built_in.jobs["start_s"])
    assert mine.jobs["vc"].tolist() == built_in.jobs["vc"].tolist()


def test_exceptions_in_policies_are_raised(three_jobs, one_node):
    class Boom(Exception):
        pass

    def key(job):
        raise Boom("bad key")

    with pytest.raises(Boom, match="bad key"):
        phalanx.simulate(three_jobs, one_node, queue=key)
    with pytest.raises(ValueError, match="key must return a number or a tuple of two numbers, got x"):
        phalanx.simulate(three_jobs, one_node, queue=lambda j: "x")
    with pytest.raises(ValueError, match="key must return a number or a tuple of two numbers"):
        phalanx.simulate(three_jobs, one_node, queue=lambda j: (1, 2, 3))
    with pytest.raises(ValueError, match="score returned NaN"):
        phalanx.simulate(three_jobs, one_node, placement=lambda d, n: float("nan"))
    with pytest.raises(ZeroDivisionError):
        phalanx.simulate(three_jobs, one_node, placement=lambda d, n: 1 / 0)
    with pytest.raises(TypeError):
        phalanx.simulate(three_jobs, one_node, placement=lambda d: 1.0)
