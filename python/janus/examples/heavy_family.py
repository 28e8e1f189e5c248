"""A fourth family of workloads: memory effects, spills, heavy tails,
request types and noisy neighbours (``random_heavy_workload``).

Written from a description of what real serverless functions show, without
Janus's synthesis code in view (only the public API), to test decisions on
workloads shaped by no one who tuned them. Its members are evaluated like
the other families': ``python examples/family_eval.py heavy 0 20``.

Model of one stage measured for one request at one size
-------------------------------------------------------
    lat = (io + work * type_mult * spill_step / speed(cores)) * mem_penalty
          * run_slowness(request)            # shared across stages and sizes
          * request_noise(request, stage)    # shared across sizes
          * invocation_noise(request, stage, size)   # independent per sample
where
  * io is waiting time (never depends on the size);
  * speed = min(cores, threads) ** alpha;
  * spill_step multiplies work when the true input exceeds a threshold
    (fixed, or a fraction of the option's memory);
  * mem_penalty: the stage needs m0 + m1 * x MiB; below that the stage either
    thrashes (latency grows steeply with the shortfall) or is OOM-killed and
    retried on a bigger instance (about double latency);
  * heavy tails: Pareto or lognormal sigma ~1, per request (slow dependency)
    or per invocation (GC pause / cold start);
  * run slowness: lognormal with a rare "noisy neighbour" mode (x1.5-3).
Kinds: "io" (size-independent), "cpu", "mem" (memory-bound), "spill".
"""

from __future__ import annotations

import numpy as np

import janus
from janus.examples.workloads import Workload, reference_ms

LAMBDA_MEM = [128, 256, 512, 768, 1024, 1536, 2048, 3008]
K8S_CPU = [250, 500, 750, 1000, 1500, 2000, 3000, 4000]


