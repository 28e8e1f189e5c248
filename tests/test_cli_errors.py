"""Every command-line error is one line on stderr and a non-zero exit, found
before any work is done (issue 9, items 12 and 13: one test per case)."""

from __future__ import annotations

from pathlib import Path

import pytest

import janus
from janus.cli import main
from janus.workflow_file import load_workflow_file

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = str(REPO / "examples" / "demo_workflow.py")
PROFILE = str(REPO / "docs" / "demo-profile.json")
SIMULATE = ["simulate", "--workflow", WORKFLOW, "--profile", PROFILE, "--no-plot"]


def one_line_error(capsys, status: int, argv: list[str]) -> str:
    """Run the command: it must exit with `status` and say why in one line."""
    rc = main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == status, (rc, out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"janus {argv[0]}: "), err
    return lines[0]


@pytest.fixture(scope="module")
def hints_file(tmp_path_factory) -> str:
    wf = load_workflow_file(WORKFLOW).workflow
    path = tmp_path_factory.mktemp("hints") / "demo.hints.json"
    janus.synthesize(wf, janus.Profile.load(PROFILE), buckets=100).save(path)
    return str(path)


@pytest.fixture
def marked_workflow(tmp_path) -> tuple[str, Path]:
    """A workflow file that leaves a marker when it is imported: a command
    that checks its outputs first never gets that far."""
    marker = tmp_path / "imported"
    f = tmp_path / "wf.py"
    f.write_text(
        "import pathlib, janus\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "workflow = janus.Workflow('w', deadline_ms=100)\n"
        "workflow.add('a', janus.sizes([250, 500], 64))\n"
        "sample_inputs = {'a': [1]}\n"
    )
    return str(f), marker


# -- item 12 ----------------------------------------------------------------


def test_hints_plot_into_a_missing_folder(hints_file, tmp_path, capsys):
    target = tmp_path / "missing" / "rules.png"
    msg = one_line_error(capsys, 2, ["hints", hints_file, "--plot", str(target)])
    assert "does not exist" in msg and str(target) in msg
    assert not target.parent.exists()


def test_hints_plot_with_an_unknown_extension(hints_file, tmp_path, capsys):
    target = tmp_path / "rules.xyz"
    msg = one_line_error(capsys, 2, ["hints", hints_file, "--plot", str(target)])
    assert "unknown file type .xyz" in msg and ".png" in msg
    assert list(tmp_path.iterdir()) == []


def test_synthesize_negative_buckets(tmp_path, capsys):
    out = tmp_path / "h.json"
    msg = one_line_error(
        capsys, 2, ["synthesize", WORKFLOW, PROFILE, "-o", str(out), "--buckets", "-3"]
    )
    assert "--buckets" in msg and "-3" in msg
    assert not out.exists()


