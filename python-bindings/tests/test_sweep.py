"""phalanx.sweep: many simulations in worker processes, locally or on a (local) Ray cluster."""

import pytest

import phalanx
from conftest import ROOT

PHILLY = ROOT / "traces" / "philly"


def largest_first(job):
    return -job.gpus


@pytest.fixture(scope="module")
def configs():
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="philly", estimates="oracle").head(2000)
    cluster = phalanx.Cluster.from_spec("16x8:nvidia/P100")
    return [
        dict(trace=trace, cluster=cluster, queue=q, placement=p)
        for q in ("fifo", "sjf")
        for p in ("bestfit", "worstfit")
    ]


def test_local(configs):
    expected = [phalanx.simulate(**c) for c in configs]
    got = phalanx.sweep(configs + [dict(configs[0], queue=largest_first)], processes=2)
    assert [r.summary for r in got[:-1]] == [r.summary for r in expected]
    assert got[1].jobs.equals(expected[1].jobs)
    assert got[-1].summary == phalanx.simulate(**dict(configs[0], queue=largest_first)).summary
    assert got[-1].python_calls > 0


def test_ray(configs):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ray>=2.9')")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        got = phalanx.sweep(configs, backend="ray")
    finally:
        ray.shutdown()
    assert [r.summary for r in got] == [phalanx.simulate(**c).summary for c in configs]
    assert len(got[0].jobs) == 2000


def test_bad_sweeps(configs):
    assert phalanx.sweep([]) == []
    with pytest.raises(ValueError, match=r"^configs\[0\]: missing `cluster`"):
        phalanx.sweep([dict(trace=configs[0]["trace"])])
    with pytest.raises(ValueError, match="^backend: expected 'local' or 'ray'"):
        phalanx.sweep(configs, backend="slurm")
    with pytest.raises(ValueError, match="^queue: unknown queue order"):
        phalanx.sweep([dict(configs[0], queue="lifo")], processes=1)
