"""Phalanx from Python: replay GPU cluster traces through Phalanx's Rust scheduling core.

The speed of the Rust core, the convenience of pandas::

    import phalanx
    trace = phalanx.Trace.from_pandas(df)            # or phalanx.read_trace(path, format="philly")
    cluster = phalanx.Cluster.from_openb("traces/alibaba-openb/openb_node_list_gpu_node.csv")
    run = phalanx.simulate(trace, cluster, queue="sjf", placement="bestfit")
    run.summary["avg_jct_s"], run.jobs.head(), run.timeseries

Policies can be Python functions (``queue=key_fn``, ``placement=score_fn``); see :func:`simulate`.
Everything heavy happens in the private native module ``phalanx._native`` with the GIL released; tables
cross as Arrow record batches.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _native
from ._native import DemandInfo, JobInfo, NodeInfo

__version__ = _native.__version__

__all__ = [
    "Cluster",
    "Comparison",
    "PackResult",
    "DemandInfo",
    "JobInfo",
    "NodeInfo",
    "Policy",
    "Result",
    "Trace",
    "compare",
    "pack",
    "read_trace",
    "simulate",
    "sweep",
]


def __getattr__(name: str) -> Any:
    # `phalanx.gym` needs gymnasium, an optional dependency: imported on first use.
    if name == "gym":
        import importlib

        return importlib.import_module(".gym", __name__)
    raise AttributeError(f"module 'phalanx' has no attribute {name!r}")


def _to_pandas(batch: Any) -> pd.DataFrame:
    """An Arrow record batch from the native module (``__arrow_c_array__``) as a DataFrame."""
    return pa.record_batch(batch).to_pandas()


def _column(df: pd.DataFrame, name: str, kind: str, default: Any, required: bool = False) -> list:
    """Column ``name`` of ``df`` as a list of ``kind`` ("int", "float", "str"), or ``default`` repeated."""
    n = len(df)
    if name not in df.columns:
        if required:
            raise ValueError(f"{name}: missing column (the columns are {', '.join(map(str, df.columns))})")
        return [default] * n
    values = df[name]
    if kind == "str":
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise ValueError(f"{name}: row {row}: missing value")
        return values.astype(str).tolist()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers, found values of type {values.dtype}") from None
    if kind == "float":
        return arr.tolist()
    bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
    if len(bad):
        row = int(bad[0])
        raise ValueError(f"{name}: row {row}: expected a whole number, found {arr[row]}")
    return arr.astype(np.int64).tolist()


def read_trace(
    path: Union[str, os.PathLike],
    format: str = "native",
    estimates: str = "none",
    *,
    vcs: Union[str, os.PathLike, None] = None,
    profiles: Union[str, os.PathLike, None] = None,
    jobs: Optional[int] = None,
    seed: Optional[int] = None,
    jobs_per_hour: Optional[float] = None,
) -> "Trace":
    """Reads a trace file, as the command line's ``--trace PATH --format FORMAT`` does.

    ``format``: ``"philly"`` (Microsoft Philly ``philly.csv``, all jobs), ``"helios"`` (Philly with the
    Helios experiment's job selection; needs ``vcs``, the ``philly_vc.csv`` table), ``"itp"`` (Microsoft ITP
    ``clusterNN.csv``), ``"openb"`` (Alibaba openb pod list replayed in time), ``"pollux"`` (Pollux
    ``workload-N.csv``; ``profiles`` defaults to ``traces/pollux/profiles``), ``"native"`` (Phalanx JSON
    Lines) or ``"synthetic"`` (the seeded generator: ``jobs``, ``seed``, ``jobs_per_hour``; ``path`` unused).
    ``estimates="oracle"`` gives the scheduler each job's true duration (what SJF and SRTF need).
    What a reader leaves out on purpose is said in ``trace.report``.
    """
    return Trace(
        _native.read_trace(
            os.fspath(path),
            format,
            estimates,
            None if vcs is None else os.fspath(vcs),
            None if profiles is None else os.fspath(profiles),
            jobs,
            seed,
            jobs_per_hour,
        )
    )


class Trace:
    """The jobs of a trace, sorted by submission time (stable). Job ids are positions in that order.

    Build one with :func:`read_trace` or :meth:`from_pandas`; look at it with :meth:`to_pandas`.
    """

    def __init__(self, native: _native.Trace):
        self._native = native

    @classmethod
    def from_pandas(cls, df: pd.DataFrame, name: str = "dataframe", estimates: Optional[str] = None) -> "Trace":
        """A trace with one job per row.

        Columns (times in seconds): ``submit_s``, ``duration_s`` and ``gpus`` (GPU devices per task) are
        required; optional are ``tasks`` (a gang of identical tasks, default 1), ``gpu_milli`` (share of each
        device, default 1000 for GPU tasks), ``cpu_milli``, ``memory_mib`` (default 0), ``gpu_model`` (allowed
        models separated by ``|``, default any), ``queue`` (default ``"default"``), ``priority`` (default 0)
        and ``estimate_s`` (the runtime estimate the scheduler sees; missing: none). Other columns are ignored.
        ``estimates="oracle"`` gives every job without an estimate its true duration.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
        if estimates not in (None, "none", "oracle"):
            raise ValueError(f"estimates: expected None, 'none' or 'oracle', found {estimates!r}")
        gpus = _column(df, "gpus", "int", 0, required=True)
        gpu_milli = _column(df, "gpu_milli", "int", None)
        gpu_milli = [(1000 if g > 0 else 0) if m is None else m for g, m in zip(gpus, gpu_milli)]
        duration = _column(df, "duration_s", "float", None, required=True)
        estimate = _column(df, "estimate_s", "float", float("nan"))
        if estimates == "oracle":
            estimate = [d if e != e else e for d, e in zip(duration, estimate)]
        native = _native.Trace.from_columns(
            name,
            _column(df, "submit_s", "float", None, required=True),
            duration,
            _column(df, "tasks", "int", 1),
            gpus,
            gpu_milli,
            _column(df, "cpu_milli", "int", 0),
            _column(df, "memory_mib", "int", 0),
            _column(df, "gpu_model", "str", ""),
            _column(df, "queue", "str", "default"),
            _column(df, "priority", "int", 0),
            estimate,
        )
        return cls(native)

    def to_pandas(self) -> pd.DataFrame:
        """One row per job: job, origin, queue, priority, submit_s, duration_s, estimate_s, tasks, gpus."""
        return _to_pandas(self._native.to_batch())

    def take(self, indices: Iterable[int]) -> "Trace":
        """The jobs at ``indices`` (ascending positions) as a new trace, e.g. ``trace.take(range(1000))``."""
        return Trace(self._native.take([int(i) for i in indices]))

    def head(self, n: int) -> "Trace":
        """The first ``n`` jobs."""
        return self.take(range(min(int(n), len(self))))

    @property
    def name(self) -> str:
        """The trace's name."""
        return self._native.name

    @property
    def report(self) -> Optional[str]:
        """What the reader left out on purpose (e.g. the Helios window), if anything."""
        return self._native.report

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        return repr(self._native)

    def __reduce__(self):
        return (Trace, (self._native,))