@pytest.mark.parametrize("option, value", [("--runs", "-5"), ("--seed", "-1")])
def test_simulate_negative_runs_or_seed(option, value, tmp_path, capsys):
    msg = one_line_error(capsys, 2, [*SIMULATE, "--out", str(tmp_path / "o"), option, value])
    assert option in msg and value in msg
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [SIMULATE, ["demo", "--dry-run", "--quiet"]])
def test_out_pointing_at_an_existing_file_is_refused(command, tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("keep me")
    msg = one_line_error(capsys, 2, [*command, "--out", str(f)])
    assert "exists and is not a directory" in msg
    assert f.read_text() == "keep me"


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("")
    msg = one_line_error(capsys, 1, [*SIMULATE, "--runs", "10", "--out", str(f / "sub")])
    assert str(f / "sub") in msg  # the OSError names the path it failed on


def test_profile_report_pointing_at_a_directory_fails_before_measuring(
    marked_workflow, tmp_path, capsys
):
    wf, marker = marked_workflow
    out = tmp_path / "p.json"
    argv = ["profile", wf, "--out", str(out), "--report", str(tmp_path), "--dry-run", "--quiet"]
    msg = one_line_error(capsys, 2, argv)
    assert "--report" in msg and "is a directory" in msg
    assert not marker.exists(), "the workflow was loaded (and profiled) before the check"
    assert not out.exists()


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_profile_timeout_must_be_a_positive_number(value, marked_workflow, capsys):
    wf, marker = marked_workflow
    msg = one_line_error(capsys, 2, ["profile", wf, "--timeout", value, "--dry-run"])
    assert "--timeout" in msg
    assert not marker.exists()


# -- item 10 ----------------------------------------------------------------


def test_synthesize_without_out_never_writes_outside_the_folder(tmp_path, capsys, monkeypatch):
    """The default output is <workflow name>.hints.json in the current folder;
    a name that could leave it ("../escaped") is refused when the workflow is made."""
    wf = tmp_path / "wf.py"
    wf.write_text(
        "import janus\n"
        "workflow = janus.Workflow('../escaped', deadline_ms=1000)\n"
        "workflow.add('parse', janus.sizes([500, 1000], 256))\n"
    )
    run_in = tmp_path / "here"
    run_in.mkdir()
    monkeypatch.chdir(run_in)
    msg = one_line_error(capsys, 1, ["synthesize", str(wf), PROFILE])
    assert "WorkflowError" in msg and "workflow name" in msg
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["here", "wf.py"]


# -- item 13 ----------------------------------------------------------------


def test_synthesize_deadline_zero_is_refused_and_a_deadline_is_honoured(tmp_path, capsys):
    out = tmp_path / "h.json"
    argv = ["synthesize", WORKFLOW, PROFILE, "-o", str(out), "--buckets", "100"]
    msg = one_line_error(capsys, 2, [*argv, "--deadline-ms", "0"])
    assert "--deadline-ms" in msg and "greater than 0" in msg
    assert not out.exists()
    assert main([*argv, "--deadline-ms", "1234"]) == 0
    assert janus.HintSet.load(out).workflow.deadline_ms == 1234


def test_synthesize_an_slo_the_profile_cannot_meet_writes_best_effort_and_exits_3(tmp_path, capsys):
    out = tmp_path / "h.json"
    argv = ["synthesize", WORKFLOW, PROFILE, "-o", str(out), "--buckets", "100"]
    assert main([*argv, "--deadline-ms", "50"]) == 3
    err = capsys.readouterr().err
    assert "the SLO cannot be met on this profile" in err and str(out) in err, err
    h = janus.HintSet.load(out)
    assert not h.feasible and h.workflow.deadline_ms == 50


def test_demo_deadline_zero_is_refused(tmp_path, capsys):
    msg = one_line_error(
        capsys, 2, ["demo", "--dry-run", "--out", str(tmp_path / "d"), "--deadline", "0"]
    )
    assert "--deadline" in msg and "greater than 0" in msg
    assert not (tmp_path / "d").exists()


def test_hints_plot_writes_exactly_the_file_it_names(hints_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    # a folder, or a name matplotlib would silently extend to DIR.png: refused
    msg = one_line_error(capsys, 2, ["hints", hints_file, "--plot", str(tmp_path)])
    assert "is a directory" in msg
    one_line_error(capsys, 2, ["hints", hints_file, "--plot", str(tmp_path / "rules")])
    assert list(tmp_path.iterdir()) == []
    # a known extension: that file and no other, and the message names it
    target = tmp_path / "rules.svg"
    assert main(["hints", hints_file, "--plot", str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_text().lstrip().startswith("<?xml")


# -- new-user pass: workflow files and --resume -------------------------------

SMALL_WORKFLOW = """\
import janus
workflow = janus.Workflow({name!r}, deadline_ms=500, percentile=0.9)
workflow.feature("n", lambda r: float(r["n"]))
@workflow.function(options=janus.sizes([500, 1000], 256))
def a(r): return r
@workflow.function(options=janus.sizes([250, 500], 256))
def b(r): return r["n"]
workflow.chain(a, b)
sample_requests = {requests}
"""


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "import janus\nworkflow = janus.Workflow('w', deadline_ms=1000)\nworkflow.chian('a')\n",
            "wf.py:3: AttributeError: 'Workflow' object has no attribute 'chian'",
        ),
        (
            "import janus\nworkflow = janus.Workflow('w', deadline_ms=1000\n",
            "wf.py:2: SyntaxError: ",
        ),
        (
            "\nimport janus_no_such_module\n",
            "wf.py:2: ModuleNotFoundError: No module named 'janus_no_such_module'",
        ),
    ],
    ids=["typo", "syntax", "import"],
)
def test_a_workflow_file_that_raises_is_one_line_naming_file_and_line(
    source, expected, tmp_path, capsys, monkeypatch
):
    """Not a traceback through janus.cli: the user's file, line and error,
    exit 1 like any other bad input file."""
    (tmp_path / "wf.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "h.json"
    msg = one_line_error(capsys, 1, ["synthesize", "wf.py", PROFILE, "-o", str(out)])
    assert msg.startswith(f"janus synthesize: {expected}"), msg
    assert not out.exists()


def test_sample_requests_that_are_not_a_list_are_refused_before_any_worker(tmp_path, capsys):
    wf = tmp_path / "wf.py"
    wf.write_text(SMALL_WORKFLOW.format(name="small", requests="5"))
    out = tmp_path / "p.json"
    # one line: the pool's "janus profile: small (a, b), actuator ..." never came
    msg = one_line_error(capsys, 1, ["profile", str(wf), "--out", str(out), "--dry-run"])
    assert "sample_requests must be a list (or iterable) of requests, got int" in msg
    assert not out.exists()


def _other_profiles() -> dict[str, tuple[janus.Profile, str]]:
    """Profiles --resume must refuse for SMALL_WORKFLOW, and what the error names."""
    size = janus.Size(500, 256)

    def keyed(fn: str, s: janus.Size, features: list[str]) -> janus.Profile:
        p = janus.Profile(features)
        p.add(fn, s, [1.0], keys=["r0"], features=[[1.0] * len(features)])
        return p

    unkeyed = janus.Profile()
    unkeyed.add("a", size, [1.0, 2.0])
    return {
        "other-workflow": (keyed("zz", size, ["n"]), "functions zz are not stages (a, b)"),
        "other-size": (keyed("a", janus.Size(2000, 256), ["n"]), "a has sizes 2000m/256Mi"),
        "other-features": (keyed("a", size, ["mib"]), "features [mib]"),
        "per-stage": (unkeyed, "per-stage, not keyed"),
    }


@pytest.mark.parametrize("case", list(_other_profiles()))
def test_profile_resume_refuses_another_workflows_profile_before_measuring(case, tmp_path, capsys):
    wf = tmp_path / "wf.py"
    wf.write_text(SMALL_WORKFLOW.format(name="small", requests='[{"n": 1}, {"n": 2}]'))
    other, names = _other_profiles()[case]
    out = tmp_path / "p.json"
    other.save(out)
    before = out.read_bytes()
    argv = ["profile", str(wf), "--out", str(out), "--resume", "--dry-run", "--quiet"]
    msg = one_line_error(capsys, 1, argv)
    assert f"cannot resume {out}" in msg and "'small'" in msg and names in msg, msg
    assert out.read_bytes() == before


def test_synthesize_reads_a_csv_profile(tmp_path, capsys):
    """A .csv profile is read as CSV (janus.Profile.from_csv), not as JSON."""
    prof = janus.Profile.load(PROFILE)
    names = prof.feature_names
    rows = [
        "function,cpu_millis,memory_mib,key,latency_ms," + ",".join(f"feature.{n}" for n in names)
    ]
    for fn in prof.functions:
        for s in prof.sizes(fn):
            for x, k, f in zip(prof.latencies(fn, s), prof.keys(fn, s), prof.features(fn, s)):
                values = ",".join(str(float(v)) for v in [x, *f])
                rows.append(f"{fn},{s.cpu_millis},{s.memory_mib},{k},{values}")
    csv = tmp_path / "profile.csv"
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "h.json"
    assert main(["synthesize", WORKFLOW, str(csv), "-o", str(out), "--buckets", "100"]) == 0, (
        capsys.readouterr().err
    )
    from_json = tmp_path / "j.json"
    assert main(["synthesize", WORKFLOW, PROFILE, "-o", str(from_json), "--buckets", "100"]) == 0
    # the same samples, keys and features: the same synthesis, classes tried included
    synthesis = [janus.HintSet.load(f).provenance["synthesis"] for f in (out, from_json)]
    assert "keyed_requests=200" in synthesis[0] and synthesis[0] == synthesis[1]
