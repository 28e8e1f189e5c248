"""``janus hints FILE``: what a hint set says, as a table (and a plot with --plot)."""

from __future__ import annotations

import argparse

from janus._janus import HintSet


def table_keys(h: HintSet) -> list[int | None]:
    """The tables of every hint, in order: each input class, then None (class unknown)."""
    c = h.classes
    return [None] if c is None else [*range(len(c["boundaries"]) + 1), None]


def summary_lines(h: HintSet) -> list[str]:
    """What synthesis predicted per table, and its warnings, for people."""
    out = []
    for s in h.summary:
        cls = "all inputs" if s["class"] is None else f"input class {s['class']}"
        out.append(
            f"  {cls}: expected cost {s['expected_cost']:.4g}, miss {s['miss_probability']:.4f}, "
            f"source {s['source']}{'' if s['feasible'] else ', INFEASIBLE'}"
        )
        if s["mix"] is not None:
            out.append(
                f"    per-run mixture: {100 * s['mix']:.1f} % of keyed runs follow the cheaper "
                f"alternative rules; runs without a run key get cost {s['primary_cost']:.4g}, "
                f"miss {s['primary_miss_probability']:.4f}"
            )
    return out + [f"  warning: {w}" for w in h.warnings]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hints", help="hint set file (JSON)")
    p.add_argument("--plot", metavar="PNG", default=None, help="also draw the rules to this PNG")


def run(args: argparse.Namespace) -> int:
    h = HintSet.load(args.hints)
    wf = h.workflow
    print(
        f"{args.hints}: workflow '{wf.name}', deadline {wf.deadline_ms:g} ms at "
        f"p{100 * wf.percentile:g}, {h.rule_count} rules, {h.size_bytes} bytes, "
        f"schema {h.schema_version}"
    )
    prov = h.provenance
    print(
        f"  from profile {prov['profile_digest'][:12]}..., janus {prov['janus_version']}: {prov['synthesis']}"
    )
    print("\n".join(summary_lines(h)))
    c = h.classes
    tables = table_keys(h)
    if c is not None:
        print(f"  input classes of {c['function']}.{c['feature']}: boundaries {c['boundaries']}")
    for fn in wf.stages:
        print(f"\n{fn} (options: {', '.join(str(s) for s in wf.options(fn))})")
        for t in tables:
            if len(tables) > 1:
                print(f"  {'all inputs' if t is None else f'input class {t}'}:")
            for ms, sizes in h.rules(fn, t):
                print(f"    remaining >= {ms:9.1f} ms: {', '.join(str(s) for s in sizes)}")
            alt = h.rules(fn, t, alternative=True)
            if alt:
                print("    alternative (mixed runs):")
                for ms, sizes in alt:
                    print(f"      remaining >= {ms:9.1f} ms: {', '.join(str(s) for s in sizes)}")
    if args.plot:
        from janus.analysis import plot_hints

        plot_hints(h).savefig(args.plot, dpi=110)
        print(f"\nwrote {args.plot}")
    return 0