class Cluster:
    """The nodes of a cluster: :meth:`from_openb`, :meth:`from_pandas`."""

    def __init__(self, native: _native.Cluster):
        self._native = native

    @classmethod
    def from_openb(cls, path: Union[str, os.PathLike]) -> "Cluster":
        """An Alibaba openb node list (``sn,cpu_milli,memory_mib,gpu,model``)."""
        return cls(_native.Cluster.from_openb(os.fspath(path)))

    @classmethod
    def from_spec(cls, spec: str) -> "Cluster":
        """A compact spec: pools ``COUNTxGPUS:vendor/model`` separated by commas, e.g.
        ``"64x8:nvidia/V100,16x4:huawei/Ascend910B"``, as the command line's ``--cluster``."""
        return cls(_native.Cluster.from_spec(spec))

    @classmethod
    def from_philly_vcs(cls, path: Union[str, os.PathLike], gpu_model: str = "nvidia/P100") -> "Cluster":
        """One cluster of 8-GPU nodes per Philly virtual cluster (``philly_vc.csv``: ``vc,node num``), as the
        Helios experiment and the command line's default: a simulation then runs each VC's jobs (the trace's
        queues) on that VC's nodes, and its summary covers all VCs' jobs together."""
        return cls(_native.Cluster.from_philly_vcs(os.fspath(path), gpu_model))

    @property
    def queues(self) -> List[str]:
        """The queues (virtual clusters) with nodes of their own; empty for one shared cluster."""
        return self._native.queues

    @classmethod
    def from_pandas(cls, df: pd.DataFrame) -> "Cluster":
        """A cluster with one node per row: ``gpus`` and ``gpu_model`` (``vendor/name``; empty for CPU-only
        nodes) required; ``name`` (default ``n0``, ``n1`` …), ``cpu_milli`` and ``memory_mib`` (default 0:
        the nodes then only hold tasks that ask for no CPU or memory) optional; ``count`` repeats a row
        (names get ``-0``, ``-1`` … appended)."""
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
        gpus = _column(df, "gpus", "int", 0, required=True)
        model = _column(df, "gpu_model", "str", "", required=True)
        names = _column(df, "name", "str", None)
        names = [f"n{i}" if n is None else n for i, n in enumerate(names)]
        cpu = _column(df, "cpu_milli", "int", 0)
        mem = _column(df, "memory_mib", "int", 0)
        if "count" in df.columns:
            counts = _column(df, "count", "int", 1)
            cols: Tuple[list, ...] = ([], [], [], [], [])
            for row, c in enumerate(counts):
                if c < 0:
                    raise ValueError(f"count: row {row}: expected a whole number ≥ 0, found {c}")
                for k in range(c):
                    for col, v in zip(cols, (f"{names[row]}-{k}", gpus[row], model[row], cpu[row], mem[row])):
                        col.append(v)
            names, gpus, model, cpu, mem = cols
        return cls(_native.Cluster.from_columns(names, gpus, model, cpu, mem))

    def to_pandas(self) -> pd.DataFrame:
        """One row per node: node, name, gpus, gpu_model, cpu_milli, memory_mib."""
        return _to_pandas(self._native.to_batch())

    @property
    def gpus(self) -> int:
        """GPU devices over all nodes."""
        return self._native.gpus

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        return repr(self._native)


