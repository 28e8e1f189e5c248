"""`janus simulate` end to end: ORION traces and a workflow file + profile JSON."""

from __future__ import annotations

import numpy as np
import pytest

import janus
from janus.analysis import orion_dir
from janus.cli import main

pytest.importorskip("pandas")


def test_orion_with_sweep(tmp_path, capsys):
    try:
        path = orion_dir("ml_pipeline")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    out = tmp_path / "out"
    rc = main(
        [
            "simulate",
            "--orion",
            str(path),
            "--deadline-ms",
            "16000",
            "--runs",
            "800",
            "--out",
            str(out),
            "--coupling",
            "both",
            "--sweep",
            "--factors",
            "1.1",
            "1.5",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "coupling=rank" in text and "coupling=independent" in text and "oracle" in text
    for f in [
        "ml_pipeline_rank_summary.csv",
        "ml_pipeline_independent_summary.csv",
        "ml_pipeline_rank_summary.png",
        "ml_pipeline_sweep.csv",
        "ml_pipeline_sweep.png",
    ]:
        assert (out / f).stat().st_size > 0, f


def test_workflow_file_and_profile_json(tmp_path, capsys):
    sizes = [janus.Size(500, 512), janus.Size(2000, 2048)]
    rng = np.random.default_rng(0)
    prof = janus.Profile.from_samples(
        {
            (f, s): w / s.cores * rng.lognormal(0, 0.3, 60)
            for f, w in [("a", 200.0), ("b", 500.0)]
            for s in sizes
        }
    )
    prof.save(str(tmp_path / "profile.json"))
    (tmp_path / "wf.py").write_text(
        "import janus\n"
        "S = [janus.Size(500, 512), janus.Size(2000, 2048)]\n"
        "workflow = janus.Workflow('two', deadline_ms=1500, percentile=0.9)\n"
        "workflow.add('a', S)\nworkflow.add('b', S)\nworkflow.chain('a', 'b')\n"
    )
    rc = main(
        [
            "simulate",
            "--workflow",
            str(tmp_path / "wf.py"),
            "--profile",
            str(tmp_path / "profile.json"),
            "--runs",
            "500",
            "--out",
            str(tmp_path / "o"),
            "--no-plot",
        ]
    )
    assert rc == 0
    assert "two: deadline 1500 ms at p90" in capsys.readouterr().out
    assert (tmp_path / "o" / "two_auto_summary.csv").exists()


def test_errors_are_reported_not_raised(tmp_path, capsys):
    (tmp_path / "wf.py").write_text("x = 1\n")
    (tmp_path / "p.json").write_text("[]")
    rc = main(
        ["simulate", "--workflow", str(tmp_path / "wf.py"), "--profile", str(tmp_path / "p.json")]
    )
    assert rc == 1
    assert "defines no `workflow`" in capsys.readouterr().err
    rc = main(["simulate", "--orion", str(tmp_path / "nope"), "--deadline-ms", "5"])
    assert rc == 1 and "no such folder" in capsys.readouterr().err
    # a trace with only end-to-end lines (issue 9, item 11): one line, no traceback
    (tmp_path / "e2e").mkdir()
    (tmp_path / "e2e" / "rsc_1000_1000.txt").write_text("E2E:30\nE2E:40\n")
    rc = main(["simulate", "--orion", str(tmp_path / "e2e"), "--deadline-ms", "5"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "no executions with stage latencies" in err, err
