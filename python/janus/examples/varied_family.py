"""A fifth family of workloads: cost shapes where bigger is cheaper, very long
and very short chains, very many and very few sizes, rich request features,
partly predictable cache misses, speed plateaus and long tails
(``random_varied_workload``).

Written against the public API only (``janus.Workflow``, ``janus.Profile``,
``janus.CostModel``), without Janus's synthesis code in view, to stress
traits the first four families share little of; evaluated like the other
families: ``python examples/family_eval.py varied 0 20``. Every member draws a random subset of the traits below; each is one that
real serverless functions show:

1. **Bigger can be cheaper.** (a) Lambda-style sizes priced on memory only,
   CPU in proportion to memory (one vCPU per 1769 MiB): a stage whose work
   scales well across cores costs memory x time = about the same at every
   size, and less at large sizes once a memory-bound stage stops swapping.
   (b) Kubernetes pods with a large fixed memory (2-8 GiB, priced): the
   memory term dominates the rate, so more CPU buys speed almost for free.
   (c) Superlinear speed-up (``alpha`` > 1 below the thread cap) for a
   quarter of the CPU stages: partitions that fit the larger aggregate
   cache. (d) Memory-bound stages that swap below an input-driven working
   set (latency x ``1 + k * (need / mem - 1) ** 1.3``, capped at 25): in
   all three grids the cheapest static size is often not the smallest.
2. **Chain length.** Half the members are long chains of 6-10 small stages
   (micro-service pipelines: 2-40 ms of I/O and 10-150 ms of work each),
   the other half 1-2 big stages (a monolithic function, 0.1-3 s of work).
3. **Number of sizes.** Half the members offer 12-20 sizes (a fine memory
   slider on Lambda, a fine CPU grid, or a CPU x memory grid), the other
   half 2-3 (a platform with T-shirt sizes).
4. **Request features** (one scheme per member): a categorical request type
   with 5-10 values (skewed popularity; each type its own latency multiplier
   per stage, some stages type-blind), with a payload size half the time;
   an integer feature with heavy ties (pages 1+Poisson, or a batch size in
   {1, 2, 4, ..., 32}: many requests share a value); or two features that
   interact (image width and height: the pixel stages' work grows as
   ``(w * h) ** e``, the others on ``w`` or on nothing).
5. **Bimodal latency.** For half the members, a cache hit or miss per
   request (hit rate 50-85 %); a miss multiplies the work of the
   cache-bound stages by 3-8 and adds a 30-300 ms fetch. A declared 0/1
   feature (``warm``: the router's guess of a warm cache) agrees with the
   truth for only 60-80 % of requests.
6. **Plateaus.** Each CPU stage uses at most 1, 2, 4 or 8 cores: above
   that, more CPU gives no speed-up, so several sizes share one latency at
   different costs (and on Lambda a single-threaded stage stops speeding
   up at 1769 MiB).
7. **Long tails.** For a third of the members, some stages call a slow
   dependency for 0.5-4 % of requests, waiting a Pareto (a = 1.2-2.5)
   multiple of the stage's usual latency, capped at 40x, whatever the
   size: with p99 the SLO can be barely feasible or infeasible for static.

Model of one stage measured for one request at one size (keyed: every
request at every stage and size, one sample each)::

    lat = (io + miss_io + work * feat_mult * miss_mult / speed(cores))
          * swap_penalty(mem) * run_slowness * request_noise * invocation_noise
          + slow_dependency_wait
    speed(cores) = min(cores, threads) ** alpha

``request_noise`` (sigma 0.05-0.25) is shared across sizes, the invocation
noise (sigma 0.02-0.05) drawn per sample, the run slowness (sigma 0-0.1)
shared by a run's stages. Percentile p90, p95 or p99; 150-1000 profiled
requests (drawn per member unless ``n`` is given).

``drifted_varied_workload(seed, n, drift)`` gives the same member's first ``n``
requests as the profile and ``n`` later requests whose inputs drifted up
(continuous and integer features x ``drift``, heavier request types more
common), for a fit-on-the-past, replay-on-the-future check.
"""

from __future__ import annotations

import numpy as np

import janus
from janus.examples.workloads import Workload, reference_ms

LAMBDA_MEMS = [
    128, 192, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1769,
    2048, 2560, 3008, 3584, 4096, 5120, 6144, 8192, 10240,
]  # fmt: skip
FINE_CPUS = [
    100, 200, 250, 300, 400, 500, 600, 750, 1000, 1250, 1500, 1750, 2000,
    2500, 3000, 3500, 4000, 5000, 6000, 8000,
]  # fmt: skip
GRID_CPUS = [250, 500, 1000, 2000, 4000]
GRID_MEMS = [512, 1024, 2048, 4096]


