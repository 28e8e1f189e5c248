"""cloudpickle is the `runtime` extra: `import janus`, the Adapter, synthesis
and `janus synthesize` work without it; importing the runtime without it says
which extra to install. Run in a child process in which cloudpickle cannot be
imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WITHOUT_CLOUDPICKLE = """
import sys

class NoCloudpickle:
    def find_spec(self, name, path=None, target=None):
        if name == "cloudpickle" or name.startswith("cloudpickle."):
            raise ModuleNotFoundError("No module named 'cloudpickle' (hidden by the test)")
        return None

sys.meta_path.insert(0, NoCloudpickle())
"""


def run(body: str, *args: str) -> subprocess.CompletedProcess:
    code = WITHOUT_CLOUDPICKLE + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_janus_and_the_adapter_work_without_cloudpickle(tmp_path):
    out = run(
        """
        import sys
        import janus
        from janus.cli import main
        wf = janus.Workflow("w", deadline_ms=1000, percentile=0.9)
        small, big = janus.Size(500, 256), janus.Size(2000, 256)
        wf.add("a", [small, big])
        prof = janus.Profile.from_samples({("a", small): [600.0] * 20, ("a", big): [200.0] * 20})
        d = janus.Adapter(janus.synthesize(wf, prof)).decide("a", elapsed_ms=100)
        assert d.size in (small, big)
        assert main(["synthesize", sys.argv[1], sys.argv[2], "-o", sys.argv[3]]) == 0
        assert "cloudpickle" not in sys.modules
        print("ok")
        """,
        str(REPO / "examples" / "demo_workflow.py"),
        str(REPO / "docs" / "demo-profile.json"),
        str(tmp_path / "h.json"),
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr


def test_the_runtime_names_the_extra_to_install():
    out = run(
        """
        import janus
        for get in (lambda: __import__("janus.runtime"), lambda: janus.WorkerPool):
            try:
                get()
                print("imported")
            except ImportError as e:
                print("ImportError:", e)
        """
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().split("\n")
    assert len(lines) == 2 and all("pip install 'janus[runtime]'" in x for x in lines), lines
