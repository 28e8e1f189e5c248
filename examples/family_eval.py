"""Held-out evaluation of members of a workload family, for decision checks.

    python examples/family_eval.py cold 100 120
    python examples/family_eval.py dag 0 20 crossfit=false
    python examples/family_eval.py cold-off 0 20 --csv cold-off.csv

Members FIRST..LAST-1 of a family (`random`, `dag`, `cold`, or `cold-off`,
the cold family without its cold starts), each at deadlines 1.1x, 1.25x,
1.5x and 2x over 3 random splits by request, with `confidence=0.9` and any
synthesis option given as key=value (JSON values). Prints one line: the
splits that MISSED the SLO (Janus, and static with the same margin), the
mean cost over static's, how many (member, deadline) cases cost more than
static by over 0.5 % in some split, and the mean share of the oracle's room
where that room is 10 % or more. These are the numbers docs/results.md
quotes for members drawn afresh (cold and DAG 100-119, random 40-59); a run
of 20 members takes 1-2 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from janus.analysis import held_out, pooled
from janus.examples import workloads

FAMILIES = {
    "random": lambda s: workloads.random_workload(s, 1000),
    "dag": workloads.random_dag_workload,
    "cold": workloads.random_cold_workload,
    "cold-off": lambda s: workloads.random_cold_workload(s, cold_starts=False),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("family", choices=sorted(FAMILIES))
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int, help="one past the last member")
    ap.add_argument("options", nargs="*", help="synthesis options, key=value (JSON values)")
    ap.add_argument("--csv", help="write every (member, deadline) case here")
    args = ap.parse_args()
    opts = {}
    for kv in args.options:
        key, sep, value = kv.partition("=")
        if not sep:
            ap.error(f"option {kv!r} is not key=value")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            ap.error(f'option {key}: {value!r} is not a JSON value (true, 0.9, "static")')
    import pandas as pd

    rows, t0 = [], time.time()
    for seed in range(args.first, args.last):
        wl = FAMILIES[args.family](seed)
        trials = held_out(
            wl.workflow,
            wl.profile,
            wl.reference_ms,
            [1.1, 1.25, 1.5, 2.0],
            range(1, 4),
            confidence=0.9,
            **opts,
        )
        p = pooled(trials, 0.10)
        p.insert(0, "member", seed)
        rows.append(p)
        print(f"[{time.time() - t0:5.0f} s] {seed}: {wl.description}", file=sys.stderr, flush=True)
    df = pd.concat(rows, ignore_index=True)
    if args.csv:
        df.to_csv(args.csv, index=False)
    roomy = df[df["room"] >= 0.10]
    print(
        f"{args.family} {args.first}-{args.last - 1} {' '.join(args.options)}: "
        f"MISSED {int(df['janus_missed'].sum())} of {int(df['splits'].sum())} splits "
        f"(static {int(df['static_missed'].sum())}); cost / static {df['cost_vs_static'].mean():.4f}; "
        f"cases over static by > 0.5 %: {int((df['worst_cost_vs_static'] > 1.005).sum())}; "
        f"share of the oracle's room {roomy['share'].mean():.3f} ({len(roomy)} cases with room)"
    )


if __name__ == "__main__":
    main()