def _sizes(rng, many: bool):
    """(grid kind, sorted sizes, cost model)."""
    kind = str(rng.choice(["lambda", "k8s_fixed", "k8s_grid"], p=[0.45, 0.3, 0.25]))
    if kind == "lambda":
        k = int(rng.integers(12, 21)) if many else int(rng.integers(2, 4))
        mems = sorted(rng.choice(LAMBDA_MEMS, size=k, replace=False).tolist())
        sizes = [janus.Size(max(1, round(m * 1000 / 1769)), int(m)) for m in mems]
        return kind, sizes, janus.CostModel.memory_only()
    if kind == "k8s_fixed":
        mem = int(rng.choice([2048, 4096, 8192]))
        k = int(rng.integers(12, 21)) if many else int(rng.integers(2, 4))
        cpus = sorted(rng.choice(FINE_CPUS, size=k, replace=False).tolist())
        return kind, [janus.Size(int(c), mem) for c in cpus], janus.CostModel()
    if many:
        nc = int(rng.integers(3, 6))
        cpus = sorted(rng.choice(GRID_CPUS, size=nc, replace=False).tolist())
        sizes = [janus.Size(int(c), int(m)) for c in cpus for m in GRID_MEMS]
    else:
        k = int(rng.integers(2, 4))
        ladder = [(250, 512), (500, 1024), (1000, 2048), (2000, 4096), (4000, 4096)]
        start = int(rng.integers(0, len(ladder) - k + 1))
        sizes = [janus.Size(c, m) for c, m in ladder[start : start + k]]
    return kind, sizes, janus.CostModel()


def _params(seed: int) -> dict:
    """Every parameter of member ``seed`` (nothing here depends on ``n``)."""
    rng = np.random.default_rng([55_555, seed])
    P: dict = {"seed": seed}
    P["p"] = float(rng.choice([0.9, 0.95, 0.99]))
    P["drawn_n"] = int(rng.integers(150, 1001))
    P["long"] = bool(rng.random() < 0.5)
    k = int(rng.integers(6, 11)) if P["long"] else int(rng.integers(1, 3))
    P["many"] = bool(rng.random() < 0.5)
    P["grid"], P["sizes"], P["cost"] = _sizes(rng, P["many"])
    P["scheme"] = str(rng.choice(["category", "int_ties", "product"]))
    P["cache"] = bool(rng.random() < 0.5)
    P["tail"] = bool(rng.random() < 0.35)
    P["slowness"] = float(rng.choice([0.0, 0.05, 0.1]))
    # Features.
    if P["scheme"] == "category":
        P["ntypes"] = int(rng.integers(5, 11))
        P["type_p"] = rng.dirichlet(np.full(P["ntypes"], 0.8))
        P["payload"] = bool(rng.random() < 0.5)
        P["payload_sigma"] = float(rng.uniform(0.3, 0.9))
    elif P["scheme"] == "int_ties":
        P["int_kind"] = str(rng.choice(["pages", "batch"]))
        P["lam"] = float(rng.uniform(0.5, 3.0))
        P["batch_p"] = rng.dirichlet(np.full(6, 1.0))
    else:
        P["w_sigma"] = float(rng.uniform(0.25, 0.6))
        P["h_sigma"] = float(rng.uniform(0.25, 0.6))
    if P["cache"]:
        P["hit_rate"] = float(rng.uniform(0.5, 0.85))
        P["hint_acc"] = float(rng.uniform(0.6, 0.8))
        P["miss_mult"] = float(rng.uniform(3.0, 8.0))
        P["miss_io"] = float(rng.uniform(30, 300))
    stages = []
    for i in range(k):
        s: dict = {"name": f"s{i}"}
        s["kind"] = str(rng.choice(["cpu", "mem", "io"], p=[0.55, 0.3, 0.15]))
        if P["long"]:
            s["io"] = float(rng.uniform(2, 40))
            s["work"] = float(np.exp(rng.uniform(np.log(10), np.log(150))))
        else:
            s["io"] = float(rng.uniform(5, 150))
            s["work"] = float(np.exp(rng.uniform(np.log(100), np.log(3000))))
        if s["kind"] == "io":
            s["io"] *= 4.0
            s["work"] *= 0.05
        s["threads"] = float(rng.choice([1, 1, 2, 4, 8]))
        s["superlinear"] = s["kind"] == "cpu" and rng.random() < 0.25
        s["alpha"] = float(rng.uniform(1.05, 1.25) if s["superlinear"] else rng.uniform(0.75, 1.0))
        # Working set in MiB: m0 + m1 * driver ** 0.7 (driver median ~1).
        s["m0"] = float(rng.uniform(60, 200))
        med = float(rng.uniform(600, 3000)) if s["kind"] == "mem" else float(rng.uniform(100, 300))
        s["m1"] = max(0.0, med - s["m0"])
        s["swap_k"] = float(rng.uniform(1.5, 5.0)) if s["kind"] == "mem" else 0.5
        s["exp"] = float(rng.choice([0.0, 0.5, 1.0, 1.0, 1.3]))
        s["req_sigma"] = float(rng.uniform(0.05, 0.25))
        s["inv_sigma"] = float(rng.uniform(0.02, 0.05))
        # Features' effect on this stage.
        if P["scheme"] == "category":
            blind = rng.random() < 0.3
            m = np.ones(P["ntypes"]) if blind else np.exp(rng.normal(0.0, 0.7, P["ntypes"]))
            s["type_mult"] = (m / np.exp(np.mean(np.log(m)))).tolist()
        elif P["scheme"] == "product":
            s["uses"] = str(rng.choice(["pixels", "pixels", "width", "none"]))
        s["cache_bound"] = P["cache"] and rng.random() < 0.6
        s["tail_p"] = float(rng.uniform(0.005, 0.04)) if P["tail"] and rng.random() < 0.5 else 0.0
        s["tail_a"] = float(rng.uniform(1.2, 2.5))
        stages.append(s)
    if P["cache"] and not any(s["cache_bound"] for s in stages):
        stages[0]["cache_bound"] = True
    if P["tail"] and not any(s["tail_p"] > 0 for s in stages):
        stages[-1]["tail_p"] = float(rng.uniform(0.005, 0.04))
    P["stages"] = stages
    return P


