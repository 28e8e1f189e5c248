"""Online learning: observed drift leads to re-synthesised hints, swapped in."""

import pytest
from conftest import BIG, SMALL

import janus
from janus.online import Resynthesizer


def test_slowdown_is_learned_and_hints_are_swapped(two_stage):
    wf, prof = two_stage
    adapter = janus.Adapter(janus.synthesize(wf, prof))
    before = adapter.decide("b", elapsed_ms=220)
    assert before.size == SMALL  # ~610 ms of b fits in the 780 ms left
    r = Resynthesizer(adapter, wf, prof, threshold=1.2, min_samples=5)
    assert not r.check()  # nothing observed yet
    # b now takes 1.4x as long at SMALL (e.g. a slower dependency)
    slow = prof.latencies("b", SMALL) * 1.4
    for x in slow[:20]:
        adapter.observe("b", SMALL, float(x))
    assert r.drifted() == {"b": pytest.approx(1.4, rel=0.02)}
    assert r.check()
    r.wait(30)
    assert r.swaps == 1 and r.last_error is None
    after = adapter.decide("b", elapsed_ms=220)
    assert after.size == BIG  # ~855 ms at SMALL no longer fits
    # the corrected profile is the new baseline: no further swap
    assert r.drifted() == {}
    assert not r.check()


def test_bad_settings():
    with pytest.raises(janus.JanusError, match="threshold"):
        Resynthesizer(None, None, None, threshold=0.9)
    with pytest.raises(janus.JanusError, match="min_samples"):
        Resynthesizer(None, None, None, min_samples=0)