def _trace(trace: Any) -> _native.Trace:
    if isinstance(trace, Trace):
        return trace._native
    if isinstance(trace, pd.DataFrame):
        return Trace.from_pandas(trace)._native
    raise TypeError(f"trace: expected a phalanx.Trace or a pandas DataFrame, got {type(trace).__name__}")


def _cluster(cluster: Any) -> _native.Cluster:
    if isinstance(cluster, Cluster):
        return cluster._native
    if isinstance(cluster, pd.DataFrame):
        return Cluster.from_pandas(cluster)._native
    raise TypeError(f"cluster: expected a phalanx.Cluster or a pandas DataFrame, got {type(cluster).__name__}")


class Result:
    """One simulation: ``.summary`` (dict), ``.jobs`` and ``.timeseries`` (DataFrames, built on first use).

    ``summary`` has the fields of the command line's ``summary.json`` (for a per-VC cluster: all VCs' jobs
    together, the ``-all`` row of ``summary.csv``). ``jobs`` has ``vc`` (``"all"`` on one shared cluster)
    and the columns of ``jobs.csv``: job, origin, queue, submit_s, start_s, end_s, jct_s, queue_s, gpus,
    nodes, preemptions, outcome, reason (missing times are NaN). ``timeseries``: vc, time_s,
    gpus_allocated, gpu_utilization, running, queued.
    """

    def __init__(self, run: Any):
        self._run = run
        self.policy: str = run.policy
        self.seed: int = run.seed
        #: Calls into Python policy functions (0 for built-in policies).
        self.python_calls: int = run.python_calls
        #: Seconds the simulation itself took, without the conversions to pandas.
        self.sim_seconds: float = run.sim_seconds
        self.summary: Dict[str, Union[int, float]] = json.loads(run.summary_json())
        self._jobs: Optional[pd.DataFrame] = None
        self._timeseries: Optional[pd.DataFrame] = None

    @property
    def jobs(self) -> pd.DataFrame:
        if self._jobs is None:
            self._jobs = _to_pandas(self._run.jobs())
        return self._jobs

    @property
    def timeseries(self) -> pd.DataFrame:
        if self._timeseries is None:
            self._timeseries = _to_pandas(self._run.timeseries())
        return self._timeseries

    def __getstate__(self) -> dict:
        # Pickled (to another process) as plain data: the tables are built first.
        state = {k: v for k, v in self.__dict__.items() if k != "_run"}
        state["_jobs"], state["_timeseries"] = self.jobs, self.timeseries
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._run = None

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"Result(policy={self.policy!r}, jobs={s['jobs_submitted']}, finished={s['jobs_finished']}, "
            f"avg_jct_s={s['avg_jct_s']:.1f})"
        )


