"""Shared fixtures: tiny hand-checkable traces and clusters, and the repository's shipped data."""

from pathlib import Path

import pandas as pd
import pytest

import phalanx

ROOT = Path(__file__).resolve().parents[2]
OPENB = ROOT / "traces" / "alibaba-openb"


@pytest.fixture
def one_node() -> phalanx.Cluster:
    """One node of 4 V100s."""
    return phalanx.Cluster.from_pandas(pd.DataFrame({"gpus": [4], "gpu_model": ["nvidia/V100"]}))


@pytest.fixture
def three_jobs() -> phalanx.Trace:
    """At time 0: a 4-GPU job of 100 s, then two 2-GPU jobs of 10 s (runtime estimates exact)."""
    df = pd.DataFrame({"submit_s": [0.0, 0.0, 0.0], "duration_s": [100.0, 10.0, 10.0], "gpus": [4, 2, 2]})
    return phalanx.Trace.from_pandas(df, name="three", estimates="oracle")
