"""Synthetic workloads with documented latency models, for evaluating Janus on
held-out requests (``examples/results.py``, the tests).

Each model draws ``n`` requests, gives each a request feature and measures,
in the model, every stage at every size on that request: a *keyed* profile,
exactly what ``janus.runtime.profile_workflow`` records for real functions.
Splitting such a profile by request and replaying the held-out half is the
honest replay of issue 7: no coupling is invented, every held-out request is
one execution with its own latency at every stage and size.

The models are deliberately simple, and each says what it stands for:

``pipeline``
    An input-driven pipeline (the issue's workload 1): three stages of I/O
    wait plus CPU work, the first stage's work in proportion to a lognormal
    payload size, the later stages weakly dependent on it; 8 CPU options
    from 250m to 2000m; p95.
``graph``
    A chain of three graph-analytics-like stages whose work grows as
    ``nodes * log(nodes)`` (a little faster for the last) and whose loading
    part waits on I/O in proportion to ``nodes``; single-threaded, 4 CPU
    options 250m-1000m; p95.
``noisy``
    Run time that the feature does not predict: heavy-tailed (lognormal,
    sigma 0.5) CPU work per stage, independent of the declared feature.
    Conditioning cannot help; only the remaining budget can.
``random_workload(seed)``
    A family: the number of stages (2-5), each stage's I/O share, work,
    dependence on the feature, parallelism and noise, and the size options
    are all drawn from ``seed``. It is how results are checked on workloads
    no one tuned Janus for.

Every model shares one speed law: a stage with ``c`` millicores runs its CPU
work at ``min(c / 1000, cap) ** alpha`` of one core (``cap`` cores usable,
``alpha`` < 1 for sublinear scaling), and its I/O wait does not depend on
``c``; each request has a per-stage multiplicative noise (the input's other
traits) and each measurement a small one (the machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import janus

MEMORY_MIB = 512


@dataclass(frozen=True)
class StageModel:
    """One stage: ``io_ms + io_per_unit * f + work_ms * term(f) ** exponent / speed``."""

    name: str
    io_ms: float
    work_ms: float
    exponent: float  # dependence on the request feature (0 = none)
    cap: float = 1.0  # cores the CPU part can use
    alpha: float = 1.0  # speed-up exponent below the cap
    request_noise: float = 0.10  # sigma of the per-request lognormal factor
    nlogn: bool = False  # term(f) = f * log(f) instead of f
    io_per_unit: float = 0.0  # I/O wait per unit of the feature (e.g. loading a graph)


@dataclass
class Workload:
    """A workflow with its keyed profile and the reference latency for deadlines."""

    name: str
    workflow: janus.Workflow
    profile: janus.Profile
    reference_ms: float  # end-to-end latency at the percentile, every stage at its largest size
    description: str
    stages: list[StageModel] = field(default_factory=list)


def _speed(cpu_millis: float, s: StageModel) -> float:
    return float(min(cpu_millis / 1000.0, s.cap) ** s.alpha)


def build(
    name: str,
    stages: list[StageModel],
    cpus: list[int],
    feature: np.ndarray,
    feature_name: str,
    rng: np.random.Generator,
    *,
    percentile: float = 0.95,
    measure_noise: float = 0.03,
    description: str = "",
    feature_is_informative: bool = True,
) -> Workload:
    """Measure every stage at every size on every request, in the model."""
    n = len(feature)
    keys = [f"r{i}" for i in range(n)]
    prof = janus.Profile([feature_name])
    wf = janus.Workflow(name, deadline_ms=1e9, percentile=percentile, features=[feature_name])
    options = [janus.Size(c, MEMORY_MIB) for c in cpus]
    # What drives the work: the feature itself, or (for `noisy`) a hidden trait.
    driver = feature if feature_is_informative else rng.permutation(feature)
    e2e_max = np.zeros(n)
    for s in stages:
        wf.add(s.name, options)
        term = driver * np.log(driver) if s.nlogn else driver
        per_request = np.exp(rng.normal(0.0, s.request_noise, n))
        for c in cpus:
            io = s.io_ms + s.io_per_unit * driver
            lat = (io + s.work_ms * term**s.exponent / _speed(c, s)) * per_request
            lat = lat * np.exp(rng.normal(0.0, measure_noise, n))
            prof.add(s.name, janus.Size(c, MEMORY_MIB), lat, keys=keys, features=feature)
            if c == cpus[-1]:
                e2e_max += lat
    wf.chain(*[s.name for s in stages])
    ref = janus.quantile(e2e_max, percentile)
    return Workload(name, wf, prof, ref, description, stages)


def pipeline(n: int = 1000, seed: int = 0) -> Workload:
    """The input-driven pipeline (issue 7's workload 1)."""
    rng = np.random.default_rng(seed)
    size_mb = 4.0 * np.exp(rng.normal(0.0, 0.8, n))
    stages = [
        StageModel("ingest", io_ms=30, work_ms=60, exponent=1.0, cap=2.0, alpha=0.9),
        StageModel("analyse", io_ms=20, work_ms=80, exponent=0.5, cap=2.0, alpha=0.8),
        StageModel("publish", io_ms=40, work_ms=40, exponent=0.2, cap=1.0),
    ]
    cpus = [250, 500, 750, 1000, 1250, 1500, 1750, 2000]
    return build(
        "pipeline", stages, cpus, size_mb, "size_mb", rng,
        description="3 stages of I/O + CPU work driven by a lognormal payload size; "
        "8 CPU options 250m-2000m; p95",
    )  # fmt: skip


def graph(n: int = 1000, seed: int = 0) -> Workload:
    """Graph-analytics-like chain: work ~ nodes log nodes, single-threaded."""
    rng = np.random.default_rng(seed)
    nodes = rng.integers(1000, 30000, n).astype(float)
    stages = [
        StageModel("load", 0, 1e-3, 1.0, nlogn=True, io_per_unit=6e-3),
        StageModel("rank", 0, 2e-3, 1.0, nlogn=True, io_per_unit=3e-3),
        StageModel("cluster", 0, 0.5e-3, 1.15, nlogn=True, io_per_unit=4e-3),
    ]
    return build(
        "graph", stages, [250, 500, 750, 1000], nodes, "nodes", rng,
        description="3 single-threaded graph stages: loading waits ~ nodes, work ~ "
        "nodes log nodes; 4 CPU options 250m-1000m; p95",
    )  # fmt: skip


def noisy(n: int = 1000, seed: int = 0) -> Workload:
    """Heavy-tailed run times the declared feature does not predict."""
    rng = np.random.default_rng(seed)
    feature = np.exp(rng.normal(0.0, 0.5, n))
    stages = [
        StageModel(f"step{i}", io_ms=io, work_ms=w, exponent=1.0, cap=cap, alpha=0.85)
        for i, (io, w, cap) in enumerate([(20, 120, 2.0), (50, 60, 1.0), (10, 200, 2.0)])
    ]
    return build(
        "noisy", stages, [250, 500, 1000, 1500, 2000], feature, "hidden", rng,
        description="3 stages with lognormal (sigma 0.5) CPU work the declared feature "
        "does not predict; 5 CPU options 250m-2000m; p95",
        feature_is_informative=False,
    )  # fmt: skip


def random_workload(seed: int, n: int = 1000) -> Workload:
    """One member of a family of workloads, every parameter drawn from ``seed``."""
    rng = np.random.default_rng(10_000 + seed)
    k = int(rng.integers(2, 6))
    stages = [
        StageModel(
            f"f{i}",
            io_ms=float(rng.uniform(0, 80)),
            work_ms=float(rng.uniform(20, 200)),
            exponent=float(rng.choice([0.0, 0.3, 0.7, 1.0])),
            cap=float(rng.choice([1.0, 2.0])),
            alpha=float(rng.uniform(0.6, 1.0)),
            request_noise=float(rng.uniform(0.05, 0.3)),
        )
        for i in range(k)
    ]
    grids = [[250, 500, 1000, 2000], [250, 500, 750, 1000], [500, 1000, 1500, 2000, 3000]]
    cpus = grids[int(rng.integers(0, len(grids)))]
    sigma = float(rng.uniform(0.3, 1.0))
    percentile = float(rng.choice([0.9, 0.95, 0.99]))
    # Parameters first, then the n-dependent draws: the workload is the same for any n.
    feature = np.exp(rng.normal(0.0, sigma, n))
    return build(
        f"random{seed}", stages, cpus, feature, "x", rng, percentile=percentile,
        description=f"{k} stages drawn from seed {seed}; CPU options {cpus}; "
        f"feature lognormal sigma {sigma:.2f}; p{100 * percentile:g}",
    )  # fmt: skip


NAMED = {"pipeline": pipeline, "graph": graph, "noisy": noisy}
