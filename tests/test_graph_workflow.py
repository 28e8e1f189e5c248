"""The graph-analytics workflow: its algorithms against brute force, its
request stream, a keyed profile of it under real cgroups, and the served
evaluation (examples/graph_served.py) end to end on a tiny case."""

from __future__ import annotations

import runpy
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from runtime_support import PREFIX, cgroups_or_skip

from janus.examples import graph_workflow as gw
from janus.runtime import ProfileReport, WorkerPool, profile_workflow
from janus.runtime.functions import pickle_function
from janus.workflow_file import load_workflow_file

ROOT = Path(__file__).resolve().parent.parent


def simple_adjacency(nodes: int, edges) -> np.ndarray:
    a = np.zeros((nodes, nodes), dtype=np.int64)
    a[edges[0], edges[1]] = 1
    a[edges[1], edges[0]] = 1
    return a


def test_graphs_are_deterministic_per_seed():
    a, b, c = gw.graph_edges(400, 7), gw.graph_edges(400, 7), gw.graph_edges(400, 8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    # EDGE_FACTOR * nodes draws, minus self-loops (rare with 400 nodes)
    assert 0.9 * gw.EDGE_FACTOR * 400 < len(a[0]) <= gw.EDGE_FACTOR * 400
    assert (a[0] != a[1]).all() and a[0].max() < 400 and a[1].max() < 400
    req = {"id": 0, "nodes": 600, "seed": 11}
    out1 = gw.triangles(gw.pagerank(gw.components(req)))
    out2 = gw.triangles(gw.pagerank(gw.components(dict(req))))
    assert out1 == out2
    assert {"components", "giant", "diameter_lb", "top_node", "triangles"} <= set(out1)
    with pytest.raises(ValueError, match="at least 2 nodes"):
        gw.graph_edges(1, 0)


def test_algorithms_match_brute_force():
    for nodes, seed in ((60, 1), (150, 2), (300, 3)):
        edges = gw.graph_edges(nodes, seed)
        adj = simple_adjacency(nodes, edges)
        # triangles: trace(A^3) / 6 on the simple graph
        assert gw.triangle_count(nodes, edges) == int(np.trace(adj @ adj @ adj)) // 6
        # components: the transitive closure by repeated squaring of (A + I)
        reach = (adj + np.eye(nodes, dtype=np.int64)) > 0
        for _ in range(int(np.ceil(np.log2(nodes))) + 1):
            reach = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
        labels = {tuple(row) for row in reach}
        cc = gw.connected_components(nodes, edges)
        assert cc["components"] == len(labels)
        assert cc["giant"] == max(int(row.sum()) for row in reach)
        # PageRank: the stationary vector of the Google matrix, by linear algebra
        out = np.zeros((nodes, nodes))
        np.add.at(out, (edges[0], edges[1]), 1.0)  # multi-edges count, as in page_rank
        deg = out.sum(axis=1)
        trans = np.where(deg[:, None] > 0, out / np.maximum(deg, 1)[:, None], 1.0 / nodes)
        google = gw.DAMPING * trans + (1 - gw.DAMPING) / nodes
        exact = np.linalg.matrix_power(google.T, 200) @ np.full(nodes, 1.0 / nodes)
        pr = np.array(gw.page_rank(nodes, edges, iterations=200))
        assert pr.sum() == pytest.approx(1.0)
        assert np.allclose(pr, exact, atol=1e-9)


def test_work_grows_with_nodes():
    """CPU time of each stage (robust to load) at 1k vs 8k nodes: ~8x the
    edges, superlinear work; a loose bound, no absolute time."""

    def cpu(fn, nodes):
        req = {"id": 0, "nodes": nodes, "seed": 5}
        t = time.thread_time()
        fn(req)
        return time.thread_time() - t

    for fn in (gw.components, gw.pagerank, gw.triangles):
        small = min(cpu(fn, 1000) for _ in range(3))
        assert cpu(fn, 8000) > 4 * small, fn.__name__


def test_requests_are_reproducible_and_log_uniform():
    a, b = gw.make_requests(500, seed=3), gw.make_requests(500, seed=3)
    assert a == b and a != gw.make_requests(500, seed=4)
    nodes = np.array([r["nodes"] for r in a])
    assert nodes.min() >= gw.MIN_NODES and nodes.max() <= gw.MAX_NODES
    # log-uniform: the median near the geometric mean of the bounds
    assert abs(np.log(np.median(nodes)) - np.log(gw.MIN_NODES * gw.MAX_NODES) / 2) < 0.4
    assert gw.workflow.request_features(a[0]) == [float(a[0]["nodes"])]
    assert gw.workflow.features == ["nodes"] and gw.workflow.percentile == 0.95
    assert len(gw.sample_requests) == 400
    assert gw.sample_requests == gw.make_requests(400, gw.SAMPLE_SEED)
    assert max(r["nodes"] for r in gw.make_requests(50, 1, max_nodes=900)) <= 900


def test_functions_of_a_workflow_file_inside_janus_travel_by_value():
    """`janus profile python/janus/examples/graph_workflow.py` loads the file
    under a private module name: its functions must be pickled by value even
    though the file lies inside the janus package (a worker cannot import
    the private name)."""
    mod = load_workflow_file(Path(gw.__file__))
    blob = pickle_function("components", mod.components)
    code = (
        "import sys, cloudpickle; f = cloudpickle.loads(sys.stdin.buffer.read()); "
        "print(f({'id': 0, 'nodes': 50, 'seed': 1})['giant'])"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], input=blob, capture_output=True, timeout=60, check=False
    )
    assert r.returncode == 0, r.stderr.decode()
    assert int(r.stdout) == gw.components({"id": 0, "nodes": 50, "seed": 1})["giant"]