def simulate(
    trace: Union[Trace, pd.DataFrame],
    cluster: Union[Cluster, pd.DataFrame],
    queue: Union[str, Callable[[JobInfo], Any]] = "fifo",
    placement: Union[str, Callable[[DemandInfo, NodeInfo], float]] = "bestfit",
    seed: int = 0,
    *,
    head_of_line: str = "block",
    checkpoint: str = "helios",
    sample_every_s: int = 60,
    preemptive: bool = False,
    threads: Optional[int] = None,
) -> Result:
    """Replays ``trace`` on ``cluster`` through the scheduling core, as ``phalanx`` does on the command line.

    - ``queue``: ``"fifo"``, ``"priority"``, ``"sjf"``, ``"srtf"`` (preemptive), or a Python key function
      ``key(job: JobInfo) -> number | (number, number)``: smaller keys start first, ties keep submission
      order. With ``preemptive=True`` keys are recomputed at every scheduling pass for waiting and running
      jobs, and running jobs are stopped for jobs ahead of them (as ``"srtf"``).
    - ``placement``: ``"firstfit"``, ``"bestfit"``, ``"worstfit"``, ``"consolidate"``, or a Python scoring
      function ``score(demand: DemandInfo, node: NodeInfo) -> number``, called for every schedulable node with
      room for ``demand.tasks`` tasks: the highest score wins, ties go to the lowest node id, ``-inf`` refuses.
    - ``head_of_line``: ``"block"`` (strict order) or ``"skip"`` (later jobs that fit go ahead).
    - ``checkpoint``: cost of a preemption, ``"helios"`` (7 s / 30 s / 60 s) or ``"none"``.
    - ``sample_every_s``: time-series sampling interval in whole seconds (0: none). ``seed`` is recorded
      with the result (the built-in policies are deterministic).
    - On a per-VC cluster (:meth:`Cluster.from_philly_vcs`) each VC runs on its own nodes, on ``threads``
      threads for built-in policies (default: one per CPU), as on the command line.

    An exception raised by a Python policy stops the run and is raised here.
    """
    key = queue if callable(queue) else None
    score = placement if callable(placement) else None
    if key is None and not isinstance(queue, str):
        raise TypeError(f"queue: expected a policy name or a function, got {type(queue).__name__}")
    if score is None and not isinstance(placement, str):
        raise TypeError(f"placement: expected a policy name or a function, got {type(placement).__name__}")
    run = _native.simulate(
        _trace(trace),
        _cluster(cluster),
        "fifo" if key else queue,
        "bestfit" if score else placement,
        head_of_line,
        checkpoint,
        int(sample_every_s),
        int(seed),
        key,
        score,
        bool(preemptive),
        int(threads or os.cpu_count() or 1),
    )
    return Result(run)


@dataclass(frozen=True)
class Policy:
    """A built-in policy for :func:`compare` and :func:`sweep` (the ``[[policies]]`` of an experiment)."""

    name: str
    queue: str = "fifo"
    placement: str = "bestfit"
    head_of_line: str = "block"
    checkpoint: str = "helios"


def _policy(p: Union[str, Policy, Mapping[str, str]], placement: str) -> Policy:
    if isinstance(p, Policy):
        return p
    if isinstance(p, str):
        return Policy(name=p, queue=p, placement=placement)
    if isinstance(p, Mapping):
        fields = dict(p)
        fields.setdefault("name", fields.get("queue", "fifo"))
        fields.setdefault("placement", placement)
        try:
            return Policy(**fields)
        except TypeError as e:
            raise ValueError(f"policies: {e}") from None
    raise TypeError(f"policies: expected names, Policy objects or dicts, got {type(p).__name__}")


class Comparison(dict):
    """Results by policy name (a dict), with ``.summary``: one row per policy, the columns of
    ``summary.csv``."""

    @property
    def summary(self) -> pd.DataFrame:
        rows = [{"policy": name, **r.summary} for name, r in self.items()]
        return pd.DataFrame(rows).set_index("policy")


