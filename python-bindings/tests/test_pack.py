"""phalanx.pack mirrors `phalanx pack` (the FGD paper's packing experiment)."""

import csv
import subprocess

import pytest

import phalanx
from conftest import OPENB, ROOT
from test_cli import BIN

PODS = OPENB / "openb_pod_list_multigpu20.csv"
NODES = OPENB / "openb_node_list_gpu_node.csv"


def test_pack_matches_the_cli(tmp_path):
    r = phalanx.pack(PODS, NODES, policies=["bestfit", "fgd"], seeds=[42, 43])
    assert list(r.runs.columns)[:4] == ["workload", "policy", "seed", "pods"]
    assert r.runs[["policy", "seed"]].values.tolist() == [["bestfit", 42], ["bestfit", 43], ["fgd", 42], ["fgd", 43]]
    assert (r.runs["placed"] + r.runs["failed"] == r.runs["pods"]).all()
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: build it with `cargo build --release --bin phalanx`")
    subprocess.run(
        [BIN, "pack", "--nodes", NODES, "--pods", PODS, "--policy", "bestfit,fgd", "--seeds", "42,43", "--out", tmp_path],
        cwd=ROOT, check=True, capture_output=True,
    )
    cli = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert len(cli) == len(r.summary)
    for mine, theirs in zip(r.summary.to_dict("records"), cli):
        assert mine["workload"] == theirs["workload"] and mine["policy"] == theirs["policy"]
        assert mine["arrive_pct"] == int(theirs["arrive_pct"])
        for col in ("alloc_gpu_pct_mean", "unalloc_gpu_pct_mean", "frag_gpu_pct_of_cluster_mean"):
            assert f"{mine[col]:.3f}" == theirs[col]
    table = r.unallocated(100)
    assert list(table.columns) == ["bestfit", "fgd"] and list(table.index) == ["openb_pod_list_multigpu20"]


def test_bad_pack_arguments():
    with pytest.raises(ValueError, match="^policies: "):
        phalanx.pack(PODS, NODES, policies=["best"])
    with pytest.raises(ValueError, match="^seeds: expected at least one seed"):
        phalanx.pack(PODS, NODES, seeds=[])
    with pytest.raises(ValueError, match="^inflate: expected a positive number"):
        phalanx.pack(PODS, NODES, inflate=0)
    with pytest.raises(FileNotFoundError):
        phalanx.pack(OPENB / "none.csv", NODES, seeds=[1])
