"""`janus demo`, `janus profile` and `janus cgroups` end to end, in a reduced mode."""

from __future__ import annotations

import json
import textwrap

from runtime_support import PREFIX, cgroups_or_skip

import janus
from janus.cli import main


def test_demo_reduced(tmp_path, capsys):
    cgroups_or_skip(PREFIX + "probe")
    out = tmp_path / "demo"
    rc = main(["demo", "--requests", "6", "--repetitions", "2", "--out", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "actuator: cgroup-v" in text
    header = next(line for line in text.splitlines() if "janus" in line and "static" in line)
    assert header.split() == ["janus", "static"]
    for row in (
        "SLO attainment",
        "p50 latency",
        "p95 latency",
        "resource use (cost units)",
        "CPU-core-s allocated",
        "GiB-s allocated",
    ):
        assert row in text
    for f in ("profile.json", "hints.json", "runs.csv", "summary.json", "demo.png"):
        assert (out / f).stat().st_size > 0, f
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["summaries"]) == {"janus", "static"}
    assert all(s["runs"] == 6 for s in summary["summaries"].values())
    assert summary["pool_kind"].startswith("cgroup-v")
    janus.HintSet.load(str(out / "hints.json"))
    assert len(janus.Profile.load(str(out / "profile.json"))) > 0


def test_demo_dry_run_says_so(tmp_path, capsys):
    rc = main(
        [
            "demo",
            "--requests",
            "2",
            "--repetitions",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
            "--dry-run",
            "--deadline",
            "2000",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "actuator: dry-run (DRY RUN: sizes are recorded, NOT enforced" in text


def test_profile_cli_on_a_user_file(tmp_path, capsys):
    cgroups_or_skip(PREFIX + "probe")
    f = tmp_path / "mywf.py"
    f.write_text(
        textwrap.dedent("""
        import time
        import janus

        workflow = janus.Workflow("mine", deadline_ms=500)

        @workflow.function(options=janus.sizes([250, 1000], 128), feature=len)
        def step(x):
            time.sleep(0.005 * len(x))
            return len(x)

        sample_inputs = {"step": ["ab", "abcd"]}
    """)
    )
    out = tmp_path / "p.json"
    csv = tmp_path / "p.csv"
    rc = main(
        [
            "profile",
            str(f),
            "--repetitions",
            "2",
            "--out",
            str(out),
            "--report",
            str(csv),
            "--quiet",
        ]
    )
    assert rc == 0, capsys.readouterr()
    prof = janus.Profile.load(str(out))
    assert prof.functions() == ["step"] and len(prof.sizes("step")) == 2
    assert len(prof.latencies("step", janus.Size(250, 128))) == 4
    assert csv.read_text().splitlines()[0].startswith("function,cpu_millis")
    assert main(["profile", str(tmp_path / "missing.py")]) == 1


def test_cgroups_cli(capsys):
    assert main(["cgroups", "ls"]) == 0
    assert main(["cgroups", "gc"]) == 0
    assert "removed" in capsys.readouterr().out
