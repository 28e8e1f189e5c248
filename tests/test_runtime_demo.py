"""`janus demo`, `janus profile` and `janus cgroups` end to end, in a reduced mode."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest
from runtime_support import PREFIX, cgroups_or_skip, real_actuator

import janus
from janus.cli import main


@pytest.mark.slow
def test_demo_reduced(tmp_path, capsys):
    cgroups_or_skip(PREFIX + "probe")
    out = tmp_path / "demo"
    rc = main(["demo", "--requests", "6", "--profile-requests", "8", "--out", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "actuator: cgroup-v" in text
    header = next(line for line in text.splitlines() if "janus" in line and "static" in line)
    assert header.split() == ["janus", "static"]
    for row in (
        "SLO attainment",
        "95 % interval",
        "SLO (p90)",
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
    prof = janus.Profile.load(str(out / "profile.json"))
    # every profiled request measured at every stage and size, with its payload size
    assert prof.is_keyed and prof.feature_names == ["kb"]
    assert len(prof.keys("store", janus.Size(250, 256))) == 8
    # the saving is never printed without the SLO verdicts beside it
    saving = next(line for line in text.splitlines() if "saving vs static" in line)
    assert "SLO: janus " in saving and ", static " in saving


@pytest.mark.slow
def test_demo_dry_run_says_so(tmp_path, capsys):
    rc = main(
        [
            "demo",
            "--requests",
            "2",
            "--profile-requests",
            "2",
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
    # The saving line is followed by what it is worth on a dry run (a new
    # user saw "janus saving 5.2 %" where both policies ran the same sizes).
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("janus saving vs static"))
    assert lines[at + 1].startswith(
        "DRY RUN: sizes were not enforced, so this compares bookkeeping"
    )


def test_profile_cli_on_a_user_file(tmp_path, capsys):
    cgroups_or_skip(PREFIX + "probe")
    f = tmp_path / "mywf.py"
    f.write_text(
        textwrap.dedent("""
        import time
        import janus

        workflow = janus.Workflow("mine", deadline_ms=500)
        workflow.feature("n", len)

        @workflow.function(options=janus.sizes([250, 1000], 128))
        def step(x):
            time.sleep(0.005 * len(x))
            return len(x)

        sample_requests = ["ab", "abcd"]
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
    assert prof.functions == ["step"] and len(prof.sizes("step")) == 2
    assert len(prof.latencies("step", janus.Size(250, 128))) == 4
    assert sorted(prof.keys("step", janus.Size(250, 128))) == ["r0", "r0", "r1", "r1"]
    assert prof.feature_names == ["n"]
    assert csv.read_text().splitlines()[0].startswith("function,cpu_millis")
    assert main(["profile", str(tmp_path / "missing.py")]) == 1


def test_cgroups_cli_lists_and_removes_only_empty_cgroups(capsys):
    """`janus cgroups ls|gc` on real cgroups of this test's own: a cgroup of
    ours is the --base, so the machine's shared janus root (where other runs
    may have just created theirs) is never swept."""
    act = real_actuator(PREFIX + "cli")
    mount = act.worker_dirs("x")[0].parents[2]  # <mount>/janus/<pool>/<worker>
    act.remove_all()
    base = mount / (PREFIX + "cgbase")
    pool = base / "janus" / "p"
    idle = [pool / "w1", pool / "w2"]
    busy = pool / "busy"
    child = None
    try:
        for d in [*idle, busy]:
            d.mkdir(parents=True)
        child = subprocess.Popen(["sleep", "30"])
        (busy / "cgroup.procs").write_text(str(child.pid))

        assert main(["cgroups", "ls", "--base", str(base)]) == 0
        listed = {}
        for line in capsys.readouterr().out.splitlines():
            n, path = line.split(" procs  ")
            listed[path] = int(n)
        assert listed == {str(base / "janus"): 0, str(pool): 0, str(busy): 1} | {
            str(d): 0 for d in idle
        }

        assert main(["cgroups", "gc", "--base", str(base)]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[-1] == "removed 2 cgroup(s); 1 still hold processes (a live run?)"
        assert all(f"removed {d}\n" in out for d in idle), out
        assert busy.is_dir() and not any(d.exists() for d in idle)

        child.kill()
        child.wait()
        assert main(["cgroups", "gc", "--base", str(base)]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == "removed 3 cgroup(s)"  # busy, p, janus
        assert main(["cgroups", "ls", "--base", str(base)]) == 0
        assert capsys.readouterr().out == "no Janus cgroups\n"
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        for d in [*idle, busy, pool, base / "janus", base]:
            if d.is_dir():
                d.rmdir()
