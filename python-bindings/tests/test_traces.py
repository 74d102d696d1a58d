"""Reading traces and clusters: every format the command line reads, and DataFrames both ways."""

import pickle

import pandas as pd
import pytest

import phalanx
from conftest import OPENB, ROOT

PHILLY = ROOT / "traces" / "philly"


def test_read_philly_and_helios():
    philly = phalanx.read_trace(PHILLY / "philly.csv", format="philly")
    helios = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle")
    assert len(helios) == 68503 and len(philly) > len(helios)
    assert "68503 jobs kept" in helios.report
    assert philly.report is None
    df = helios.to_pandas()
    assert list(df.columns) == ["job", "origin", "queue", "priority", "submit_s", "duration_s", "estimate_s", "tasks", "gpus"]
    assert (df["estimate_s"] == df["duration_s"]).all()
    assert df["submit_s"].is_monotonic_increasing
    assert df["origin"][0].startswith(str(PHILLY / "philly.csv") + ":")
    assert philly.to_pandas()["estimate_s"].isna().all()


def test_read_other_formats(tmp_path):
    openb = phalanx.read_trace(OPENB / "openb_pod_list_default.csv", format="openb")
    assert len(openb) > 1000 and openb.report
    synthetic = phalanx.read_trace("", format="synthetic", jobs=50, seed=7)
    assert len(synthetic) == 50
    assert synthetic.to_pandas().equals(phalanx.read_trace("", format="synthetic", jobs=50, seed=7).to_pandas())
    itp = sorted((ROOT / "traces" / "itp" / "raw-traces").glob("*.csv"))[0]
    assert len(phalanx.read_trace(itp, format="itp")) > 0
    pollux = sorted((ROOT / "traces" / "pollux" / "workloads").glob("*.csv"))[0]
    assert len(phalanx.read_trace(pollux, format="pollux", profiles=ROOT / "traces" / "pollux" / "profiles")) > 0


def test_take_and_head():
    t = phalanx.read_trace("", format="synthetic", jobs=20, seed=1)
    assert len(t.head(5)) == 5 and len(t.head(100)) == 20
    picked = t.take([1, 3, 5]).to_pandas()
    assert picked["submit_s"].tolist() == t.to_pandas()["submit_s"][[1, 3, 5]].tolist()


def test_pickle_round_trip():
    t = phalanx.read_trace(PHILLY / "philly.csv", format="helios", vcs=PHILLY / "philly_vc.csv", estimates="oracle").head(500)
    t2 = pickle.loads(pickle.dumps(t))
    assert t2.to_pandas().equals(t.to_pandas())
    c = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.queues == c.queues and c2.to_pandas().equals(c.to_pandas())
    assert phalanx.simulate(t2, c2).summary == phalanx.simulate(t, c).summary


def test_clusters():
    c = phalanx.Cluster.from_spec("2x8:nvidia/V100,1x4:huawei/Ascend910B")
    df = c.to_pandas()
    assert len(c) == 3 and c.gpus == 20 and c.queues == []
    assert df["gpus"].tolist() == [8, 8, 4]
    assert df["gpu_model"].tolist() == ["nvidia/V100", "nvidia/V100", "huawei/Ascend910B"]
    openb = phalanx.Cluster.from_openb(OPENB / "openb_node_list_gpu_node.csv")
    assert len(openb) == 1213 and openb.gpus == 6212
    vcs = phalanx.Cluster.from_philly_vcs(PHILLY / "philly_vc.csv")
    assert len(vcs.queues) == 11
    assert set(vcs.to_pandas()["gpu_model"]) == {"nvidia/P100"}
    with pytest.raises(ValueError, match="^spec: "):
        phalanx.Cluster.from_spec("64x:nvidia/V100")


def test_from_pandas_round_trip():
    df = pd.DataFrame(
        {
            "submit_s": [5.0, 0.0, 2.5],
            "duration_s": [1.0, 2.0, 3.0],
            "gpus": [1, 0, 2],
            "tasks": [1, 1, 3],
            "cpu_milli": [500, 4000, 0],
            "queue": ["a", "b", "a"],
            "priority": [0, 5, 1],
            "estimate_s": [1.0, None, 3.5],
            "job_name": ["x", "y", "z"],
        }
    )
    t = phalanx.Trace.from_pandas(df, name="mine")
    back = t.to_pandas()
    assert t.name == "mine" and len(t) == 3
    # Sorted by submission time, stable.
    assert back["submit_s"].tolist() == [0.0, 2.5, 5.0]
    assert back["gpus"].tolist() == [0, 6, 1]
    assert back["tasks"].tolist() == [1, 3, 1]
    assert back["queue"].tolist() == ["b", "a", "a"]
    assert back["priority"].tolist() == [5.0, 1.0, 0.0]
    assert back["estimate_s"].isna().tolist() == [True, False, False]
    assert back["origin"].tolist() == ["mine job 0", "mine job 1", "mine job 2"]


def test_bad_reads(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        phalanx.read_trace(tmp_path / "missing.csv", format="philly")
    with pytest.raises(ValueError, match="^format: unknown format `csv`"):
        phalanx.read_trace(tmp_path / "x.csv", format="csv")
    with pytest.raises(ValueError, match="^estimates: unknown estimates `perfect`"):
        phalanx.read_trace(PHILLY / "philly.csv", format="philly", estimates="perfect")
    with pytest.raises(ValueError, match="trace.vcs"):
        phalanx.read_trace(PHILLY / "philly.csv", format="helios")
    bad = tmp_path / "philly.csv"
    text = (PHILLY / "philly.csv").read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("num_gpus")] = "many"
    bad.write_text("\n".join([text[0], ",".join(row)]) + "\n")
    with pytest.raises(ValueError, match=r"philly.csv:2: field `"):
        phalanx.read_trace(bad, format="philly")
