"""The benchmark workload of ``benches/common/mod.rs``, in Python.

A chain of ``stages`` functions ``f0, f1, ...``, each with ``sizes`` CPU
sizes (250m, 500m, ...; memory 512 MiB + 256 MiB per step) and 300 latency
samples per size: stage ``i`` takes ``base_i * (1000 / cpu)^a_i`` ms
(``base_i`` in 50-300 ms, ``a_i`` in 0.5-0.9) times log-normal noise
(sigma 0.25, shared by a request's sizes, times sigma 0.05 per size), and
one request in ten is twice as slow. The deadline is 1.3x the 95th
percentile of the whole chain at the largest sizes, percentile 0.95.

Same definition as the Rust benches, drawn from NumPy's generator (so the
numbers differ from the Rust ones, not their shape). With ``keyed=True``
sample ``j`` of every (stage, size) is request ``r{j}`` (a keyed profile:
synthesis and replay then follow each request through the chain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import janus

SAMPLES = 300


@dataclass
class Workload:
    workflow: janus.Workflow
    profile: janus.Profile
    stages: list[str]
    sizes: list[tuple[int, int]]
    samples: dict[tuple[str, tuple[int, int]], np.ndarray]
    deadline_ms: float
    percentile: float


def workload(
    stages: int, sizes: int = 8, seed: int = 7, keyed: bool = False, samples: int = SAMPLES
) -> Workload:
    rng = np.random.default_rng(seed)
    opts = [(250 * (k + 1), 512 + 256 * k) for k in range(sizes)]
    data: dict[tuple[str, tuple[int, int]], np.ndarray] = {}
    chain = np.zeros(samples)
    names = [f"f{i}" for i in range(stages)]
    for name in names:
        base = rng.uniform(50.0, 300.0)
        a = rng.uniform(0.5, 0.9)
        noise = rng.lognormal(0.0, 0.25, samples) * np.where(rng.random(samples) < 0.1, 2.0, 1.0)
        for k, (cpu, mem) in enumerate(opts):
            lat = base * (1000.0 / cpu) ** a * noise * rng.lognormal(0.0, 0.05, samples)
            if k == sizes - 1:
                chain += lat
            data[(name, (cpu, mem))] = lat
    deadline = float(round(1.3 * np.quantile(chain, 0.95)))
    wf = janus.Workflow("bench", deadline_ms=deadline, percentile=0.95)
    for name in names:
        wf.add(name, [janus.Size(c, m) for c, m in opts])
    wf.chain(*names)
    keys = [f"r{j}" for j in range(samples)]
    profile = janus.Profile()
    for (name, (cpu, mem)), lat in data.items():
        if keyed:
            profile.add(name, janus.Size(cpu, mem), lat.tolist(), keys=keys)
        else:
            profile.add(name, janus.Size(cpu, mem), lat.tolist())
    return Workload(wf, profile, names, opts, data, deadline, 0.95)