def _requests(P: dict, n: int, draw: np.random.Generator, drift: float = 1.0):
    """Feature names, the declared feature rows, each stage's multiplier
    (from the features) and the hidden cache-miss flags of ``n`` requests."""
    names: list[str]
    cols: list[np.ndarray]
    mults: list[np.ndarray] = []
    driver = np.ones(n)  # what grows the working set
    if P["scheme"] == "category":
        p = np.asarray(P["type_p"], dtype=float)
        if drift != 1.0:
            # Heavier request types become more common.
            heavy = np.mean([np.log(s["type_mult"]) for s in P["stages"]], axis=0)
            p = p * np.exp(np.log(drift) * 4.0 * (heavy - heavy.mean()))
            p = p / p.sum()
        t = draw.choice(P["ntypes"], size=n, p=p)
        names, cols = ["req_type"], [t.astype(float)]
        payload = np.exp(draw.normal(0.0, P["payload_sigma"], n)) * drift
        if P["payload"]:
            names.append("payload_mb")
            cols.append(payload)
            driver = payload
        for s in P["stages"]:
            m = np.asarray(s["type_mult"])[t]
            mults.append(m * (payload ** s["exp"] if P["payload"] else 1.0))
    elif P["scheme"] == "int_ties":
        if P["int_kind"] == "pages":
            v = 1.0 + draw.poisson(P["lam"] * drift, n)
            names = ["pages"]
        else:
            idx = draw.choice(6, size=n, p=P["batch_p"])
            if drift != 1.0:  # a fifth of the requests move up one batch size
                idx = np.minimum(idx + (draw.random(n) < (drift - 1.0)), 5)
            v = 2.0**idx
            names = ["batch"]
        cols = [v.astype(float)]
        # A fixed scale (not the sample's median): the same for drifted requests.
        if P["int_kind"] == "pages":
            base = 1.0 + P["lam"]
        else:
            base = float(2.0 ** np.dot(P["batch_p"], np.arange(6)))
        driver = v / base
        for s in P["stages"]:
            mults.append(driver ** s["exp"])
    else:
        w = np.exp(draw.normal(0.0, P["w_sigma"], n)) * np.sqrt(drift)
        h = np.exp(draw.normal(0.0, P["h_sigma"], n)) * np.sqrt(drift)
        names, cols = ["width", "height"], [w, h]
        driver = w * h
        for s in P["stages"]:
            if s["uses"] == "pixels":
                mults.append((w * h) ** s["exp"])
            elif s["uses"] == "width":
                mults.append(w ** s["exp"])
            else:
                mults.append(np.ones(n))
    miss = np.zeros(n, dtype=bool)
    if P["cache"]:
        miss = draw.random(n) >= P["hit_rate"]
        agree = draw.random(n) < P["hint_acc"]
        warm = np.where(agree, ~miss, miss)
        names.append("warm")
        cols.append(warm.astype(float))
    rows = np.stack(cols, axis=1)
    return names, rows, mults, driver, miss


