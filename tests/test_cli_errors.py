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
