"""Bad arguments raise Python exceptions that name the bad field; nothing crashes the interpreter."""

import pandas as pd
import pytest

import phalanx


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"queue": "lifo"}, "queue: unknown queue order `lifo`"),
        ({"placement": "random"}, "placement: unknown placement `random`"),
        ({"head_of_line": "jump"}, "head_of_line: unknown head_of_line `jump`"),
        ({"checkpoint": "free"}, "checkpoint: unknown checkpoint `free`"),
        ({"sample_every_s": -1}, "sample_every_s: expected whole seconds"),
    ],
)
def test_bad_policy_arguments(three_jobs, one_node, kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        phalanx.simulate(three_jobs, one_node, **kwargs)


def test_bad_types(three_jobs, one_node):
    with pytest.raises(TypeError, match="trace: expected a phalanx.Trace"):
        phalanx.simulate("trace.csv", one_node)
    with pytest.raises(TypeError, match="cluster: expected"):
        phalanx.simulate(three_jobs, 4)
    with pytest.raises(TypeError, match="queue: expected a policy name or a function"):
        phalanx.simulate(three_jobs, one_node, queue=3)


@pytest.mark.parametrize(
    "column, values, message",
    [
        ("gpus", [1, -2], "gpus: row 1: expected a whole number from 0 to 4294967295, found -2"),
        ("gpus", [1, 1.5], "gpus: row 1: expected a whole number, found 1.5"),
        ("duration_s", [1.0, float("inf")], "duration_s: row 1: expected a finite number of seconds"),
        ("submit_s", [-1.0, 0.0], "submit_s: row 0: expected a finite number of seconds"),
        ("gpu_model", ["nvidia/V100", "V100"], "gpu_model: row 1: "),
        ("queue", ["a", None], "queue: row 1: missing value"),
    ],
)
def test_bad_trace_columns(column, values, message):
    df = pd.DataFrame({"submit_s": [0.0, 1.0], "duration_s": [1.0, 1.0], "gpus": [1, 1]})
    df[column] = values
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        phalanx.Trace.from_pandas(df)


def test_missing_columns():
    with pytest.raises(ValueError, match="^gpus: missing column"):
        phalanx.Trace.from_pandas(pd.DataFrame({"submit_s": [0.0], "duration_s": [1.0]}))
    with pytest.raises(ValueError, match="^gpu_model: missing column"):
        phalanx.Cluster.from_pandas(pd.DataFrame({"gpus": [8]}))
    with pytest.raises(ValueError, match="^gpu_model: row 0: a node with GPUs needs a model"):
        phalanx.Cluster.from_pandas(pd.DataFrame({"gpus": [8], "gpu_model": [""]}))
    with pytest.raises(ValueError, match="^estimates: expected"):
        phalanx.Trace.from_pandas(pd.DataFrame({"submit_s": [0.0], "duration_s": [1.0], "gpus": [1]}), estimates="magic")


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-file.csv"):
        phalanx.Cluster.from_openb(tmp_path / "no-such-file.csv")
    bad = tmp_path / "nodes.csv"
    bad.write_text("sn,cpu_milli,memory_mib,gpu,model\nn1,lots,1024,8,V100M16\n")
    with pytest.raises(ValueError, match=r"nodes.csv:2: field `cpu_milli`"):
        phalanx.Cluster.from_openb(bad)


def test_duplicate_node_names_are_a_cluster_error(three_jobs):
    cluster = phalanx.Cluster.from_pandas(pd.DataFrame({"name": ["a", "a"], "gpus": [4, 4], "gpu_model": ["nvidia/V100"] * 2}))
    with pytest.raises(ValueError, match="^cluster: node `a`"):
        phalanx.simulate(three_jobs, cluster)


def test_bad_take(three_jobs):
    with pytest.raises(ValueError, match="^indices: 7 is out of range for 3 jobs"):
        three_jobs.take([0, 7])
    with pytest.raises(ValueError, match="^indices: expected ascending"):
        three_jobs.take([1, 0])
