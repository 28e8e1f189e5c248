"""The command line outside the runtime and analysis: synthesize and hints."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import janus
from janus.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert janus.__version__ in capsys.readouterr().out


def test_synthesize_then_show_hints(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo.hints.json"
    rc = main(
        [
            "synthesize",
            str(REPO / "examples" / "demo_workflow.py"),
            str(REPO / "docs" / "demo-profile.json"),
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    h = janus.HintSet.load(out)
    assert h.workflow.stages == ["parse", "transform", "store"]
    assert h.classes is not None  # the demo's requests carry their payload size
    png = tmp_path / "rules.png"
    assert main(["hints", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    for fn in h.workflow.stages:
        assert f"\n{fn} (options:" in text
    assert "input class 0" in text and "remaining >=" in text
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize("flag", ["crossfit", "bands", "lockstep", "beyond"])
def test_synthesize_forwards_on_off_flags_and_refuses_a_bad_value(tmp_path, capsys, flag):
    args = ["synthesize", str(REPO / "examples" / "demo_workflow.py")]
    args += [str(REPO / "docs" / "demo-profile.json"), "-o", str(tmp_path / "h.json")]
    assert main([*args, f"--{flag}", "off"]) == 0
    assert f"{flag}=false" in janus.HintSet.load(tmp_path / "h.json").provenance["synthesis"]
    assert main([*args, f"--{flag}", "maybe"]) == 2
    assert "expected on or off" in capsys.readouterr().err


def test_cli_errors_are_one_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1')
    assert main(["hints", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "HintError" in err and "truncated" in err
    assert main(["synthesize", str(tmp_path / "nope.py"), str(bad)]) == 1
    assert "no such workflow file" in capsys.readouterr().err


def test_plot_hints_has_a_panel_per_function(two_stage):
    pytest.importorskip("matplotlib")
    from janus.analysis import plot_hints

    wf, prof = two_stage
    fig = plot_hints(janus.synthesize(wf, prof))
    cpu_axes = [a for a in fig.axes if a.get_ylabel().endswith("CPU (m)")]
    assert [a.get_ylabel().split("\n")[0] for a in cpu_axes] == ["a", "b"]


def test_quickstart_example_runs(capsys):
    import runpy

    runpy.run_path(str(REPO / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "classes: ['mib < 4.5', 'mib >= 4.5']" in out  # the payload size split small from large
    assert "hint sets swapped in: 1" in out


@pytest.mark.parametrize("command", [c[0] for c in COMMANDS])
def test_every_registered_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert f"usage: janus {command}" in capsys.readouterr().out


def test_python_dash_m_janus_is_the_same_command():
    r = subprocess.run(
        [sys.executable, "-m", "janus", "hints", "/nonexistent.json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1 and r.stderr.startswith("janus hints: HintError:"), r


def test_library_modules_do_not_import_the_cli():
    """The command line uses the library, never the other way round."""
    pkg = Path(janus.__file__).parent
    for f in pkg.rglob("*.py"):
        if f.relative_to(pkg).parts[0] in ("cli", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "janus.cli" or n.startswith("janus.cli.") for n in names), f


def test_synthesize_help_says_max_classes_is_automatic(capsys):
    """The core picks 8 to 16 classes by the profile's keyed requests
    (provenance max_classes=auto(n)); the help must not claim a fixed 8."""
    with pytest.raises(SystemExit):
        main(["synthesize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    help_ = text.split("--max-classes MAX_CLASSES", 2)[2].split(" --", 1)[0]
    assert "auto" in help_ and "8 to 16" in help_ and "(8)" not in help_, help_


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """`janus synthesize ... | head -1`: no "Broken pipe" message and no
    "Exception ignored" at exit; status 1, as Python's docs do on EPIPE."""
    p = subprocess.Popen(
        [sys.executable, "-m", "janus", "synthesize", str(REPO / "examples" / "demo_workflow.py")]
        + [
            str(REPO / "docs" / "demo-profile.json"),
            "-o",
            str(tmp_path / "h.json"),
            "--buckets",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    p.stdout.close()  # the reader is gone before the first line
    try:
        err = p.stderr.read()
        assert p.wait(timeout=60) == 1 and err == "", err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
