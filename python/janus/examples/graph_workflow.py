"""A graph-analytics workflow: three real algorithms, all driven by the request's graph size.

Each request names a graph by its size (``nodes``) and a ``seed``. Every
stage builds that graph itself (deterministic from the seed, as a function
that reads it from storage would) and runs one algorithm on it in pure
Python: single-threaded CPU work, so more than one core does not help and
the size options are 250m-1000m at a fixed memory.

The graphs are sparse with heavy-tailed degrees: ``EDGE_FACTOR * nodes``
edges whose endpoints are drawn with Pareto weights (a Chung-Lu-like model),
so a few hubs carry many edges, as in web and social graphs. Run time grows
with ``nodes`` at every stage, and the structure drawn from the seed adds a
spread that ``nodes`` does not explain (more at ``triangles``, whose work
goes with the hubs' degrees squared).

1. ``components``: connected components by breadth-first search, then a
   double BFS sweep of the largest one (a lower bound of its diameter).
2. ``pagerank``: ``PAGERANK_ITERATIONS`` power iterations over the edges
   taken as directed (dangling mass spread evenly).
3. ``triangles``: triangles counted by the forward algorithm (each edge
   oriented from lower to higher degree, neighbour sets intersected).

``nodes`` is the workflow's request feature: known when a run starts, it is
recorded on every profiled sample and given to the adapter at every stage.
Sizes are drawn log-uniform between ``MIN_NODES`` and ``MAX_NODES``, so per
stage run times range from a few ms to about 1 s at 1000m (the work grows a
little faster than ``nodes``: larger graphs miss the CPU caches more). Most
requests are small and could run on a quarter core, a few are large and
need a full one, and only the request's size says which before the first
stage runs. Under a real CFS quota (100 ms periods) a call that needs less
than the quota of one period (25 ms of CPU at 250m) is not slowed down at
all: the smallest requests cost a quarter as much at 250m for nothing.

``workflow`` and ``sample_requests`` are what ``janus profile`` expects of a
workflow module; ``make_requests`` draws requests like them from any seed.

    janus profile python/janus/examples/graph_workflow.py --out docs/graph-profile.json
"""

from __future__ import annotations

import math
import random
from collections import deque

import numpy as np

from janus import Workflow, sizes

MIN_NODES, MAX_NODES = 500, 25_000
EDGE_FACTOR = 6  # edges per node: mean degree 12
PARETO_SHAPE = 2.5  # endpoint weights: lower is more skewed (bigger hubs)
PAGERANK_ITERATIONS = 10
DIAMETER_SWEEPS = 4
DAMPING = 0.85
DEADLINE_MS = 2500.0  # e2e deadline at p95 (examples/graph_served.py also serves others)
CPU_OPTIONS = [250, 500, 750, 1000]  # millicores; the functions use one core at most
MEMORY_MIB = 512

Edges = tuple[np.ndarray, np.ndarray]


def graph_edges(nodes: int, seed: int) -> Edges:
    """The request's graph as (source, target) arrays, the same for a given
    (nodes, seed) on every machine: ``EDGE_FACTOR * nodes`` draws of two
    endpoints by Pareto weight, self-loops removed (duplicates are kept, as
    a multigraph)."""
    if nodes < 2:
        raise ValueError(f"a graph needs at least 2 nodes, got {nodes}")
    rng = np.random.default_rng(seed)
    weight = rng.pareto(PARETO_SHAPE, nodes) + 1.0
    cdf = np.cumsum(weight)
    m = EDGE_FACTOR * nodes
    src = np.searchsorted(cdf, rng.random(m) * cdf[-1])
    dst = np.searchsorted(cdf, rng.random(m) * cdf[-1])
    keep = src != dst
    return src[keep], dst[keep]


def undirected(nodes: int, edges: Edges) -> list[list[int]]:
    """Adjacency lists of the graph with edge directions ignored."""
    adj: list[list[int]] = [[] for _ in range(nodes)]
    for u, v in zip(edges[0].tolist(), edges[1].tolist(), strict=True):
        adj[u].append(v)
        adj[v].append(u)
    return adj


def _bfs(adj: list[list[int]], start: int, seen: list[int], mark: int) -> tuple[int, int, int]:
    """Visit start's component, marking nodes with ``mark``; returns
    (nodes visited, farthest node, its distance)."""
    seen[start] = mark
    frontier = deque([(start, 0)])
    count, far, dist = 0, start, 0
    while frontier:
        u, d = frontier.popleft()
        count += 1
        if d > dist:
            far, dist = u, d
        for v in adj[u]:
            if seen[v] != mark:
                seen[v] = mark
                frontier.append((v, d + 1))
    return count, far, dist


