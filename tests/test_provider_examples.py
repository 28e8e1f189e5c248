"""The provider examples run: OpenWhisk deploy commands, Knative manifests,
and the action and router modules import cleanly."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

from serve_support import TESTS

EX = TESTS.parent / "examples"


def run(script: str, *args: str) -> str:
    r = subprocess.run([sys.executable, str(EX / script), *args], capture_output=True, text=True,
                       timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_openwhisk_deploy_script_creates_every_variant_and_the_conductor():
    script = run("openwhisk/deploy.py")
    lines = script.splitlines()
    assert lines[:3] == ["#!/bin/sh", "set -e", "wsk package update janus-demo"]
    variants = [ln.split()[3] for ln in lines if ln.startswith("wsk action update")]
    # parse: 2 options, transform: 3, store: 3, then the conductor.
    assert len(variants) == 9 and variants[-1] == "janus-demo/demo"
    assert "janus-demo/transform@2000m-512Mi" in variants
    assert lines[-1].endswith("-a conductor true")


def test_openwhisk_actions_and_knative_router_load():
    for f in ("openwhisk/conductor.py", "openwhisk/step.py", "knative/router.py"):
        mod = runpy.run_path(str(EX / f))  # __main__ guards keep servers from starting
        assert callable(mod.get("main") or mod.get("new")), f
    router = runpy.run_path(str(EX / "knative/router.py"))["new"]()
    assert router.function == "transform"


def test_knative_manifests_list_every_variant():
    out = json.loads(run("knative/manifests.py", "registry.example/demo:1"))
    names = [i["metadata"]["name"] for i in out["items"]]
    assert len(names) == 8 and "transform-2000m-512mi" in names
    assert all(i["kind"] == "Service" for i in out["items"])
