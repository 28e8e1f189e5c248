"""One quantile everywhere (issue 8): the nearest rank of src/stats.rs, which
Python reaches as ``janus.quantile``. The profile summary, ``janus profile``'s
report, the runner's summary (``janus demo``) and the replay (``janus
simulate``) report the same statistic; they once used four definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import janus
from janus.runtime import ProfileReport, RunReport, summarize
from janus.runtime.profiler import ProfileRow

ONE_TO_TWENTY = [float(x) for x in range(1, 21)]


@pytest.mark.parametrize(
    "values, q, want",
    [
        (ONE_TO_TWENTY, 0.95, 19.0),  # the 19th of 20: linear interpolation gives 19.05
        (ONE_TO_TWENTY, 0.5, 10.0),  # numpy's median is 10.5
        ([1.0, 2.0, 3.0, 4.0], 0.9, 4.0),
        ([5.0, 1.0, 3.0], 0.0, 1.0),
        ([5.0, 1.0, 3.0], 1.0, 5.0),
        ([7.0], 0.95, 7.0),
    ],
)
def test_the_quantile_is_the_nearest_rank(values, q, want):
    assert janus.quantile(values, q) == want
    assert want in values, "always an observed value"


def test_an_empty_quantile_is_nan():
    assert math.isnan(janus.quantile([], 0.5))


@pytest.mark.parametrize(
    "values, q, match",
    [
        ([1.0, 2.0], 1.5, r"q must be in \[0, 1\]"),
        ([1.0], float("nan"), "q must be"),
        ([1.0, float("nan")], 0.5, "value #1 is NaN"),
    ],
)
def test_a_quantile_of_bad_input_is_an_error_not_a_number(values, q, match):
    with pytest.raises(janus.ProfileError, match=match):
        janus.quantile(values, q)


def test_the_profile_summary_reports_janus_quantile():
    s = janus.Size(500, 256)
    lat = np.random.default_rng(3).lognormal(4.0, 0.5, 40)  # even: the median interpolates
    [row] = janus.Profile.from_samples({("f", s): lat}).summary()
    assert row["p50_ms"] == janus.quantile(list(lat), 0.5) != np.median(lat)
    assert row["p95_ms"] == janus.quantile(list(lat), 0.95) != np.percentile(lat, 95)


def test_the_profilers_report_uses_janus_quantile():
    rows = [
        ProfileRow("f", 500, 256, 0, i, x, x / 2, 100.0, 0.0) for i, x in enumerate(ONE_TO_TWENTY)
    ]
    [summary] = ProfileReport(rows).summary()
    assert summary["p50_ms"] == 10.0 and summary["cpu_ms_p50"] == 5.0


def test_the_runners_summary_uses_janus_quantile():
    reports = [RunReport(i, "janus", x, 25.0, True) for i, x in enumerate(ONE_TO_TWENTY)]
    s = summarize(reports)
    assert (s["p50_ms"], s["p95_ms"]) == (10.0, 19.0)


def test_the_replay_reports_janus_quantile():
    wf = janus.Workflow("q", deadline_ms=5000, percentile=0.9)
    sizes = [janus.Size(500, 256), janus.Size(1000, 256)]
    wf.add("a", sizes)
    rng = np.random.default_rng(4)
    prof = janus.Profile.from_samples({("a", s): rng.uniform(100, 900, 101) for s in sizes})
    res = janus.simulate(wf, prof, runs=997, seed=1, policies=["static", "maxsize"])
    runs = res.to_pandas()
    for policy, row in res.summary().iterrows():
        lat = list(runs[runs["policy"] == policy]["latency_ms"])
        assert row["p50_ms"] == janus.quantile(lat, 0.5), policy
        assert row["p95_ms"] == janus.quantile(lat, 0.95), policy