def test_keyed_profile_under_real_cgroups():
    cgroups_or_skip(PREFIX + "probe")
    wf = load_workflow_file(Path(gw.__file__)).workflow  # as `janus profile` loads it
    reqs = gw.make_requests(3, seed=9, max_nodes=1200)
    report = ProfileReport()
    with WorkerPool(wf, size=1, pool_name=PREFIX + "graph") as pool:
        assert pool.enforced
        prof = profile_workflow(wf, reqs, pool=pool, progress=False, report=report)
    assert report.actuator.startswith("cgroup-v") and not report.failures
    assert prof.is_keyed and prof.feature_names == ["nodes"]
    prof.check_covers(wf.native)
    for st in ("components", "pagerank", "triangles"):
        assert set(prof.sizes(st)) == set(gw.OPTIONS)
        for size in gw.OPTIONS:
            keys = prof.keys(st, size)
            assert sorted(keys) == ["r0", "r1", "r2"]
            nodes = {k: f[0] for k, f in zip(keys, prof.features(st, size), strict=True)}
            assert nodes == {f"r{i}": float(r["nodes"]) for i, r in enumerate(reqs)}
            assert (prof.latencies(st, size) > 0).all()
    # every call ran inside a cgroup capped at its size
    assert {(r["cpu_millis"], r["memory_mib"]) for r in report.to_rows()} == {
        (s.cpu_millis, s.memory_mib) for s in gw.OPTIONS
    }


@pytest.mark.slow
def test_served_evaluation_end_to_end(tmp_path):
    cgroups_or_skip(PREFIX + "probe")
    reqs = gw.make_requests(12, seed=4, max_nodes=1500)
    with WorkerPool(gw.workflow, size=1, pool_name=PREFIX + "graphp") as pool:
        prof = profile_workflow(gw.workflow, reqs, pool=pool, progress=False)
    path = tmp_path / "p.json"
    prof.save(path)
    out = tmp_path / "served.md"
    served = runpy.run_path(str(ROOT / "examples" / "graph_served.py"))
    argv = ["--profile", str(path), "--out", str(out), "--requests", "12", "--request-seed", "4"]
    argv += ["--max-nodes", "1500", "--deadlines-ms", "150", "400", "--limit", "4", "--quiet"]
    assert served["main"](argv) == 0
    text = out.read_text()
    assert text.count("## Deadline") == 2 and "## Deadline 150 ms" in text
    rows = [ln for ln in text.splitlines() if ln.startswith(("| janus ", "| static ", "| oracle"))]
    assert len(rows) == 6
    for row in rows:
        if row.startswith("| oracle"):
            continue
        cells = [c.strip() for c in row.strip("|").split("|")]
        att = float(cells[1].split()[0])
        assert 0.0 <= att <= 1.0 and cells[2] in ("met", "within error", "MISSED")
        assert float(cells[3]) > 0  # served cost per run
    assert "static | " in text and "+0.0 %" in text  # static against itself
    # a request of another stream is refused, not silently mismatched
    with pytest.raises(SystemExit, match="is not request"):
        served["main"]([*argv[:6], "--request-seed", "5", "--max-nodes", "1500", "--quiet"])
