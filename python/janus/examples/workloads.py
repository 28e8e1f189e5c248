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
``random_dag_workload(seed)``
    A second family, farther from the first: a head stage, then a parallel
    group of 2-3 stages (or one stage) some of which fan out to 2 or 4
    instances, then a tail; two declared features, one of which drives only
    some stages weakly; a hidden per-run slowness shared by every stage
    (the machine or the input's other traits); memory that grows with the
    CPU option (so it is priced too); and profiles of 150, 300 or 1000
    requests, so some plans rest on 75 fitted requests.
``random_cold_workload(seed)``
    A third family, written to break what the first two share: **cold
    starts** (a stage's instance starts cold with some probability and
    waits a fixed delay, drawn independently at every size: the profile of
    one size shows cold starts another does not); a **hidden bimodal
    trait** (a share of requests miss a cache and do several times the work
    in most stages; nothing declared predicts it); chains of 2-7 stages;
    and, for half the members, **Lambda-style sizes** (memory options from
    128 MiB to 3008 MiB with CPU in proportion, priced on memory only).
    Profiles of 200, 400 or 1000 requests; p90, p95 or p99.

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
    fanout: int = 1  # parallel instances per run (each its own noise)
    second_exponent: float = 0.0  # dependence of the work on the second feature, if any


@dataclass
class Workload:
    """A workflow with its keyed profile and the reference latency for deadlines."""

    name: str
    workflow: janus.Workflow
    profile: janus.Profile
    reference_ms: float  # end-to-end latency at the percentile, every stage at its largest size
    description: str
    stages: list[StageModel] | list[ColdStage] = field(default_factory=list)


@dataclass(frozen=True)
class ColdStage:
    """One stage of the cold-start family (see ``random_cold_workload``)."""

    io: float  # ms of waiting, whatever the size
    work: float  # ms of CPU work at one core, for a request of x = 1
    exponent: float  # work grows as x ** exponent
    cap: float  # cores the work can use
    cache_bound: bool  # a cache miss multiplies this stage's work
    cold_p: float  # probability of a cold start, per request and size
    cold_ms: float  # its delay (1.5 times with under 512 MiB)
    noise: float  # lognormal sigma of the per-request noise


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
    layout: list[str | list[str]] | None = None,
    second: tuple[str, np.ndarray] | None = None,
    run_slowness: float = 0.0,
    memory_per_core: int | None = None,
) -> Workload:
    """Measure every stage at every size on every request, in the model.

    ``layout`` is the DAG as ``Workflow.chain`` takes it (a list element is
    a parallel group; default: the stages in order); ``second`` a second
    declared feature (name, values); ``run_slowness`` the sigma of a
    lognormal factor shared by every stage of a run; ``memory_per_core``
    gives each option memory in proportion to its CPU (default: 512 MiB).
    """
    n = len(feature)
    keys = [f"r{i}" for i in range(n)]
    names = [feature_name] + ([second[0]] if second else [])
    rows = np.stack([feature] + ([second[1]] if second else []), axis=1)
    prof = janus.Profile(names)
    wf = janus.Workflow(name, deadline_ms=1e9, percentile=percentile, features=names)
    mem = (
        (lambda c: max(128, memory_per_core * c // 1000))
        if memory_per_core
        else (lambda c: MEMORY_MIB)
    )
    options = [janus.Size(c, mem(c)) for c in cpus]
    # What drives the work: the feature itself, or (for `noisy`) a hidden trait.
    driver = feature if feature_is_informative else rng.permutation(feature)
    slow = np.exp(rng.normal(0.0, run_slowness, n)) if run_slowness > 0 else np.ones(n)
    at_largest = {}
    for s in stages:
        wf.add(s.name, options, fanout=s.fanout)
        term = driver * np.log(driver) if s.nlogn else driver
        per_request = np.exp(rng.normal(0.0, s.request_noise, (n, s.fanout)))
        for c, size in zip(cpus, options):
            io = s.io_ms + s.io_per_unit * driver
            work = s.work_ms * term**s.exponent
            if second is not None:
                work = work * second[1] ** s.second_exponent
            lat = ((io + work / _speed(c, s)) * slow)[:, None] * per_request
            lat = lat * np.exp(rng.normal(0.0, measure_noise, lat.shape))
            # One sample per instance, all under the request's key.
            prof.add(
                s.name, size, lat.reshape(-1),
                keys=np.repeat(keys, s.fanout).tolist(), features=np.repeat(rows, s.fanout, axis=0),
            )  # fmt: skip
            if c == cpus[-1]:
                at_largest[s.name] = lat.max(axis=1)
    layout = layout or [s.name for s in stages]
    wf.chain(*layout)
    ref = reference_ms(at_largest, layout, percentile)
    return Workload(name, wf, prof, ref, description, stages)


def reference_ms(
    at_largest: dict[str, np.ndarray], layout: list[str | list[str]], percentile: float
) -> float:
    """The end-to-end latency at the percentile with every stage at its
    largest size: per request, the stages of ``layout`` in sequence (a
    parallel group: its slowest), from each stage's latency there."""
    e2e = sum(
        np.max([at_largest[x] for x in step], axis=0)
        if isinstance(step, list)
        else at_largest[step]
        for step in layout
    )
    return float(janus.quantile(e2e, percentile))


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


def random_dag_workload(seed: int, n: int | None = None) -> Workload:
    """One member of the DAG family (see the module doc), every parameter
    drawn from ``seed``; ``n`` requests (default: 150, 300 or 1000, drawn)."""
    rng = np.random.default_rng(20_000 + seed)
    drawn_n = int(rng.choice([150, 300, 1000]))
    middle = [["a", "b"], ["a", "b", "c"], ["a"]][int(rng.integers(0, 3))]
    layout: list[str | list[str]] = ["head", middle if len(middle) > 1 else middle[0], "tail"]
    cpus = [[250, 500, 1000, 2000], [250, 500, 750, 1000], [500, 1000, 1500, 2000, 3000]][
        int(rng.integers(0, 3))
    ]
    memory_per_core = int(rng.choice([256, 1024, 2048]))
    percentile = float(rng.choice([0.9, 0.95, 0.99]))
    sigma = float(rng.uniform(0.3, 1.0))
    slowness = float(rng.choice([0.0, 0.1, 0.2]))
    stages = [
        StageModel(
            name,
            io_ms=float(rng.uniform(0, 80)),
            work_ms=float(rng.uniform(20, 200)),
            exponent=float(rng.choice([0.0, 0.3, 0.7, 1.0])),
            second_exponent=float(rng.choice([0.0, 0.0, 0.3])),
            cap=float(rng.choice([1.0, 2.0])),
            alpha=float(rng.uniform(0.6, 1.0)),
            request_noise=float(rng.uniform(0.05, 0.3)),
            fanout=int(rng.choice([1, 1, 2, 4])) if name in middle else 1,
        )
        for name in ["head", *middle, "tail"]
    ]
    n = n or drawn_n
    x = np.exp(rng.normal(0.0, sigma, n))
    z = np.exp(rng.normal(0.0, 0.5, n))
    fan = [s.fanout for s in stages]
    return build(
        f"dag{seed}", stages, cpus, x, "x", rng, percentile=percentile, layout=layout,
        second=("z", z), run_slowness=slowness, memory_per_core=memory_per_core,
        description=f"head -> {middle} -> tail, fan-out {fan}; CPU options {cpus}, "
        f"{memory_per_core} MiB per core; x lognormal sigma {sigma:.2f}, z weak; "
        f"run slowness sigma {slowness:g}; p{100 * percentile:g}",
    )  # fmt: skip


def random_cold_workload(seed: int, n: int | None = None, cold_starts: bool = True) -> Workload:
    """One member of the cold-start family (see the module doc), every
    parameter drawn from ``seed``; ``n`` requests (default: 200, 400 or
    1000, drawn). ``cold_starts=False`` gives the same member with every
    cold start's delay left out (the same draws otherwise): what the
    oracle's room owes to knowing which request starts cold at which size."""
    # Parameters and samples come from two streams, so that a member's
    # parameters do not depend on how many requests are drawn.
    rng = np.random.default_rng(10_000 + seed)
    draw = np.random.default_rng([10_000 + seed, 1])
    k = int(rng.integers(2, 8))
    percentile = float(rng.choice([0.9, 0.95, 0.99]))
    drawn_n = int(rng.choice([200, 400, 1000]))
    n = n or drawn_n
    lambda_like = bool(rng.random() < 0.5)
    if lambda_like:
        # Lambda: CPU in proportion to memory (one vCPU at 1769 MiB), memory priced.
        options = [
            janus.Size(max(50, m * 1000 // 1769), m) for m in (128, 256, 512, 1024, 1769, 3008)
        ]
        cost_model = janus.CostModel.memory_only()
    else:
        options = [janus.Size(c, MEMORY_MIB) for c in (250, 500, 1000, 2000)]
        cost_model = janus.CostModel()
    sigma = float(rng.uniform(0.2, 1.2))
    miss_share, miss_factor = float(rng.uniform(0.0, 0.4)), float(rng.uniform(2.0, 6.0))
    stages = [
        ColdStage(
            io=float(rng.uniform(5, 100)),
            work=float(rng.uniform(20, 400)),
            exponent=float(rng.choice([0.0, 0.5, 1.0, 1.5])),
            cap=float(rng.choice([1.0, 1.0, 2.0])),
            cache_bound=bool(rng.random() < 0.6),
            cold_p=float(rng.uniform(0.0, 0.15)),
            cold_ms=float(rng.uniform(100, 1500)),
            noise=float(rng.uniform(0.05, 0.4)),
        )
        for _ in range(k)
    ]
    x = np.exp(draw.normal(0.0, sigma, n))
    cache_miss = np.where(draw.random(n) < miss_share, miss_factor, 1.0)
    name = f"cold{seed}"
    wf = janus.Workflow(
        name, deadline_ms=1e9, percentile=percentile, cost_model=cost_model, features=["x"]
    )
    prof = janus.Profile(["x"])
    keys = [f"r{i}" for i in range(n)]
    names = [f"s{i}" for i in range(k)]
    e2e_at_largest = np.zeros(n)
    for stage, st in zip(names, stages):
        wf.add(stage, options)
        hidden = cache_miss if st.cache_bound else 1.0
        per_request = np.exp(draw.normal(0.0, st.noise, n))
        for size in options:
            speed = min(size.cpu_millis / 1000.0, st.cap) ** 0.9
            lat = (st.io + st.work * x**st.exponent * hidden / speed) * per_request
            # A cold start: drawn per (request, size), slower to start with little memory.
            cold = (draw.random(n) < st.cold_p) & cold_starts
            lat = lat + np.where(cold, st.cold_ms * (1.5 if size.memory_mib < 512 else 1.0), 0.0)
            lat = lat * np.exp(draw.normal(0.0, 0.03, n))
            prof.add(stage, size, lat, keys=keys, features=x[:, None])
            if size is options[-1]:
                e2e_at_largest += lat
    wf.chain(*names)
    sizes = (
        "Lambda memory sizes 128-3008 MiB, memory priced"
        if lambda_like
        else "CPU options 250m-2000m"
    )
    return Workload(
        name,
        wf,
        prof,
        janus.quantile(e2e_at_largest, percentile),
        f"{k} stages; {sizes}; x lognormal sigma {sigma:.2f}; cache misses {100 * miss_share:.0f} % "
        f"x{miss_factor:.1f}; p{100 * percentile:g}",
        stages,
    )


NAMED = {"pipeline": pipeline, "graph": graph, "noisy": noisy}
