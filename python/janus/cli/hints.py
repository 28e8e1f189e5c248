"""``janus hints FILE``: what a hint set says, as text (and a plot with --plot)."""

from __future__ import annotations

import argparse

from janus.cli.args import output_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hints", help="hint set file (JSON)")
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="also draw the rules to this image (.png, .svg, .pdf, ...: the extension "
        "chooses the format)",
    )


def plot_formats() -> list[str]:
    """The file extensions matplotlib can write."""
    from matplotlib.backend_bases import FigureCanvasBase

    return list(FigureCanvasBase.get_supported_filetypes())


def run(args: argparse.Namespace) -> int:
    if args.plot:
        # matplotlib would append ".png" to a name without a known extension
        # and write elsewhere than asked: refuse instead, before any work.
        output_file(args.plot, "--plot", suffixes=plot_formats())
    from janus._janus import HintSet
    from janus.hints_text import describe

    h = HintSet.load(args.hints)
    print("\n".join(describe(h, args.hints)))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from janus.analysis.hints_plot import plot_hints

        plot_hints(h).savefig(args.plot, dpi=110)
        print(f"\nwrote {args.plot}")
    return 0
