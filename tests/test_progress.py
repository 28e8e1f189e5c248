"""The runtime's progress bar: silent when disabled, a few lines into a log."""

from janus.runtime.progress import Bar


def test_disabled_bar_writes_nothing(capsys):
    bar = Bar(50, "profiling", enabled=False)
    for i in range(50):
        bar.update(1, f"step {i}")
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_bar_into_a_log_shows_label_count_and_note_about_every_10_percent(capsys):
    bar = Bar(100, "serving", enabled=True)
    for i in range(100):
        bar.update(1, f"run {i}")
    bar.close()
    out, err = capsys.readouterr()
    assert out == ""
    last = err.strip().split("\r")[-1]
    assert last.startswith("serving") and "100/100" in last and "run 99" in last, last
    assert 5 <= err.count("\r") <= 15, err  # stderr is not a terminal here: not one line per step
