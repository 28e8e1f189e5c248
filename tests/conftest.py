"""Shared fixtures: small workflows and profiles with known answers, and the
location of the ORION traces (read in place, never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import janus
import janus.traces

REPO = Path(__file__).resolve().parent.parent


def shared_path(env: str, rel: str, marker: str = "") -> Path | None:
    """$env, else ``rel`` in ../shared beside the repository (read in place,
    never copied in); ``marker`` must exist below it."""
    for cand in (os.environ.get(env), REPO.parent / "shared" / rel):
        if cand and (Path(cand) / marker).exists():
            return Path(cand)
    return None


@pytest.fixture
def orion() -> Path:
    """The ORION trace folder (see janus.traces.orion_dir), or a skip saying where it looked."""
    try:
        return janus.traces.orion_dir()
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind():
    """After each test module, nothing the tests created may remain: no cgroup
    of a test pool (all named with runtime_support.PREFIX) in the machine's
    cgroup tree, no worker process."""
    yield
    from runtime_support import leftover_cgroups, leftover_workers

    assert leftover_cgroups() == [], "cgroups left behind"
    assert leftover_workers() == [], "worker processes left behind"


SMALL, BIG = janus.Size(500, 512), janus.Size(2000, 512)


@pytest.fixture
def two_stage():
    """A 2-stage chain: stage `a` is bimodal (fast or slow); both stages speed
    up sublinearly with CPU (1.5x and 2x for 4x the cores), so SMALL is the
    cheaper size for each of them.

    After a fast `a` (~210 ms at SMALL), SMALL for `b` (~610 ms) still meets
    the 1000 ms deadline; after a slow `a` (~610 ms), only BIG (~305 ms) does.
    The best static plan must pay for BIG on every run (SMALL, BIG); late
    binding pays for it only after a slow `a`.
    """
    wf = janus.Workflow("two", deadline_ms=1000, percentile=0.9)
    wf.add("a", [SMALL, BIG])
    wf.add("b", [SMALL, BIG])
    wf.chain("a", "b")
    rng = np.random.default_rng(1)
    a_small = np.where(rng.random(400) < 0.5, 200.0, 600.0) + rng.uniform(0, 20, 400)
    a_big = a_small / 1.5
    b_small = 600.0 + rng.uniform(0, 20, 400)
    b_big = 300.0 + rng.uniform(0, 10, 400)
    prof = janus.Profile.from_samples(
        {("a", SMALL): a_small, ("a", BIG): a_big, ("b", SMALL): b_small, ("b", BIG): b_big}
    )
    return wf, prof
