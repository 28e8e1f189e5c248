"""Held-out evaluation of members of a workload family, for decision checks.

    python examples/family_eval.py cold 100 120
    python examples/family_eval.py dag 0 20 crossfit=false
    python examples/family_eval.py cold-off 0 20 --csv cold-off.csv
    python examples/family_eval.py heavy 0 40 --unkeyed lockstep=false

Members FIRST..LAST-1 of a family (`random`, `dag`, `cold`, `heavy`, `varied`, or
`cold-off`, the cold family without its cold starts), each at deadlines 1.1x, 1.25x,
1.5x and 2x over 3 random splits by request, with `confidence=0.9` and any
synthesis option given as key=value (JSON values). Prints one line: the
splits that MISSED the SLO (Janus, and static with the same margin), the
mean cost over static's, how many (member, deadline) cases cost more than
static by over 0.5 % in some split, and the mean share of the oracle's room
where that room is 10 % or more. With --unkeyed, Janus and static are
fitted on the fit halves without their request keys (as if profiled stage
by stage) and judged on the keyed held-out halves. These are the numbers docs/results.md
quotes for members drawn afresh (cold and DAG 100-119, random 40-59); a run
of 20 members takes 1-3 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from results import FACTORS, FAMILIES, MIN_ROOM  # what docs/results.md reports, one place

from janus.analysis import members_held_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("family", choices=sorted(FAMILIES))
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int, help="one past the last member")
    ap.add_argument("options", nargs="*", help="synthesis options, key=value (JSON values)")
    ap.add_argument("--csv", help="write every (member, deadline) case here")
    ap.add_argument(
        "--unkeyed", action="store_true", help="fit on the fit halves without their request keys"
    )
    # Options may follow the flags (`heavy 0 40 --unkeyed lockstep=false`).
    args = ap.parse_intermixed_args()
    opts = {}
    for kv in args.options:
        key, sep, value = kv.partition("=")
        if not sep:
            ap.error(f"option {kv!r} is not key=value")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            ap.error(f'option {key}: {value!r} is not a JSON value (true, 0.9, "static")')
    t0 = time.time()
    df = members_held_out(
        lambda seed: FAMILIES[args.family][3](seed, 1000),  # random: 1000 requests, as results.py
        range(args.first, args.last),
        FACTORS,
        range(1, 4),
        min_room=MIN_ROOM,
        progress=lambda m: print(f"[{time.time() - t0:5.0f} s] {m}", file=sys.stderr, flush=True),
        confidence=0.9,
        unkeyed=args.unkeyed,
        **opts,
    )
    if args.csv:
        df.to_csv(args.csv, index=False)
    roomy = df[df["room"] >= MIN_ROOM]
    print(
        f"{args.family} {args.first}-{args.last - 1}{' unkeyed' if args.unkeyed else ''} "
        f"{' '.join(args.options)}: "
        f"MISSED {int(df['janus_missed'].sum())} of {int(df['splits'].sum())} splits "
        f"(static {int(df['static_missed'].sum())}); cost / static {df['cost_vs_static'].mean():.4f}; "
        f"cases over static by > 0.5 %: {int((df['worst_cost_vs_static'] > 1.005).sum())}; "
        f"share of the oracle's room {roomy['share'].mean():.3f} ({len(roomy)} cases with room)"
    )


if __name__ == "__main__":
    main()
