"""janus.simulate / replay / sweep: invariants, not numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import janus
from janus.analysis import orion_dir

pd = pytest.importorskip("pandas")

SIZES = [janus.Size(500, 512), janus.Size(1000, 1024), janus.Size(2000, 2048)]


def synthetic(deadline_ms: float = 2600.0, n: int = 400):
    """A -> {B (fanout 2), C} -> D; latency ~ work / cores^0.8, lognormal noise."""
    wf = janus.Workflow("synthetic", deadline_ms=deadline_ms, percentile=0.9)
    wf.add("A", SIZES)
    wf.add("B", SIZES, fanout=2)
    wf.add("C", SIZES)
    wf.add("D", SIZES)
    wf.chain("A", ["B", "C"], "D")
    rng = np.random.default_rng(5)
    samples = {}
    for name, work in [("A", 400.0), ("B", 900.0), ("C", 600.0), ("D", 300.0)]:
        for s in SIZES:
            samples[(name, s)] = work / s.cores**0.8 * rng.lognormal(0.0, 0.35, n)
    return wf, janus.Profile.from_samples(samples)


def orion(name: str, factor: float = 1.2):
    try:
        path = orion_dir(name)
    except FileNotFoundError as e:
        pytest.skip(str(e))
    wf, prof = janus.orion_workflow(path, deadline_ms=1e9)
    ref = janus.analysis.reference_latency(wf, prof, runs=5000)
    return janus.orion_workflow(path, deadline_ms=factor * ref)


def check_oracle_bound(res):
    s = res.summary()
    oracle = s[s["kind"] == "oracle"].iloc[0]
    reached = s[s["attainment"] >= s["target"]]
    assert (reached["cost"] >= oracle["cost"] * (1 - 1e-9)).all(), s


def test_summary_and_tidy_runs():
    wf, prof = synthetic()
    res = janus.simulate(wf, prof, runs=3000, seed=1, buckets=200)
    s = res.summary()
    assert list(s.index) == [
        "janus-stochastic",
        "janus-percentile",
        "static",
        "maxsize",
        "stepconf",
        "oracle",
    ]
    assert (s["coupling"] == "rank").all() and res.coupling == "rank"
    for col in [
        "cost",
        "cpu_core_s",
        "gib_s",
        "attainment",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "oracle_share",
    ]:
        assert col in s.columns
    assert (s.loc["janus-stochastic", "decisions_per_s"] > 0) and s.loc[
        "janus-stochastic", "hint_bytes"
    ] > 0
    assert math.isnan(s.loc["static", "decisions_per_s"]) and math.isnan(
        s.loc["oracle", "hint_bytes"]
    )
    assert s.loc["static", "saving_vs_static"] == 0
    df = res.to_pandas()
    assert len(df) == 6 * 3000
    assert set(df.columns) >= {
        "policy",
        "kind",
        "run",
        "latency_ms",
        "cost",
        "cpu_core_s",
        "gib_s",
        "met",
    }
    # the tidy frame and the summary agree
    att = df.groupby("policy", observed=True)["met"].mean()
    assert np.allclose(att.reindex(s.index), s["attainment"])
    assert (df["met"] == (df["latency_ms"] <= res.deadline_ms)).all()
    check_oracle_bound(res)


def test_deterministic_for_a_seed():
    wf, prof = synthetic()
    a = janus.simulate(wf, prof, runs=2000, seed=7, buckets=200).to_pandas()
    b = janus.simulate(wf, prof, runs=2000, seed=7, buckets=200).to_pandas()
    c = janus.simulate(wf, prof, runs=2000, seed=8, buckets=200).to_pandas()
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["latency_ms"].to_numpy(), c["latency_ms"].to_numpy())


def test_options_not_given_take_the_engines_defaults():
    """The defaults of simulate and replay are defined once, in Rust
    (SIMULATE_DEFAULTS): the Python wrappers and the CLI pass only what they
    are given (issue 8: they had restated them)."""
    d = janus._janus.SIMULATE_DEFAULTS
    assert d == {
        "runs": 20_000,
        "seed": 0,
        "split": 0.5,
        "coupling": "auto",
        "modes": ["stochastic", "percentile"],
    }
    wf, prof = synthetic(n=60)
    res = janus.simulate(wf, prof, buckets=50, policies=["static"])
    assert (res.runs, res.seed, res.split, res.coupling) == (d["runs"], 0, 0.5, "rank")
    rep = janus.replay(wf, prof, prof, {"max": "maxsize"})
    assert (rep.runs, rep.seed) == (d["runs"], 0)
    import inspect

    for fn in (janus.simulate, janus.replay, janus.analysis.reference_latency):
        for name in ("runs", "seed", "split", "coupling", "modes"):
            p = inspect.signature(fn).parameters.get(name)
            assert p is None or p.default is None, f"{fn.__name__}({name}={p.default!r})"
    # the CLI: unset options stay None (not forwarded), the help shows the engine's values
    import argparse

    from janus.cli import simulate as cli

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    args = p.parse_args(["--orion", "x"])
    assert (args.runs, args.seed, args.split, args.coupling) == (None, None, None, None)
    assert f"(default {d['runs']})" in p.format_help()


@pytest.mark.parametrize("coupling", ["rank", "independent"])
def test_both_couplings_run_and_are_reported(coupling):
    wf, prof = synthetic()
    res = janus.simulate(wf, prof, runs=2000, coupling=coupling, buckets=200)
    assert res.coupling == coupling
    assert (res.summary()["coupling"] == coupling).all()
    assert coupling in res.table()
    # The note gives the reason that holds: the coupling was asked for (it
    # said "the profile is keyed but no request was measured at every stage"
    # of a keyed profile replayed with rank on purpose).
    assert any(f"because {coupling} coupling was asked for" in n for n in res.notes), res.notes
    check_oracle_bound(res)


def test_static_meets_percentile_on_its_fit_data():
    """Static is fitted on histograms whose samples are rounded up to the
    bucket end, and the replay draws one size per stage independently, as the
    histogram convolution assumes: on the fit data static may fall short of p
    only by Monte-Carlo noise (4 binomial standard deviations)."""
    wf, prof = synthetic()
    fit, _ = prof.split(0.5)
    plan = janus.best_static(wf, fit)
    assert plan["feasible"]
    runs = 20_000
    res = janus.analysis.replay(wf, fit, fit, {"static": plan["sizes"]}, runs=runs)
    p = wf.percentile
    assert res.summary().loc["static", "attainment"] >= p - 4 * math.sqrt(p * (1 - p) / runs)


@pytest.mark.parametrize("name", ["ml_pipeline", "chatbot"])
def test_orion_traces(name):
    wf, prof = orion(name)
    for coupling in ["rank", "independent"]:
        res = janus.simulate(wf, prof, runs=4000, coupling=coupling)
        check_oracle_bound(res)
        s = res.summary()
        assert s.loc["static", "attainment"] > 0.85


def test_sweep_tight_to_loose():
    wf, prof = synthetic()
    df = janus.sweep(wf, prof, factors=[1.5, 1.0, 3.0], runs=1500, buckets=150)
    assert list(df["factor"].unique()) == [1.0, 1.5, 3.0]
    assert set(df["policy"]) >= {"janus-stochastic", "static", "oracle"}
    oracle = df[df["policy"] == "oracle"]["cost"].to_numpy()
    assert oracle[0] >= oracle[-1]  # looser deadlines never cost the oracle more
    import matplotlib

    matplotlib.use("Agg")
    fig = janus.analysis.plot_sweep(df)
    assert len(fig.axes) == 2


def test_plot_returns_a_figure():
    import matplotlib

    matplotlib.use("Agg")
    wf, prof = synthetic()
    fig = janus.simulate(wf, prof, runs=500, buckets=150).plot()
    assert len(fig.axes) == 2


def test_bad_inputs_have_clear_errors(tmp_path):
    wf, prof = synthetic()
    with pytest.raises(janus.ReplayError, match="coupling"):
        janus.simulate(wf, prof, coupling="weird")
    with pytest.raises(janus.ReplayError, match='unknown policy kind "magic"'):
        janus.simulate(wf, prof, policies=["janus", "magic"])
    with pytest.raises(janus.SynthesisError, match="unknown synthesis option 'bukets'"):
        janus.simulate(wf, prof, bukets=10)
    # a stage absent from the workflow
    extra = janus.Profile.from_samples({("Z", SIZES[0]): [1.0, 2.0]})
    extra.merge(prof)
    with pytest.raises(janus.ProfileError, match="'Z' is not a stage"):
        janus.simulate(wf, extra, runs=10)
    # a missing size
    partial = janus.Profile.from_samples(
        {(f, s): prof.latencies(f, s) for f in "ABCD" for s in SIZES if (f, s) != ("C", SIZES[2])}
    )
    with pytest.raises(janus.ProfileError, match="'C'.*2000m/2048Mi"):
        janus.simulate(wf, partial, runs=10)
    # too few samples to split
    tiny = janus.Profile.from_samples(
        {(f, s): prof.latencies(f, s)[: 1 if f == "D" else 5] for f in "ABCD" for s in SIZES}
    )
    with pytest.raises(janus.ProfileError, match="'D'.*too few"):
        janus.simulate(wf, tiny, runs=10)
    # bad trace files: the importers name file and line
    d = tmp_path / "trace"
    d.mkdir()
    (d / "rsc_1000_1000.txt").write_text("E2E:30 A:10 B:20\nE2E:30 A:-4 B:20\n")
    with pytest.raises(janus.ProfileError, match=r"rsc_1000_1000.txt:2.*in \[0, 1e12\] ms"):
        janus.orion_workflow(d, deadline_ms=100)
    (d / "rsc_1000_1000.txt").write_text("E2E:30 A:10 B:20\nE2E:30 A:x B:20\n")
    with pytest.raises(janus.ProfileError, match=r"rsc_1000_1000.txt:2.*not a number"):
        janus.orion_workflow(d, deadline_ms=100)
    (d / "rsc_1000_1000.txt").write_text("E2E:30 A:10 B:20\nE2E:30 A:12\n")
    with pytest.raises(janus.ProfileError, match=r"rsc_1000_1000.txt:2.*'B'"):
        janus.orion_workflow(d, deadline_ms=100)
    csv = tmp_path / "p.csv"
    csv.write_text("function,cpu_millis,memory_mib,latency_ms\nA,500,512,3\nA,500,512,-1\n")
    with pytest.raises(janus.ProfileError, match=r"p.csv:3"):
        janus.Profile.from_csv(str(csv))