def connected_components(nodes: int, edges: Edges, sweeps: int = DIAMETER_SWEEPS) -> dict:
    """Number of components, size of the largest and a lower bound of its
    diameter: ``sweeps`` BFS sweeps, each from the farthest node the last
    one reached (the longest eccentricity seen is a lower bound)."""
    adj = undirected(nodes, edges)
    seen = [0] * nodes
    count, giant, giant_root = 0, 0, 0
    for s in range(nodes):
        if seen[s] == 0:
            count += 1
            size, _, _ = _bfs(adj, s, seen, count)
            if size > giant:
                giant, giant_root = size, s
    start, diameter = giant_root, 0
    for k in range(sweeps):
        _, start, ecc = _bfs(adj, start, seen, -1 - k)
        diameter = max(diameter, ecc)
    return {"components": count, "giant": giant, "diameter_lb": diameter}


def page_rank(nodes: int, edges: Edges, iterations: int = PAGERANK_ITERATIONS) -> list[float]:
    """PageRank by power iteration; ranks sum to 1."""
    out: list[list[int]] = [[] for _ in range(nodes)]
    for u, v in zip(edges[0].tolist(), edges[1].tolist(), strict=True):
        out[u].append(v)
    rank = [1.0 / nodes] * nodes
    base = (1.0 - DAMPING) / nodes
    for _ in range(iterations):
        nxt = [0.0] * nodes
        dangling = 0.0
        for u in range(nodes):
            targets = out[u]
            if targets:
                share = DAMPING * rank[u] / len(targets)
                for v in targets:
                    nxt[v] += share
            else:
                dangling += rank[u]
        spread = base + DAMPING * dangling / nodes
        rank = [x + spread for x in nxt]
    return rank


def triangle_count(nodes: int, edges: Edges) -> int:
    """Triangles of the simple undirected graph (forward algorithm)."""
    neigh = [set(a) for a in undirected(nodes, edges)]
    order = sorted(range(nodes), key=lambda u: (len(neigh[u]), u))
    rank = [0] * nodes
    for i, u in enumerate(order):
        rank[u] = i
    # each node keeps only its higher-ranked neighbours: every triangle is
    # then counted once, at its lowest-ranked corner's lowest edge
    fwd = [{v for v in neigh[u] if rank[v] > rank[u]} for u in range(nodes)]
    return sum(len(fwd[u] & fwd[v]) for u in range(nodes) for v in fwd[u])


def graph_nodes(request: dict) -> float:
    """The request feature: the graph's number of nodes."""
    return float(request["nodes"])


workflow = Workflow("graph", deadline_ms=DEADLINE_MS, percentile=0.95)
workflow.feature("nodes", graph_nodes)
OPTIONS = sizes(CPU_OPTIONS, MEMORY_MIB)


def _graph_of(request: dict) -> tuple[int, Edges]:
    return int(request["nodes"]), graph_edges(int(request["nodes"]), int(request["seed"]))


@workflow.function(options=OPTIONS)
def components(request: dict) -> dict:
    nodes, edges = _graph_of(request)
    return {**request, **connected_components(nodes, edges)}


@workflow.function(options=OPTIONS)
def pagerank(doc: dict) -> dict:
    nodes, edges = _graph_of(doc)
    pr = page_rank(nodes, edges)
    top = max(range(nodes), key=pr.__getitem__)
    return {**doc, "top_node": top, "top_rank": pr[top]}


@workflow.function(options=OPTIONS)
def triangles(doc: dict) -> dict:
    nodes, edges = _graph_of(doc)
    return {**doc, "triangles": triangle_count(nodes, edges)}


workflow.chain(components, pagerank, triangles)


def make_requests(n: int, seed: int = 0, max_nodes: int = MAX_NODES) -> list[dict]:
    """``n`` requests with log-uniform sizes in [MIN_NODES, max_nodes],
    reproducible from ``seed`` (a smaller ``max_nodes``: quick tests)."""
    rng = random.Random(seed)
    lo, hi = math.log(MIN_NODES), math.log(max_nodes)
    return [
        {"id": i, "nodes": round(math.exp(rng.uniform(lo, hi))), "seed": rng.randrange(1 << 30)}
        for i in range(n)
    ]


# What `janus profile` measures: requests like the ones served, from another seed.
SAMPLE_SEED = 2024
sample_requests = make_requests(400, seed=SAMPLE_SEED)
