"""phalanx.gym.SchedulingEnv: the Gymnasium API, checked by gymnasium's own env checker."""

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

import phalanx
import phalanx.gym
from conftest import ROOT


def test_check_env(three_jobs, one_node):
    check_env(phalanx.gym.SchedulingEnv(three_jobs, one_node, max_jobs=4), skip_render_check=True)


def test_check_env_on_a_real_trace():
    philly = ROOT / "traces" / "philly"
    trace = phalanx.read_trace(philly / "philly.csv", format="philly", estimates="oracle").head(200)
    cluster = phalanx.Cluster.from_spec("8x8:nvidia/P100")
    check_env(phalanx.gym.SchedulingEnv(trace, cluster), skip_render_check=True)


def test_an_episode_by_hand(three_jobs, one_node):
    env = phalanx.gym.SchedulingEnv(three_jobs, one_node, max_jobs=2)
    obs, info = env.reset(seed=0)
    # All three jobs arrived at 0; the window shows two.
    assert obs["waiting"].tolist() == [3.0]
    assert obs["job_mask"].tolist() == [1, 1]
    assert obs["jobs"][:, 0].tolist() == [4.0, 2.0] and obs["jobs"][:, 3].tolist() == pytest.approx([100 / 3600, 10 / 3600])
    assert obs["free_gpus"].tolist() == [4.0]
    assert env.action_masks().tolist() == [True, True, True]
    # Start the second waiting job (2 GPUs, 10 s): at once, no reward.
    obs, reward, terminated, truncated, info = env.step(1)
    assert info["outcome"] == "started" and reward == 0.0 and not terminated
    assert obs["free_gpus"].tolist() == [2.0] and obs["waiting"].tolist() == [2.0]
    # The 4-GPU job does not fit: that waits until the 2-GPU job ends at 10 s (2 jobs × 10 s waited).
    obs, reward, terminated, truncated, info = env.step(0)
    assert info["outcome"] == "no_room" and info["time_s"] == 10.0
    assert reward == pytest.approx(-20 / 3600)
    assert obs["jobs"][0, 2] == pytest.approx(10 / 3600)
    # Start the other small job, then the big one after it.
    env.step(1)
    obs, reward, *_ = env.step(2)  # wait
    assert reward == pytest.approx(-10 / 3600)
    obs, reward, terminated, truncated, info = env.step(0)
    assert info["outcome"] == "started" and terminated and not truncated
    s = env.result().summary
    assert s["jobs_finished"] == 3 and s["avg_queue_s"] == pytest.approx((0 + 10 + 20) / 3)


def test_reward_options_and_limits(three_jobs, one_node):
    env = phalanx.gym.SchedulingEnv(three_jobs, one_node, reward="utilization", max_steps=2)
    env.reset()
    env.step(0)  # the 4-GPU job, 0–100 s
    _, reward, terminated, truncated, _ = env.step(16)  # wait until it ends: 4 GPU × 100 s on 4 GPUs
    assert reward == pytest.approx(100 / 3600) and truncated and not terminated
    seen = []
    env = phalanx.gym.SchedulingEnv(three_jobs, one_node, reward=lambda s: seen.append(s) or 1.0)
    env.reset()
    assert env.step(0)[1] == 1.0 and seen[0].outcome == "started" and seen[0].cluster_gpus == 4


def test_stalled_and_rejected():
    df = pd.DataFrame({"submit_s": [0.0, 0.0], "duration_s": [10.0, 10.0], "gpus": [1, 64]})
    env = phalanx.gym.SchedulingEnv(phalanx.Trace.from_pandas(df), phalanx.Cluster.from_spec("1x8:nvidia/V100"))
    env.reset()
    # Waiting on an idle cluster with nothing to come changes nothing.
    *_, info = env.step(16)
    assert info["stalled"] and info["time_s"] == 0.0
    *_, info = env.step(1)
    assert info["outcome"] == "rejected"
    *_, terminated, _, info = env.step(0)
    assert info["outcome"] == "started"
    assert env.step(16)[2]


def test_deterministic_episodes(three_jobs, one_node):
    def episode(seed):
        env = phalanx.gym.SchedulingEnv(three_jobs, one_node)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        total = 0.0
        while True:
            _, r, term, trunc, _ = env.step(env.action_space.sample())
            total += r
            if term or trunc:
                return total, env.result().summary

    assert episode(3) == episode(3)


def test_bad_arguments(three_jobs, one_node):
    with pytest.raises(ValueError, match="^max_jobs: expected at least 1"):
        phalanx.gym.SchedulingEnv(three_jobs, one_node, max_jobs=0)
    with pytest.raises(ValueError, match="^max_nodes: the cluster has 2 nodes, more than 1"):
        phalanx.gym.SchedulingEnv(three_jobs, phalanx.Cluster.from_spec("2x8:nvidia/V100"), max_nodes=1)
    with pytest.raises(ValueError, match="^reward: expected one of"):
        phalanx.gym.SchedulingEnv(three_jobs, one_node, reward="jct")
    with pytest.raises(ValueError, match="^placement: unknown placement"):
        phalanx.gym.SchedulingEnv(three_jobs, one_node, placement="random")
    env = phalanx.gym.SchedulingEnv(three_jobs, one_node)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    with pytest.raises(ValueError, match="^action: expected 0 to 16"):
        env.step(17)
    with pytest.raises(ValueError, match="^k: 5 is not below the 3 waiting jobs"):
        env._session.try_start(5)
