"""``janus serve``: the adapter as an HTTP service for providers.

Serves the hint sets given with ``--hints`` (files, or folders of ``*.json``
hint sets) on a loopback port unless told otherwise; writes only inside the
``--data`` folder (observation log, the hint sets in force, baseline
profiles). Stops cleanly on SIGINT or SIGTERM. The API is in the README
("For providers"); ``janus.AdapterClient`` speaks it from Python.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hints",
        action="append",
        default=[],
        metavar="PATH",
        help="a hint-set file or a folder of them (repeatable); optional when the data "
        "folder already holds hint sets",
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="data folder: observation log, hint sets in force, baseline profiles "
        "(created if missing; one service per folder)",
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:8757",
        metavar="HOST:PORT",
        help="address to listen on (default %(default)s: loopback only; port 0 picks a free one)",
    )
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="FILE",
        help="a profile a hint set was synthesized from (matched by digest): enables drift "
        "checks (repeatable)",
    )
    p.add_argument(
        "--window",
        type=int,
        default=1024,
        help="observed latencies kept per function, size and input class (default %(default)s)",
    )
    p.add_argument(
        "--resynth",
        action="store_true",
        help="re-synthesise in the background when observations drift from the profile",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=1.2,
        help="drift ratio beyond which --resynth acts (default %(default)s)",
    )
    p.add_argument(
        "--min-samples",
        type=int,
        default=5,
        help="observations per size before its drift counts (default %(default)s)",
    )
    p.add_argument(
        "--drift-every",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how often drift is checked (default %(default)s)",
    )
    p.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="a client must send its whole request within this time (default %(default)s)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=1 << 20,
        metavar="BYTES",
        help="largest decide/observe request body (default %(default)s)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=1024,
        help="connections served at once (default %(default)s)",
    )
    p.add_argument("--threads", type=int, default=2, help="worker threads (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from janus._janus import ServeError, serve
    from janus.cli.args import CliError

    try:
        serve(
            args.hints,
            args.data,
            listen=args.listen,
            profiles=args.profile,
            window=args.window,
            resynth_threshold=args.threshold if args.resynth else None,
            min_samples=args.min_samples,
            drift_every_s=args.drift_every,
            read_timeout_s=args.read_timeout,
            max_body=args.max_body,
            max_connections=args.max_connections,
            threads=args.threads,
        )
    except KeyboardInterrupt:
        # SIGINT stopped the service cleanly; Python notices the signal only now.
        pass
    except ServeError as e:
        # A setting out of its range is a bad command line (exit 2), named by
        # its flag (the setting's name, dashed: the settings without a flag
        # keep their valid defaults here); the ranges live in the service.
        if e.setting is None:
            raise
        flag = "--" + e.setting.replace("_", "-")
        raise CliError(f"argument {flag}: {str(e).removeprefix(f'serve: {e.setting} ')}") from None
    return 0
