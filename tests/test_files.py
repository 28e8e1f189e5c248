"""Saving and loading hint sets and profiles (issue 9, items 5, 6, 18): only a
regular file is ever replaced (device nodes, FIFOs, sockets and directories are
refused with a typed error naming the path), a new file honours the umask and
an existing one keeps its mode, and reading is bounded: /dev/zero, a FIFO or a
huge file is refused instead of being read forever.

Device nodes are our own copies of /dev/null made with mknod (root only), so a
regression clobbers a file in a temp folder, never the machine's /dev/null."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import janus
from janus.cli import main

REPO = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 64 * 1024 * 1024  # src/file_io.rs


def special_files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out["FIFO"] = fifo
    sock = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock))
    s.close()  # the socket file stays
    out["socket"] = sock
    d = tmp_path / "dir"
    d.mkdir()
    out["directory"] = d
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        out["character device"] = dev
    except PermissionError:
        pass  # not root: the other kinds still run
    return out


def file_kind(p: Path) -> int:
    return stat.S_IFMT(os.lstat(p).st_mode)


@pytest.fixture
def docs(two_stage):
    wf, prof = two_stage
    return janus.synthesize(wf, prof), prof


def savers(docs):
    hints, prof = docs
    return [("HintSet", hints.save, janus.HintError), ("Profile", prof.save, janus.ProfileError)]


def test_save_replaces_only_regular_files(docs, tmp_path):
    specials = special_files(tmp_path)
    if os.geteuid() == 0:
        assert "character device" in specials, "root can make a device node"
    for what, save, error in savers(docs):
        for kind, path in specials.items():
            before = file_kind(path)
            with pytest.raises(error, match="not a regular file") as ei:
                save(path)
            assert str(path) in str(ei.value) and kind in str(ei.value), (what, ei.value)
            assert file_kind(path) == before, f"{what}.save replaced a {kind}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in specials.values())


def test_synthesize_cli_refuses_a_device_node_as_output(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    dev = tmp_path / "null"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    rc = main(
        [
            "synthesize",
            str(REPO / "examples" / "demo_workflow.py"),
            str(REPO / "docs" / "demo-profile.json"),
            "-o",
            str(dev),
        ]
    )
    assert rc == 1
    assert "not a regular file" in capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


def test_modes_follow_the_umask_and_are_kept(docs, tmp_path):
    for what, save, _ in savers(docs):
        kept = tmp_path / f"kept-{what}.json"
        kept.write_text("old")
        kept.chmod(0o644)
        save(kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o644, f"{what} changed an existing mode"
        kept.chmod(0o640)
        save(kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    # New files, in a child process so the umask of this one stays untouched.
    code = textwrap.dedent("""
        import os, sys, janus
        hints, prof = janus.HintSet.load(sys.argv[1]), janus.Profile.load(sys.argv[2])
        for umask in (0o022, 0o077, 0o002):
            os.umask(umask)
            for name, doc in (("h", hints), ("p", prof)):
                path = os.path.join(sys.argv[3], f"{name}-{umask:o}.json")
                doc.save(path)
                print(name, oct(umask), oct(os.stat(path).st_mode & 0o777))
    """)
    h_src, p_src = tmp_path / "kept-HintSet.json", tmp_path / "kept-Profile.json"
    out = subprocess.run(
        [sys.executable, "-c", code, str(h_src), str(p_src), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    for umask in (0o022, 0o077, 0o002):
        for name in ("h", "p"):
            assert f"{name} {oct(umask)} {oct(0o666 & ~umask)}" in lines, out.stdout


def test_loading_refuses_endless_and_special_files(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: opening it for reading would block
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    # In a child process with a memory cap and a timeout: a regression then
    # fails this test instead of eating the machine's memory or hanging.
    code = textwrap.dedent("""
        import resource, sys, janus
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        for path in sys.argv[1:]:
            for load, err in ((janus.HintSet.load, janus.HintError),
                              (janus.Profile.load, janus.ProfileError)):
                try:
                    load(path)
                    print("LOADED", path)
                except err as e:
                    print(type(e).__name__, "|", e)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code, "/dev/zero", str(fifo), str(big)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().split("\n")
    assert len(lines) == 6 and not any(x.startswith("LOADED") for x in lines), out.stdout
    assert sum("/dev/zero: is a character device, not a regular file" in x for x in lines) == 2
    assert sum(f"{fifo}: is a FIFO, not a regular file" in x for x in lines) == 2
    assert sum(f"{big}: {MAX_FILE_BYTES + 1} bytes is more than" in x for x in lines) == 2
