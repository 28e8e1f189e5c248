"""Reading cross-fitting's provenance notes (src/synth/crossfit.rs) in tests."""

from __future__ import annotations

import re

import janus

# The normal quantile at the default confidence, 0.9: the cost charge's `z`.
Z90 = 1.2815515655446004


def savings(hints: janus.HintSet) -> dict[str, tuple[float, float, float, float]]:
    """Per level: (the saving its plain plan claims on the whole profile,
    out-of-fold saving, its standard error, the part of it the luckiest
    unseen requests carry)."""
    pat = (
        r"\[([^:\]]+): cross-fit over 5 parts: [^\]]*saving over static claimed=(\S+) "
        r"in-sample=\S+ out-of-fold=(\S+) \(se (\S+), luckiest requests (\S+)\)"
    )
    found = re.findall(pat, hints.provenance["synthesis"])
    return {n: (float(a), float(b), float(se), float(lk)) for n, a, b, se, lk in found}


def banded_savings(hints: janus.HintSet) -> dict[str, tuple[float, float, float, float]]:
    """Per level with a banded plan cross-fitted on its own: (the saving the
    banded plan claims on the whole profile, its plans' out-of-fold saving,
    its standard error, the luckiest unseen requests' part)."""
    pat = (
        r"\[([^:\]]+): budget bands \(4 per block\): [^\]]*claimed=(\S+) cross-fit: [^\]]*"
        r"saving in-sample=\S+ out-of-fold=(\S+) \(se (\S+), luckiest requests (\S+)\)"
    )
    found = re.findall(pat, hints.provenance["synthesis"])
    return {n: (float(a), float(b), float(se), float(lk)) for n, a, b, se, lk in found}


def static_cost(hints: janus.HintSet) -> float:
    """The static candidate's cost on the profile."""
    return float(re.search(r"static\([^)]*\) cost=(\S+)", hints.provenance["synthesis"])[1])


def charges(hints: janus.HintSet, z: float = Z90, banded: bool = False) -> dict[str, float]:
    """Per level: what cross-fitting adds to its plain plan's expected cost
    (its banded plan's with ``banded``), in cost units: static's cost times
    the claimed saving over the unseen saving's lower bound, less its
    luckiest requests' part. The notes round savings to 4 decimals: compare
    within 3e-4 of static's cost."""
    static = static_cost(hints)
    found = banded_savings(hints) if banded else savings(hints)
    return {n: static * max(0.0, i - (o - lk - z * se)) for n, (i, o, se, lk) in found.items()}
