"""A hint set described for people: what synthesis predicted and every rule.

Used by ``janus hints`` and ``janus synthesize`` (text) and by
``janus.analysis.plot_hints`` (the order of the tables).
"""

from __future__ import annotations

from janus._janus import HintSet


def table_keys(h: HintSet) -> list[int | None]:
    """The tables of every hint, in order: each input class, then None (class unknown)."""
    c = h.classes
    return [None] if c is None else [*range(c["count"]), None]


def table_label(h: HintSet, key: int | None) -> str:
    """`input class 1 (kb >= 6000)`, `features unknown` or `all inputs`."""
    c = h.classes
    if key is None:
        return "all inputs" if c is None else "features unknown"
    return f"input class {key} ({c['classes'][key]['description']})" if c else f"input class {key}"


def summary_lines(h: HintSet) -> list[str]:
    """What synthesis predicted over all requests and per table, and its warnings."""
    p = h.plan
    out = [
        (
            f"  plan over all requests: expected cost {p['expected_cost']:.4g}, miss "
            f"{p['miss_probability']:.4f} (allowed {p['miss_target']:.4f})"
            f"{'' if p['feasible'] else ', INFEASIBLE'}"
        ),
        f"  chosen '{p['chosen']}': {p['reason']}",
        "  candidates: "
        + "; ".join(
            f"{c['name']} {c['expected_cost']:.4g}{'' if c['feasible'] else ' (misses)'}"
            for c in p["candidates"]
        ),
        f"  late runs get: {h.late}",
    ]
    for s in h.summary:
        share = "" if s["class"] is None else f", {100 * s['weight']:.0f} % of requests"
        out.append(
            f"  {table_label(h, s['class'])}: expected cost {s['expected_cost']:.4g}, "
            f"miss {s['miss_probability']:.4f}{share}, source {s['source']}"
        )
        if s["mix"] is not None:
            out.append(
                f"    per-run mixture: {100 * s['mix']:.1f} % of keyed runs follow the cheaper "
                f"alternative rules; runs without a run key get cost {s['primary_cost']:.4g}, "
                f"miss {s['primary_miss_probability']:.4f}"
            )
    return out + [f"  warning: {w}" for w in h.warnings]


def describe(h: HintSet, origin: str) -> list[str]:
    """Header, provenance, predictions, then every function's rules per table."""
    wf = h.workflow
    prov = h.provenance
    header = (
        f"{origin}: workflow '{wf.name}', deadline {wf.deadline_ms:g} ms at "
        f"p{100 * wf.percentile:g}, {h.rule_count} rules, {h.size_bytes} bytes, "
        f"schema {h.schema_version}"
    )
    source = (
        f"  from profile {prov['profile_digest'][:12]}..., janus {prov['janus_version']}: "
        f"{prov['synthesis']}"
    )
    out = [header, source, *summary_lines(h)]
    c = h.classes
    if c is not None:
        out.append(f"  input classes over request features {c['features']}:")
        out += [f"    class {x['class']}: {x['description']}" for x in c["classes"]]
    tables = table_keys(h)
    for fn in wf.stages:
        opts = ", ".join(str(s) for s in wf.options(fn))
        out.append(f"\n{fn} (options: {opts}; late runs: {h.fallback(fn)})")
        for t in tables:
            if len(tables) > 1:
                out.append(f"  {table_label(h, t)}:")
            out += _rule_lines(h.rules(fn, t), "    ")
            alt = h.rules(fn, t, alternative=True)
            if alt:
                out.append("    alternative (mixed runs):")
                out += _rule_lines(alt, "      ")
    return out


def _rule_lines(rules: list[tuple[float, list]], indent: str) -> list[str]:
    return [
        f"{indent}remaining >= {ms:9.1f} ms: {', '.join(str(s) for s in sizes)}"
        for ms, sizes in rules
    ]
