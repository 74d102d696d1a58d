"""A random and a greedy agent in phalanx.gym.SchedulingEnv over a real trace (nothing is trained).

    python examples/gym_agents.py [JOBS]              # from the repository root; default 3,000 jobs

The first JOBS jobs of the Philly trace run on 32 nodes of 8 P100s. The random agent picks any action;
the greedy agent starts the waiting job with the fewest GPUs that fits the free GPUs, else waits. The
return is minus the total queueing delay in job-hours.
"""

import sys
from pathlib import Path

import numpy as np

import phalanx
import phalanx.gym

PHILLY = Path("traces/philly")


def random_agent(env, obs, rng):
    return int(rng.integers(env.action_space.n))


def greedy_agent(env, obs, rng):
    jobs, mask, free = obs["jobs"], obs["job_mask"], obs["free_gpus"]
    fits = (mask == 1) & (jobs[:, 0] <= free.sum())
    if not fits.any():
        return env.max_jobs  # wait
    gpus = np.where(fits, jobs[:, 0], np.inf)
    return int(np.argmin(gpus))


def episode(env, agent, seed=0):
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(agent(env, obs, rng))
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            return total, steps, env.result().summary


def main(jobs: int) -> None:
    trace = phalanx.read_trace(PHILLY / "philly.csv", format="philly", estimates="oracle").head(jobs)
    cluster = phalanx.Cluster.from_spec("32x8:nvidia/P100")
    env = phalanx.gym.SchedulingEnv(trace, cluster, max_jobs=16)
    print(f"{len(trace)} jobs on {len(cluster)} nodes; observation: {list(env.observation_space.spaces)}")
    fifo = phalanx.simulate(trace, cluster, queue="fifo").summary
    print(f"{'agent':<8} {'return':>10} {'steps':>7} {'finished':>9} {'avg queue s':>12} {'avg JCT s':>10}")
    for name, agent in (("random", random_agent), ("greedy", greedy_agent)):
        ret, steps, s = episode(env, agent)
        print(f"{name:<8} {ret:>10.1f} {steps:>7} {s['jobs_finished']:>9} {s['avg_queue_s']:>12.0f} {s['avg_jct_s']:>10.0f}")
    print(f"{'fifo':<8} {'':>10} {'':>7} {fifo['jobs_finished']:>9} {fifo['avg_queue_s']:>12.0f} {fifo['avg_jct_s']:>10.0f}  (phalanx.simulate, for reference)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
