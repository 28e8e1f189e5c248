"""Janus in five minutes: a workflow, a keyed profile, hints, and decisions.

    python examples/quickstart.py

Everything runs in this process on synthetic latencies (no cgroups, no
services), so it shows the API rather than real measurements: see
`janus demo` for those.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import janus

# 1. The developer's half: the workflow, its SLO, the sizes that make sense,
#    and what about a request predicts how long it takes (a request feature,
#    known when the run starts and given to the adapter at every stage).
wf = janus.Workflow("pipeline", deadline_ms=2_000, percentile=0.95)
wf.feature("mib", lambda payload: len(payload) / 2**20)  # the payload's size


@wf.function(options=janus.sizes(cpu_millis=[500, 1000, 2000], memory_mib=1024))
def preprocess(payload: bytes) -> bytes:
    return payload[::2]


@wf.function(options=janus.sizes([1000, 2000], [1024, 2048]), fanout=4)
def train(x: bytes) -> int:
    return len(x)


wf.chain(preprocess, train)

# 2. A profile: each request measured at every stage and size, keyed by the
#    request and tagged with its features. Here drawn from a model (70 % small
#    payloads, 30 % eight times larger; both stages take longer for larger
#    ones); in practice from `janus profile` with sample requests, or a CSV
#    with key and feature.<name> columns.
rng = np.random.default_rng(0)
n = 400
mib = np.where(rng.random(n) < 0.7, 1.0, 8.0)
keys = [f"req{i}" for i in range(n)]
noise = rng.lognormal(0, 0.1, n)  # one request is a bit slower at every size
profile = janus.Profile(["mib"])
for size in wf.native.options("preprocess"):
    speedup = (size.cpu_millis / 500) ** 0.6
    profile.add("preprocess", size, mib * 150 / speedup * noise + 20, keys=keys, features=mib)
for size in wf.native.options("train"):
    lat = (400 + 60 * mib) * (1000 / size.cpu_millis) ** 0.8 * noise
    profile.add("train", size, lat, keys=keys, features=mib)
print(profile)

# 3. Synthesis: profiles + DAG + SLO -> a small hint set (Rust, parallel). The
#    input classes come from the feature where they pay; every class shares
#    one miss budget; static sizing is a candidate, so it never costs more.
hints = janus.synthesize(wf, profile)
print(hints)
print("classes:", [c["description"] for c in hints.classes["classes"]] if hints.classes else None)
print(
    "plan over all requests:",
    hints.plan["chosen"],
    "expected cost",
    round(hints.plan["expected_cost"], 4),
    "miss",
    round(hints.plan["miss_probability"], 4),
)
for w in hints.warnings:
    print("warning:", w)
static = janus.best_static(wf, profile)
print(
    "best static sizing:",
    {k: str(v) for k, v in static["sizes"].items()},
    "cost",
    round(static["expected_cost"], 4),
)

with tempfile.TemporaryDirectory() as d:
    path = Path(d) / "pipeline.hints.json"
    hints.save(path)  # versioned JSON, written atomically
    hints = janus.HintSet.load(path)  # validated on load
    print(f"saved and loaded {path.name}: {hints.size_bytes} bytes")

# 4. The provider's half: decide at invocation time from the time left and
#    the request's features.
adapter = janus.Adapter(hints)
for mb, elapsed in ((1.0, 200.0), (8.0, 200.0), (8.0, 900.0)):
    d = adapter.decide("train", elapsed_ms=elapsed, features={"mib": mb}, run_key="req-42")
    print(
        f"train of a {mb:.0f} MiB request after {elapsed:>5.0f} ms: {d.size} "
        f"(class {d.input_class}, rule {d.rule}, {d.remaining_ms:.0f} ms left, late {d.late})"
    )
d = adapter.decide("train", 1_000.0, features=[8.0], free=janus.Size(1500, 4096))
print("  with only 1500m free on the node:", d.size, "fits" if d.fits else "does not fit")
train = adapter.function("train")  # pre-bound: no name lookup on the hot path
print("  pre-bound handle agrees:", train.decide(1_000.0, features=[8.0]).size == d.size or d.fits)
many = adapter.decide_many("train", np.linspace(0, 2_000, 9), features=np.full(9, 1.0))
print("decide_many cpu_millis:", many["cpu_millis"].tolist())

# 5. An honest replay: fit on half of the requests, replay the other half
#    exactly (each held-out request's own latency at every stage and size).
fit, held = profile.split(0.5, seed=1)
res = janus.replay(
    wf,
    fit,
    held,
    {"janus": janus.synthesize(wf, fit), "static": janus.best_static(wf, fit)["sizes"]},
)
print(res.table())

# 6. Learning: the adapter records what it observes and can re-synthesise.
slower = profile.latencies("train", janus.Size(1000, 1024))[:20] * 1.3  # train got 30 % slower
for x in slower:
    adapter.observe("train", janus.Size(1000, 1024), float(x))
learner = janus.Resynthesizer(adapter, wf, profile)
print("drift:", learner.drifted(), "-> re-synthesising:", learner.check())
learner.wait()
print("hint sets swapped in:", learner.swaps)
