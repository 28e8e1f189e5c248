"""Janus in five minutes: a workflow, a profile, hints, and decisions.

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

# 1. The developer's half: the workflow, its SLO, and the sizes that make sense.
wf = janus.Workflow("pipeline", deadline_ms=2_000, percentile=0.95)


@wf.function(
    options=janus.sizes(cpu_millis=[500, 1000, 2000], memory_mib=1024),
    feature=lambda payload: len(payload) / 2**20,  # input size (MiB) predicts its run time
    feature_name="mib",
)
def preprocess(payload: bytes) -> bytes:
    return payload[::2]


@wf.function(options=janus.sizes([1000, 2000], [1024, 2048]), fanout=4)
def train(x: bytes) -> int:
    return len(x)


wf.chain(preprocess, train)

# 2. A profile: latency samples per (function, size). Here drawn from a model
#    (preprocess: small or large inputs, sublinear CPU scaling; train: noisy);
#    in practice from `janus profile`, a CSV, or traces.
rng = np.random.default_rng(0)
n = 400
mib = np.where(rng.random(n) < 0.7, 1.0, 8.0)
samples: dict = {}
for size in wf.native.options("preprocess"):
    speedup = (size.cpu_millis / 500) ** 0.6
    samples[("preprocess", size)] = (mib * 150 / speedup + rng.gamma(4, 10, n), mib)
for size in wf.native.options("train"):
    samples[("train", size)] = 900 * (1000 / size.cpu_millis) ** 0.8 * rng.lognormal(0, 0.15, n)
profile = janus.Profile.from_samples(samples)
print(profile)

# 3. Synthesis: profiles + DAG + SLO -> a small hint set (Rust, parallel).
hints = janus.synthesize(wf, profile)  # input classes from the feature (or boundaries=[...])
print(hints, hints.classes)
for w in hints.warnings:
    print("warning:", w)
for s in hints.summary:
    print(
        "  table",
        s["class"],
        "expected cost",
        round(s["expected_cost"], 4),
        "miss",
        round(s["miss_probability"], 4),
    )
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

# 4. The provider's half: decide at invocation time from the time left.
adapter = janus.Adapter(hints)
for elapsed in (200.0, 700.0, 1_000.0):
    d = adapter.decide("train", elapsed_ms=elapsed, feature=1.0)
    print(
        f"train after {elapsed:>6.0f} ms: {d.size} (rule {d.rule}, {d.remaining_ms:.0f} ms left, best effort {d.best_effort})"
    )
d = adapter.decide("train", elapsed_ms=1_000.0, feature=1.0, free=janus.Size(1500, 4096))
print("  with only 1500m free on the node:", d.size, "fits" if d.fits else "does not fit")
many = adapter.decide_many("train", elapsed_ms=np.linspace(0, 2_000, 9))
print("decide_many cpu_millis:", many["cpu_millis"].tolist())

# 5. Learning: the adapter records what it observes and can re-synthesise.
for x in samples[("train", janus.Size(1000, 1024))][:20] * 1.3:  # train got 30 % slower
    adapter.observe("train", janus.Size(1000, 1024), float(x))
learner = janus.Resynthesizer(adapter, wf, profile)
print("drift:", learner.drifted(), "-> re-synthesising:", learner.check())
learner.wait()
print("hint sets swapped in:", learner.swaps)
