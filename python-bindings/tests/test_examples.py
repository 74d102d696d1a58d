"""The scripts in examples/ run as a user would run them (on smaller inputs where they take one)."""

import subprocess
import sys

from conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def test_compare_philly(tmp_path):
    out = run(ROOT / "examples" / "compare_philly.py", tmp_path)
    assert "68503 jobs" in out and (tmp_path / "jct_cdf.png").stat().st_size > 10_000


def test_custom_policy():
    out = run(ROOT / "examples" / "custom_policy.py")
    assert "python key + python score" in out


def test_gym_agents():
    out = run(ROOT / "examples" / "gym_agents.py", 300)
    assert "random" in out and "greedy" in out