def compare(
    trace: Union[Trace, pd.DataFrame],
    cluster: Union[Cluster, pd.DataFrame],
    policies: Sequence[Union[str, Policy, Mapping[str, str]]] = ("fifo", "sjf", "srtf"),
    placement: str = "bestfit",
    seed: int = 0,
    *,
    threads: Optional[int] = None,
    sample_every_s: int = 60,
) -> Comparison:
    """Runs several built-in policies on one trace and cluster in parallel (Rust threads), as the command
    line's experiments do. ``policies``: queue-order names (with ``placement``), :class:`Policy` objects, or
    dicts of their fields."""
    ps = [_policy(p, placement) for p in policies]
    runs = _native.compare(
        _trace(trace),
        _cluster(cluster),
        [(p.name, p.queue, p.placement, p.head_of_line, p.checkpoint) for p in ps],
        int(threads or os.cpu_count() or 1),
        int(sample_every_s),
        int(seed),
    )
    return Comparison((p.name, Result(r)) for p, r in zip(ps, runs))


#: The FGD paper's six packing policies, in the paper's order.
PACK_POLICIES = ("random", "dotprod", "clustering", "packing", "bestfit", "fgd")


@dataclass
class PackResult:
    """What :func:`pack` produced: the command line's ``summary.csv`` and ``runs.csv`` as DataFrames."""

    #: Per workload × policy × arrived GPU %: allocated, unallocated and fragmented GPU % over the seeds.
    summary: pd.DataFrame
    #: One row per workload × policy × seed.
    runs: pd.DataFrame

    def unallocated(self, arrive_pct: int = 100) -> pd.DataFrame:
        """Unallocated GPU % (mean over seeds) at ``arrive_pct`` arrived, one row per workload and one
        column per policy: the paper's headline table."""
        at = self.summary[self.summary["arrive_pct"] == arrive_pct]
        return at.pivot(index="workload", columns="policy", values="unalloc_gpu_pct_mean")


def pack(
    pods: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]] = "traces/alibaba-openb/openb_pod_list_default.csv",
    nodes: Union[str, os.PathLike] = "traces/alibaba-openb/openb_node_list_gpu_node.csv",
    policies: Union[str, Sequence[str]] = "all",
    seeds: Iterable[int] = range(42, 52),
    inflate: float = 1.3,
    *,
    threads: Optional[int] = None,
) -> PackResult:
    """The FGD paper's packing experiment, as ``phalanx pack`` runs it: pods of each openb pod list arrive
    in a seeded order until ``inflate`` × the cluster's GPU capacity has arrived, none leaves, and each
    placement policy (``"all"`` or names among random, dotprod, clustering, packing, bestfit, fgd) places
    what it can on the openb node list ``nodes``. Runs go in parallel on ``threads`` threads."""
    pod_lists = [pods] if isinstance(pods, (str, os.PathLike)) else list(pods)
    names = list(PACK_POLICIES) if policies == "all" else ([policies] if isinstance(policies, str) else list(policies))
    summary, runs = _native.pack(
        os.fspath(nodes),
        [os.fspath(p) for p in pod_lists],
        names,
        [int(s) for s in seeds],
        float(inflate),
        int(threads or os.cpu_count() or 1),
    )
    return PackResult(_to_pandas(summary), _to_pandas(runs))


def _sweep_one(config: Mapping[str, Any]) -> Result:
    return simulate(**config)


def sweep(
    configs: Sequence[Mapping[str, Any]],
    backend: str = "local",
    *,
    processes: Optional[int] = None,
) -> List[Result]:
    """Many simulations in parallel: each config is the keyword arguments of :func:`simulate` (``trace``,
    ``cluster``, ``queue`` …). Results come back in config order.

    - ``backend="local"``: a pool of ``processes`` worker processes on this machine (default: one per CPU).
    - ``backend="ray"``: one Ray task per config on the Ray cluster this process is connected to
      (``ray.init(...)`` first; a local one is started if none is).

    Traces, clusters and policy functions travel to the workers by pickle (policy functions must be
    importable module-level functions, not lambdas).
    """
    configs = [dict(c) for c in configs]
    for i, c in enumerate(configs):
        for field in ("trace", "cluster"):
            if field not in c:
                raise ValueError(f"configs[{i}]: missing `{field}`")
    if backend == "local":
        import concurrent.futures
        import multiprocessing

        if not configs:
            return []
        workers = min(len(configs), int(processes or os.cpu_count() or 1))
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            return list(pool.map(_sweep_one, configs))
    if backend == "ray":
        try:
            import ray
        except ImportError:
            raise ImportError("backend='ray' needs the ray package: pip install 'ray>=2.9'") from None
        if not ray.is_initialized():
            ray.init()
        remote = ray.remote(_sweep_one)
        return ray.get([remote.remote(c) for c in configs])
    raise ValueError(f"backend: expected 'local' or 'ray', found {backend!r}")
