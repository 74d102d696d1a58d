"""A Gymnasium environment for reinforcement-learning schedulers, driven by Phalanx's scheduling core.

At each step the agent sees the waiting jobs and the cluster's free capacity and picks which waiting job
to start next, or to wait::

    env = phalanx.gym.SchedulingEnv(trace, cluster, max_jobs=16)
    obs, info = env.reset(seed=0)
    while True:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            break
    env.result().summary          # the same summary as phalanx.simulate

Arrived jobs wait in arrival order. Action ``k < max_jobs`` offers the ``k``-th waiting job to the core,
which places it now with the ``placement`` policy if it fits. Action ``max_jobs`` (wait) -- and an
offer that does not fit or names an empty slot -- jumps to the next event (a completion or an arrival).
A job that can never run on the cluster is rejected when offered. Between events with nobody waiting,
the environment skips ahead by itself, so the agent is asked only when some job waits. Waiting when no
event is left (nothing running, nothing to arrive) changes nothing: the step is a no-op with
``info["stalled"] = True``; ``max_steps`` truncates an episode.

Observation (a dict of fixed-size arrays):

- ``jobs``: ``float32[max_jobs, 4]``, the first ``max_jobs`` waiting jobs: GPU devices, tasks, hours waited
  so far, estimated running hours (0 without an estimate); zeros past the last waiting job;
- ``job_mask``: ``int8[max_jobs]``, 1 where a slot holds a job;
- ``free_gpus``: ``float32[max_nodes]``, wholly free GPUs of each node in node order (zeros past the last);
- ``waiting``: ``float32[1]``, jobs waiting in all (the window may show fewer).

Reward (``reward=``): ``"queue_delay"`` (default): minus the job-hours spent waiting during the step, so an
episode's return is minus the total queueing delay in hours; ``"utilization"``: the GPU-hours allocated
during the step divided by the cluster's GPUs; or a function of the step's :class:`StepStats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Union

import gymnasium
import numpy as np
from gymnasium import spaces

from . import Cluster, Result, Trace, _native

__all__ = ["SchedulingEnv", "StepStats"]


@dataclass(frozen=True)
class StepStats:
    """What happened during one step, for reward functions."""

    #: Seconds that passed.
    elapsed_s: float
    #: Job-seconds spent waiting (jobs waiting × time).
    wait_job_s: float
    #: GPU-seconds allocated to running jobs.
    gpu_s: float
    #: GPU devices of the cluster.
    cluster_gpus: int
    #: "started", "rejected", "no_room", "wait" or "stalled".
    outcome: str


def _queue_delay(s: StepStats) -> float:
    return -s.wait_job_s / 3600.0


def _utilization(s: StepStats) -> float:
    return s.gpu_s / 3600.0 / max(s.cluster_gpus, 1)


#: The bound of unbounded observations (GPUs, tasks, hours, jobs): far beyond any trace.
_HIGH = 1e9

_REWARDS: Dict[str, Callable[[StepStats], float]] = {"queue_delay": _queue_delay, "utilization": _utilization}


class SchedulingEnv(gymnasium.Env):
    """Pick the next waiting job to start (or wait) on a replayed trace. See the module's documentation."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        trace: Trace,
        cluster: Cluster,
        *,
        max_jobs: int = 16,
        max_nodes: Optional[int] = None,
        placement: str = "bestfit",
        reward: Union[str, Callable[[StepStats], float]] = "queue_delay",
        max_steps: Optional[int] = None,
    ):
        if not isinstance(trace, Trace):
            raise TypeError(f"trace: expected a phalanx.Trace, got {type(trace).__name__}")
        if not isinstance(cluster, Cluster):
            raise TypeError(f"cluster: expected a phalanx.Cluster, got {type(cluster).__name__}")
        if int(max_jobs) < 1:
            raise ValueError(f"max_jobs: expected at least 1, found {max_jobs}")
        nodes = cluster.to_pandas()
        max_nodes = len(nodes) if max_nodes is None else int(max_nodes)
        if len(nodes) > max_nodes:
            raise ValueError(f"max_nodes: the cluster has {len(nodes)} nodes, more than {max_nodes}")
        if isinstance(reward, str):
            if reward not in _REWARDS:
                raise ValueError(f"reward: expected one of {', '.join(_REWARDS)} or a function, found {reward!r}")
            reward = _REWARDS[reward]
        elif not callable(reward):
            raise TypeError(f"reward: expected a name or a function, got {type(reward).__name__}")
        self._trace, self._cluster, self._placement = trace, cluster, placement
        self._reward: Callable[[StepStats], float] = reward
        self.max_jobs, self.max_nodes, self.max_steps = int(max_jobs), max_nodes, max_steps
        jobs = trace.to_pandas()
        self._gpus = jobs["gpus"].to_numpy(np.float32)
        self._tasks = jobs["tasks"].to_numpy(np.float32)
        self._submit_s = jobs["submit_s"].to_numpy(np.float64)
        self._estimate_h = (jobs["estimate_s"].fillna(0.0).to_numpy(np.float64) / 3600.0).astype(np.float32)
        max_gpus = float(nodes["gpus"].max()) if len(nodes) else 0.0
        self.observation_space = spaces.Dict(
            {
                "jobs": spaces.Box(0.0, _HIGH, (self.max_jobs, 4), np.float32),
                "job_mask": spaces.MultiBinary(self.max_jobs),
                "free_gpus": spaces.Box(0.0, max_gpus, (self.max_nodes,), np.float32),
                "waiting": spaces.Box(0.0, _HIGH, (1,), np.float32),
            }
        )
        self.action_space = spaces.Discrete(self.max_jobs + 1)
        _native.Session(trace._native, cluster._native, placement)  # check the arguments now
        self._session: Optional[_native.Session] = None
        self._steps = 0

    # -- gymnasium API -------------------------------------------------------------------------------

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> Tuple[dict, dict]:
        super().reset(seed=seed)
        self._session = _native.Session(self._trace._native, self._cluster._native, self._placement)
        self._steps = 0
        self._skip_idle()
        return self._observation(), self._info("reset", False)

    def step(self, action: Any) -> Tuple[dict, float, bool, bool, dict]:
        s = self._require()
        a = int(action)
        if not 0 <= a <= self.max_jobs:
            raise ValueError(f"action: expected 0 to {self.max_jobs}, found {action!r}")
        self._steps += 1
        t0 = s.now_s
        wait_job_s = gpu_s = 0.0
        outcome = "wait"
        if a < min(self.max_jobs, len(s.waiting())):
            outcome = s.try_start(a)
        stalled = False
        if outcome in ("wait", "no_room"):
            w, g = self._advance()
            if w is None:
                stalled, outcome = True, "stalled"
            else:
                wait_job_s, gpu_s = w, g
        w, g = self._skip_idle()
        wait_job_s, gpu_s = wait_job_s + w, gpu_s + g
        stats = StepStats(s.now_s - t0, wait_job_s, gpu_s, s.cluster_gpus, outcome)
        terminated = s.done
        truncated = not terminated and self.max_steps is not None and self._steps >= self.max_steps
        return self._observation(), float(self._reward(stats)), terminated, truncated, self._info(outcome, stalled)

    # -- beyond gymnasium ------------------------------------------------------------------------------

    def action_masks(self) -> np.ndarray:
        """Which actions name a waiting job (the last, wait, is always allowed), for masked policies."""
        s = self._require()
        mask = np.zeros(self.max_jobs + 1, dtype=bool)
        mask[: min(self.max_jobs, len(s.waiting()))] = True
        mask[-1] = True
        return mask

    def result(self) -> Result:
        """The episode so far as a simulation result (``summary``, ``jobs``)."""
        return Result(self._require().result())

    # -- internals -------------------------------------------------------------------------------------

    def _require(self) -> _native.Session:
        if self._session is None:
            raise RuntimeError("call reset() before step()")
        return self._session

    def _advance(self) -> Tuple[Optional[float], float]:
        """Jumps to the next event; (job-seconds waited, GPU-seconds allocated) on the way, or (None, 0)."""
        s = self._require()
        t, waiting, gpus = s.now_s, len(s.waiting()), s.allocated_gpus
        if not s.advance():
            return None, 0.0
        dt = s.now_s - t
        return waiting * dt, gpus * dt

    def _skip_idle(self) -> Tuple[float, float]:
        """Advances while nobody waits (nothing to decide)."""
        s = self._require()
        wait_job_s = gpu_s = 0.0
        while not s.waiting():
            w, g = self._advance()
            if w is None:
                break
            wait_job_s, gpu_s = wait_job_s + w, gpu_s + g
        return wait_job_s, gpu_s

    def _observation(self) -> dict:
        s = self._require()
        waiting = np.asarray(s.waiting(), dtype=np.int64)
        shown = waiting[: self.max_jobs]
        jobs = np.zeros((self.max_jobs, 4), dtype=np.float32)
        jobs[: len(shown), 0] = self._gpus[shown]
        jobs[: len(shown), 1] = self._tasks[shown]
        jobs[: len(shown), 2] = ((s.now_s - self._submit_s[shown]) / 3600.0).astype(np.float32)
        jobs[: len(shown), 3] = self._estimate_h[shown]
        mask = np.zeros(self.max_jobs, dtype=np.int8)
        mask[: len(shown)] = 1
        free = np.zeros(self.max_nodes, dtype=np.float32)
        f = s.free_gpus()
        free[: len(f)] = f
        return {"jobs": jobs, "job_mask": mask, "free_gpus": free, "waiting": np.array([len(waiting)], np.float32)}

    def _info(self, outcome: str, stalled: bool) -> dict:
        s = self._require()
        return {
            "time_s": s.now_s,
            "outcome": outcome,
            "stalled": stalled,
            "waiting": len(s.waiting()),
            "running": s.running,
            "allocated_gpus": s.allocated_gpus,
        }