def _grid(rng):
    kind = rng.choice(["lambda", "k8s_fixed", "k8s_prop"], p=[0.45, 0.3, 0.25])
    if kind == "lambda":
        mems = LAMBDA_MEM if rng.random() < 0.6 else [128, 512, 1024, 1769, 3008]
        sizes = [janus.Size(max(1, round(m * 1000 / 1769)), m) for m in mems]
    elif kind == "k8s_fixed":
        mem = int(rng.choice([1024, 2048, 4096]))
        cpus = K8S_CPU if rng.random() < 0.5 else [250, 500, 1000, 2000, 4000]
        sizes = [janus.Size(c, mem) for c in cpus]
    else:
        per_core = int(rng.choice([1024, 2048]))
        cpus = K8S_CPU if rng.random() < 0.5 else [250, 500, 1000, 2000, 4000]
        sizes = [janus.Size(c, max(256, per_core * c // 1000)) for c in cpus]
    return str(kind), sizes


def _stage_model(rng, name, kind, x_med, has_type):
    s = {"name": name, "kind": kind}
    s["io"] = float(rng.uniform(5, 80)) if kind != "io" else float(rng.uniform(20, 400))
    s["io_per_mb"] = float(rng.uniform(0, 8)) if rng.random() < 0.5 else 0.0
    # CPU work at one core for the median request.
    s["work"] = 0.0 if kind == "io" else float(np.exp(rng.uniform(np.log(40), np.log(3000))))
    s["exp"] = float(rng.choice([0.5, 1.0, 1.0, 1.3]))
    s["threads"] = float(rng.choice([1, 1, 2, 4]))
    s["alpha"] = float(rng.uniform(0.6, 1.0))
    s["fanout"] = 1
    if kind != "io" and rng.random() < 0.25:
        s["fanout"] = int(rng.integers(2, 9))
    # Memory need: MiB = m0 + m1 * x, median need in [300, 1400] MiB.
    s["m0"] = float(rng.uniform(60, 250))
    med_need = float(rng.uniform(300, 1400)) if kind == "mem" else float(rng.uniform(80, 260))
    s["m1"] = max(0.0, (med_need - s["m0"]) / x_med)
    s["mem_mode"] = str(rng.choice(["thrash", "oom"])) if kind == "mem" else "thrash"
    # Non-mem stages still thrash mildly below their (small) need.
    s["thrash_k"] = float(rng.uniform(2, 6)) if kind == "mem" else 1.0
    # Spill: work x spill_factor above a threshold.
    if kind == "spill":
        s["spill_factor"] = float(rng.uniform(1.8, 4.0))
        s["spill_mode"] = str(rng.choice(["fixed", "memory"]))
        s["spill_q"] = float(rng.uniform(0.5, 0.9))  # fixed: quantile of x
        s["spill_mem_ratio"] = float(rng.uniform(0.5, 1.5))  # memory: x*ratio*100 MiB > mem
    # Noise.
    s["req_sigma"] = float(rng.uniform(0.05, 0.3))
    s["inv_sigma"] = float(rng.uniform(0.02, 0.1))
    s["tail"] = None
    if rng.random() < 0.35:
        s["tail"] = str(rng.choice(["pareto", "lognormal"]))
        s["tail_scope"] = str(rng.choice(["request", "invocation"]))
        s["tail_p"] = float(rng.uniform(0.05, 0.3))  # share of samples hit
        s["pareto_a"] = float(rng.uniform(1.5, 3.0))
    # Request type multipliers (type 0/1/2).
    if has_type:
        m = np.array([1.0, rng.uniform(2, 4), rng.uniform(0.15, 0.5)])
        rng.shuffle(m)
        s["type_mult"] = m.tolist() if rng.random() < 0.8 else [1.0, 1.0, 1.0]
    return s


def _tail(rng, s, shape):
    if s["tail"] is None:
        return np.ones(shape)
    hit = rng.random(shape) < s["tail_p"]
    if s["tail"] == "pareto":
        f = 1.0 + rng.pareto(s["pareto_a"], shape)
    else:
        f = np.exp(np.abs(rng.normal(0.0, 1.0, shape)))
    return np.where(hit, np.minimum(f, 25.0), 1.0)


def random_heavy_workload(seed: int, n: int | None = None) -> Workload:
    """Member ``seed``: 2-6 stages (a chain, maybe with a parallel group) of
    four kinds (size-independent I/O, CPU, memory-bound with thrash or
    OOM-retry below an input-driven need, work that spills past an input
    threshold); fan-out on a quarter of the stages with uneven shares;
    Pareto or lognormal tails on a third; a payload feature strongly,
    weakly or not informative, and for about half the members a request
    type (0/1/2) with its own cost; a noisy neighbour shared by a run's
    stages; Lambda-like or Kubernetes size grids; p90/p95/p99; 200, 400 or
    1000 requests (``n`` overrides), every one measured at every stage and
    size (keyed)."""
    rng = np.random.default_rng(1_000_003 * (seed + 17))
    drawn = int(rng.choice([200, 400, 1000]))
    n = drawn if n is None else n
    p = float(rng.choice([0.90, 0.95, 0.99]))
    grid, sizes = _grid(rng)
    n_st = int(rng.integers(2, 7))

    # Features: payload size (lognormal), maybe a weak proxy, maybe a type.
    x_med = float(np.exp(rng.uniform(np.log(1), np.log(30))))
    x = x_med * np.exp(rng.normal(0.0, rng.uniform(0.35, 0.8), n))  # the true driver
    informative = str(rng.choice(["strong", "strong", "weak", "none"]))
    if informative == "strong":
        obs = x * np.exp(rng.normal(0.0, 0.05, n))
    elif informative == "weak":
        obs = x * np.exp(rng.normal(0.0, 0.9, n))
    else:
        obs = x_med * np.exp(rng.normal(0.0, 0.7, n))
    has_type = rng.random() < 0.45
    names = ["payload_mb"] + (["req_type"] if has_type else [])
    if has_type:
        probs = rng.dirichlet([2, 2, 2])
        rtype = rng.choice(3, size=n, p=probs)
        rows = np.stack([obs, rtype.astype(float)], axis=1)
    else:
        rtype = np.zeros(n, dtype=int)
        rows = obs[:, None]

    # Per-run shared slowness (noisy neighbour).
    nn_sigma = float(rng.choice([0.0, 0.1, 0.25]))
    nn_p = float(rng.choice([0.0, 0.03, 0.08]))
    slow = np.exp(rng.normal(0.0, nn_sigma, n)) if nn_sigma > 0 else np.ones(n)
    slow *= np.where(rng.random(n) < nn_p, rng.uniform(1.5, 3.0, n), 1.0)

    kinds = rng.choice(["io", "cpu", "mem", "spill"], size=n_st, p=[0.2, 0.35, 0.25, 0.2])
    stages = [_stage_model(rng, f"s{i}_{k}", str(k), x_med, has_type) for i, k in enumerate(kinds)]

    keys = [f"r{i}" for i in range(n)]
    prof = janus.Profile(names)
    wf = janus.Workflow(f"heavy{seed}", deadline_ms=1e9, percentile=p, features=names)
    at_largest = {}
    for s in stages:
        wf.add(s["name"], sizes, fanout=s["fanout"])
        k = s["fanout"]
        tm = np.array(s["type_mult"])[rtype] if has_type else np.ones(n)
        # Fan-out instances: uneven shares of the work (skewed partitions).
        share = rng.dirichlet(np.full(k, 3.0), n) * k if k > 1 else np.ones((n, 1))
        req_noise = np.exp(rng.normal(0.0, s["req_sigma"], (n, k)))
        req_tail = (
            _tail(rng, s, (n, k))
            if s["tail"] is not None and s["tail_scope"] == "request"
            else np.ones((n, k))
        )
        need = s["m0"] + s["m1"] * x_med * (x / x_med) ** 0.8 * (tm if has_type else 1.0) ** 0.5
        if s["kind"] == "spill" and s["spill_mode"] == "fixed":
            thr = np.quantile(x, s["spill_q"])
        for size in sizes:
            cores = size.cpu_millis / 1000.0
            mem = float(size.memory_mib)
            speed = min(cores, s["threads"]) ** s["alpha"]
            work = s["work"] * (x / x_med) ** s["exp"] * tm
            if s["kind"] == "spill":
                if s["spill_mode"] == "fixed":
                    spilled = x > thr
                else:
                    spilled = x * s["spill_mem_ratio"] * 100.0 > mem
                work = work * np.where(spilled, s["spill_factor"], 1.0)
            io = s["io"] + s["io_per_mb"] * x
            base = io[:, None] + (work / speed)[:, None] * share
            ratio = need / mem
            if s["mem_mode"] == "oom":
                pen = np.where(ratio > 1.0, 2.0 + 0.2 * ratio, 1.0)
            else:
                pen = 1.0 + s["thrash_k"] * np.clip(ratio - 0.9, 0.0, None) ** 1.5
                pen = np.minimum(pen, 15.0)
            inv = np.exp(rng.normal(0.0, s["inv_sigma"], (n, k)))
            inv_tail = (
                _tail(rng, s, (n, k))
                if s["tail"] is not None and s["tail_scope"] == "invocation"
                else np.ones((n, k))
            )
            lat = base * pen[:, None] * slow[:, None] * req_noise * req_tail * inv * inv_tail
            lat = np.clip(lat, 0.5, 1e7)
            prof.add(
                s["name"], size, lat.reshape(-1),
                keys=np.repeat(keys, k).tolist(), features=np.repeat(rows, k, axis=0),
            )  # fmt: skip
            if size == sizes[-1]:
                at_largest[s["name"]] = lat.max(axis=1)

    # Layout: a chain, maybe with one parallel group of 2-3 stages.
    names_st = [s["name"] for s in stages]
    layout: list = list(names_st)
    if n_st >= 3 and rng.random() < 0.5:
        g = int(rng.integers(2, min(3, n_st - 1) + 1))
        start = int(rng.integers(1, n_st - g + 1))
        layout = names_st[:start] + [names_st[start : start + g]] + names_st[start + g :]
    wf.chain(*layout)
    ref = reference_ms(at_largest, layout, p)

    def tag(s):
        t = s["kind"]
        if s["kind"] == "mem":
            t += f"({s['mem_mode']})"
        if s["kind"] == "spill":
            t += f"({s['spill_mode']})"
        if s["fanout"] > 1:
            t += f"x{s['fanout']}"
        if s["tail"]:
            t += f"+{s['tail'][:3]}/{s['tail_scope'][:3]}"
        return t

    lay = " > ".join(
        "[" + "|".join(tag(stages[names_st.index(a)]) for a in step) + "]"
        if isinstance(step, list)
        else tag(stages[names_st.index(step)])
        for step in layout
    )
    desc = (
        f"{grid} {len(sizes)}opt p{round(p * 100)} n={n} feat={informative}"
        f"{'+type' if has_type else ''} nn={nn_sigma}/{nn_p}: {lay}"
    )
    return Workload(f"heavy{seed}", wf, prof, ref, desc)
