"""The synthesis DP of Janus written in NumPy, for comparison only.

It computes what ``janus.synthesize`` computes for the unconditioned plan of
a chain with unsmoothed histograms (``smoothing=0``) and no margin for
sampling error (``confidence=0.5``): the stochastic DP over (stage, budget)

    V[n](b) = 0 for b >= 0, lambda + (cost of the rest at fallback) for b < 0
    V[i](b) = min over sizes s of cost(s) + sum_k P[i,s](k) V[i+1](b - k)

with the expected cost and the miss probability carried separately, and one
Lagrange multiplier bisected (log scale, to a bracket ratio of 1.0005) until
the miss probability is just under ``1 - percentile``. Ties between sizes
and hopeless states are broken as in ``src/synth/dp.rs``, so the chosen
sizes, the multiplier and the plan's cost and miss agree with Janus
(``tests/test_bench_reference.py`` checks it).

It is written the way a NumPy user would write it: vectorised over budgets,
the sum over latencies as a convolution for all budgets at once, direct for
short histograms (``np.convolve``) and by FFT for long ones, batched over
the sizes of a stage (``np.fft.rfft`` on a 2-D array), as Janus does. Kept in benches/ to
measure how much faster the Rust core is; Janus never imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-9
LAMBDA_RATIO = 1.0005
MAX_STEPS = 60
# As conv.rs: histograms with fewer bins are convolved directly.
DIRECT_MAX = 48


@dataclass
class Stage:
    """One stage on the grid: per size, the histogram (offset, bins) and the cost."""

    off: list[int]
    p: list[np.ndarray]
    cost: np.ndarray
    fallback: int
    # Filled in by `Model`: spectra of the long histograms, all sizes in one array.
    spectra: np.ndarray | None = None
    long: np.ndarray | None = None


def histogram(samples: np.ndarray, dt: float, b_max: int) -> np.ndarray:
    """Bins 0..b_max, latencies rounded up to the next grid point (grid.rs)."""
    v = samples / dt - 1e-9
    b = np.where(v <= 0, 0, np.where(v >= b_max + 1, b_max + 1, np.ceil(v))).astype(np.int64)
    counts = np.bincount(b, minlength=b_max + 2)[: b_max + 1]
    return counts / max(len(samples), 1)


class Model:
    """A chain on the grid of ``buckets`` buckets."""

    def __init__(
        self,
        samples: Sequence[Sequence[np.ndarray]],
        rates: Sequence[Sequence[float]],
        fallback: Sequence[int],
        deadline_ms: float,
        buckets: int,
        conv: str = "auto",
    ) -> None:
        if conv not in ("auto", "direct"):
            raise ValueError(f"conv must be 'auto' or 'direct', got {conv!r}")
        self.b_max = buckets
        self.len = buckets + 1
        dt = deadline_ms / buckets
        self.n = max(16, 1 << (2 * self.len - 1).bit_length())
        self.stages: list[Stage] = []
        for per_size, rate, fb in zip(samples, rates, fallback, strict=True):
            offs, ps, costs = [], [], []
            for lat, r in zip(per_size, rate, strict=True):
                bins = histogram(np.asarray(lat, dtype=float), dt, buckets)
                nz = np.flatnonzero(bins)
                first, last = (int(nz[0]), int(nz[-1])) if len(nz) else (0, -1)
                offs.append(first)
                ps.append(bins[first : last + 1])
                costs.append(r * float(np.mean(lat)) / 1000.0)
            st = Stage(offs, ps, np.array(costs), fb)
            long = np.array(
                [
                    conv == "auto" and len(p) >= DIRECT_MAX and o < self.len
                    for o, p in zip(offs, ps, strict=True)
                ]
            )
            if long.any():
                kern = np.zeros((len(ps), self.n))
                for j in np.flatnonzero(long):
                    keep = min(len(ps[j]), self.len - offs[j])
                    kern[j, offs[j] : offs[j] + keep] = ps[j][:keep]
                st.spectra = np.fft.rfft(kern[long], axis=1)
            st.long = long
            self.stages.append(st)
        cost_fb = [st.cost[st.fallback] for st in self.stages]
        self.tail = np.concatenate([np.cumsum(cost_fb[::-1])[::-1], [0.0]])
        self.scale = max(sum(float(st.cost.max()) for st in self.stages), 1e-12)

    def _convolve(self, st: Stage, x: np.ndarray) -> np.ndarray:
        """out[o, b] = sum_k P_o(k) x[b - k] for every size o of the stage."""
        out = np.zeros((len(st.p), self.len))
        if st.long is not None and st.long.any():
            spec = np.fft.rfft(x, n=self.n)
            out[st.long] = np.fft.irfft(st.spectra * spec, n=self.n, axis=1)[:, : self.len]
        for j in np.flatnonzero(~st.long):
            off = st.off[j]
            if off < self.len:
                out[j, off:] = np.convolve(st.p[j], x[: self.len - off])[: self.len - off]
        return out

    def backward(self, lam: float) -> tuple[list[np.ndarray], float, float]:
        """The policy at ``lam``, and the expected cost and miss probability from the start."""
        cn = np.zeros(self.len)
        mn = np.zeros(self.len)
        policy: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(self.stages)
        for i in range(len(self.stages) - 1, -1, -1):
            st = self.stages[i]
            c_miss = self.tail[i + 1]
            c = self._convolve(st, cn - c_miss) + (st.cost + c_miss)[:, None]
            m = np.clip(self._convolve(st, mn - 1.0) + 1.0, 0.0, 1.0)
            q = c + lam * m
            best = np.zeros(self.len, dtype=np.int64)
            qb, mb = q[0].copy(), m[0].copy()
            for o in range(1, len(st.p)):
                slack = EPS * np.maximum(np.abs(qb), 1.0)
                take = (q[o] < qb - slack) | ((q[o] <= qb + slack) & (m[o] < mb - EPS))
                best[take] = o
                qb[take] = q[o][take]
                mb[take] = m[o][take]
            hopeless = (m.min(axis=0) >= 1.0 - EPS) & (best != st.fallback)
            best[hopeless] = st.fallback
            idx = np.arange(self.len)
            cn, mn = c[best, idx], m[best, idx]
            policy[i] = best
        return policy, float(cn[-1]), float(mn[-1])


@dataclass
class Solved:
    policy: list[np.ndarray]
    lam: float
    cost: float
    miss: float
    feasible: bool
    passes: int


def solve(model: Model, target: float) -> Solved:
    """Bisect lambda (lagrange.rs) until the miss probability is just under ``target``."""
    lam_max = model.scale * 1e9
    passes = 1
    pol, cost, miss = model.backward(0.0)
    if miss <= target:
        return Solved(pol, 0.0, cost, miss, True, passes)
    passes += 1
    top = model.backward(lam_max)
    if top[2] > target:
        return Solved(top[0], lam_max, top[1], top[2], False, passes)
    lo, hi = model.scale * 1e-6, lam_max
    best = top
    passes += 1
    low = model.backward(lo)
    if low[2] <= target:
        return Solved(low[0], lo, low[1], low[2], True, passes)
    steps = 0
    while hi / lo > LAMBDA_RATIO and steps < MAX_STEPS:
        steps += 1
        mid = math.sqrt(lo * hi)
        passes += 1
        r = model.backward(mid)
        if r[2] <= target:
            hi, best = mid, r
        else:
            lo = mid
    return Solved(best[0], hi, best[1], best[2], True, passes)


def rate(
    cpu_millis: int, memory_mib: int, cpu_price: float = 1.0, mem_price: float = 0.104
) -> float:
    """Cost units per second of a size (the default ``janus.CostModel``)."""
    return cpu_price * cpu_millis / 1000.0 + mem_price * memory_mib / 1024.0


def cheapest(samples: Sequence[np.ndarray], rates: Sequence[float]) -> int:
    """The size with the least expected cost, ties to the faster (``late="cheapest"``)."""
    means = [float(np.mean(s)) for s in samples]
    return min(range(len(means)), key=lambda o: (rates[o] * means[o], means[o]))


def synthesize(
    stages: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    samples: Mapping[tuple[str, tuple[int, int]], np.ndarray],
    deadline_ms: float,
    percentile: float,
    buckets: int,
    conv: str = "auto",
) -> Solved:
    """The unconditioned DP plan of a chain where every stage has the same ``sizes``,
    with the cheapest size as the late fallback. ``conv="direct"`` convolves
    every histogram with ``np.convolve`` (the textbook vectorisation)."""
    per_stage = [[np.asarray(samples[(f, s)], dtype=float) for s in sizes] for f in stages]
    rates = [[rate(*s) for s in sizes] for _ in stages]
    fallback = [cheapest(p, r) for p, r in zip(per_stage, rates, strict=True)]
    model = Model(per_stage, rates, fallback, deadline_ms, buckets, conv)
    return solve(model, 1.0 - percentile + 1e-9)
