"""The command line outside the runtime and analysis: synthesize and hints."""

from pathlib import Path

import pytest

import janus
from janus.cli import main

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
    assert h.classes is not None  # the demo's parse declares its payload size
    png = tmp_path / "rules.png"
    assert main(["hints", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    for fn in h.workflow.stages:
        assert f"\n{fn} (options:" in text
    assert "input class 0" in text and "remaining >=" in text
    assert png.stat().st_size > 10_000


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
    assert "'boundaries': [8.0]" in out  # the input-size feature split small from large
    assert "hint sets swapped in: 1" in out
