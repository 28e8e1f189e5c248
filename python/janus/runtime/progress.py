"""The runtime's progress bars (profiling, serving), drawn on stderr by tqdm.

tqdm rather than rich: one small pure-Python package without dependencies of
its own, which already knows terminals (rate-limited redraws, the ETA) and
logs; rich would bring pygments and markdown-it along for one bar. This class
keeps the small interface the profiler and the runner use.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


class Bar:
    """``update(k, note)`` after each step, ``close()`` at the end. Draws
    nothing at all when ``enabled`` is False (``--quiet``, tests)."""

    def __init__(self, total: int, label: str = "", enabled: bool = True):
        tty = enabled and sys.stderr.isatty()
        self._bar = tqdm(
            total=total,
            desc=label,
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
            # On a terminal redraw at most 10x a second; into a file (a CI
            # log) about every 10 % of the way, not for every step.
            mininterval=0.1 if tty else 0.0,
            miniters=None if tty else max(1, total // 10),
        )

    def update(self, k: int = 1, note: str = "") -> None:
        if note:
            self._bar.set_postfix_str(note, refresh=False)
        self._bar.update(k)

    def close(self) -> None:
        self._bar.close()