def _measure(P: dict, n: int, draw: np.random.Generator, drift: float = 1.0):
    """The keyed profile of ``n`` requests and each stage's latency at the largest size."""
    names, rows, mults, driver, miss = _requests(P, n, draw, drift)
    sizes = P["sizes"]
    prof = janus.Profile(names)
    keys = [f"r{i}" for i in range(n)]
    slow = np.exp(draw.normal(0.0, P["slowness"], n)) if P["slowness"] > 0 else np.ones(n)
    at_largest = {}
    for s, mult in zip(P["stages"], mults):
        req = np.exp(draw.normal(0.0, s["req_sigma"], n)) * slow
        need = s["m0"] + s["m1"] * np.maximum(driver, 0.05) ** 0.7
        work = s["work"] * mult
        io = np.full(n, s["io"])
        if s["cache_bound"]:
            work = work * np.where(miss, P["miss_mult"], 1.0)
            io = io + np.where(miss, P["miss_io"], 0.0)
        # The slow dependency: drawn per request (the same call is slow at every size).
        hit = draw.random(n) < s["tail_p"]
        usual = s["io"] + s["work"]
        wait = np.where(hit, usual * np.minimum(1.0 + draw.pareto(s["tail_a"], n), 40.0), 0.0)
        for size in sizes:
            cores = size.cpu_millis / 1000.0
            speed = min(cores, s["threads"]) ** s["alpha"]
            ratio = need / size.memory_mib
            pen = np.minimum(1.0 + s["swap_k"] * np.clip(ratio - 1.0, 0.0, None) ** 1.3, 25.0)
            lat = (io + work / speed) * pen * req * np.exp(draw.normal(0.0, s["inv_sigma"], n))
            lat = np.clip(lat + wait, 0.1, 1e8)
            prof.add(s["name"], size, lat, keys=keys, features=rows)
            if size == sizes[-1]:
                at_largest[s["name"]] = lat
    return prof, names, at_largest


def _describe(P: dict, n: int) -> str:
    sz = P["sizes"]
    grid = f"{P['grid']} {len(sz)}opt {sz[0].cpu_millis}m/{sz[0].memory_mib}-{sz[-1].cpu_millis}m/{sz[-1].memory_mib}"
    feat = P["scheme"]
    if P["scheme"] == "category":
        feat += f"({P['ntypes']}{'+payload' if P['payload'] else ''})"
    elif P["scheme"] == "int_ties":
        feat += f"({P['int_kind']})"
    if P["cache"]:
        feat += f" cache(hit {P['hit_rate']:.2f}, hint {P['hint_acc']:.2f}, x{P['miss_mult']:.1f})"
    st = ",".join(
        s["kind"][0]
        + f"t{int(s['threads'])}"
        + ("S" if s["superlinear"] else "")
        + ("C" if s["cache_bound"] else "")
        + ("T" if s["tail_p"] > 0 else "")
        for s in P["stages"]
    )
    return f"{grid} p{round(P['p'] * 100)} n={n} {feat} slow={P['slowness']} stages[{st}]"


def _workload(P: dict, n: int, prof, names, at_largest) -> Workload:
    wf = janus.Workflow(
        f"varied{P['seed']}",
        deadline_ms=1e9,
        percentile=P["p"],
        cost_model=P["cost"],
        features=names,
    )
    for s in P["stages"]:
        wf.add(s["name"], P["sizes"])
    layout = [s["name"] for s in P["stages"]]
    if len(layout) > 1:
        wf.chain(*layout)
    ref = reference_ms(at_largest, layout, P["p"])
    return Workload(f"varied{P['seed']}", wf, prof, ref, _describe(P, n))


def random_varied_workload(seed: int, n: int | None = None) -> Workload:
    """Member ``seed`` of the family (see the module doc); ``n``
    profiled requests (default: drawn per member, 150-1000)."""
    P = _params(seed)
    n = n or P["drawn_n"]
    draw = np.random.default_rng([55_555, seed, 1])
    prof, names, at_largest = _measure(P, n, draw)
    return _workload(P, n, prof, names, at_largest)


def drifted_varied_workload(seed: int, n: int | None = None, drift: float = 1.2):
    """Member ``seed`` profiled on its first ``n`` requests, and a keyed
    profile of ``n`` later requests whose inputs drifted up by ``drift``:
    ``(workload, later_profile)``."""
    P = _params(seed)
    n = n or P["drawn_n"]
    draw = np.random.default_rng([55_555, seed, 1])
    prof, names, at_largest = _measure(P, n, draw)
    later_draw = np.random.default_rng([55_555, seed, 2])
    later, _, _ = _measure(P, n, later_draw, drift)
    return _workload(P, n, prof, names, at_largest), later
