"""The comparison implementations in benches/ compute what Janus computes.

benches/bench.py times Janus against a NumPy implementation of the
synthesis DP and a plain-Python implementation of the adapter's lookup; a
speed ratio only means something if both sides do the same work, so these
check that they give the same answers on small cases. (The benchmarks
themselves run with scripts/bench.sh, not here.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches"))

import numpy_dp
from bench import SAME_INPUTS, provenance_of
from plain_adapter import PlainAdapter
from workload import workload

import janus


@pytest.mark.parametrize(
    ("stages", "sizes", "buckets", "conv"), [(3, 4, 100, "auto"), (4, 3, 60, "direct")]
)
def test_numpy_dp_reaches_the_same_plan_as_janus(stages, sizes, buckets, conv):
    w = workload(stages, sizes=sizes, seed=11, samples=120)
    hints = janus.synthesize(w.workflow, w.profile, buckets=buckets, **SAME_INPUTS)
    lam, cost, miss = provenance_of(hints)
    ref = numpy_dp.synthesize(
        w.stages, w.sizes, w.samples, w.deadline_ms, w.percentile, buckets, conv=conv
    )
    assert ref.feasible
    # The provenance prints 7 significant digits (lambda) and 6 decimals (cost, miss).
    assert ref.lam == pytest.approx(lam, rel=1e-6)
    assert ref.cost == pytest.approx(cost, abs=1e-6)
    assert ref.miss == pytest.approx(miss, abs=1e-6)
    # The plan is a real one: it spends some of the miss allowance, not none of it.
    assert 0 < ref.miss <= 1 - w.percentile + 1e-9


def test_numpy_dp_histogram_rounds_up_to_the_grid():
    h = numpy_dp.histogram(np.array([0.0, 10.0, 10.5, 29.0, 100.0]), 10.0, 5)
    assert h.tolist() == [0.2, 0.2, 0.2, 0.2, 0.0, 0.0]


def test_plain_adapter_decides_as_janus():
    w = workload(4, sizes=4, seed=5, samples=120)
    hints = janus.synthesize(w.workflow, w.profile, buckets=200)
    ad, plain = janus.Adapter(hints), PlainAdapter(hints)
    rng = np.random.default_rng(2)
    for f in w.stages:
        for el in np.concatenate([rng.uniform(0, w.deadline_ms * 1.1, 200), [0.0, w.deadline_ms]]):
            for free in (None, (500, 1024), (1000, 4096), (100, 100)):
                d = ad.decide(f, float(el), free=None if free is None else janus.Size(*free))
                p = plain.decide(f, float(el), free)
                assert p.size == (d.size.cpu_millis, d.size.memory_mib), (f, el, free)
                assert (p.rule, p.late, p.fits) == (d.rule, d.late, d.fits)
                assert p.remaining_ms == pytest.approx(d.remaining_ms)
    with pytest.raises(ValueError, match="elapsed_ms"):
        plain.decide(w.stages[0], -1.0)
