"""A tiny progress bar on stderr (no dependency)."""

from __future__ import annotations

import sys
import time


class Bar:
    def __init__(self, total: int, label: str = "", enabled: bool = True, width: int = 28):
        self.total = max(1, total)
        self.label = label
        self.enabled = enabled
        self.width = width
        self.n = 0
        self.t0 = time.perf_counter()
        self.note = ""
        self._tty = sys.stderr.isatty()
        self._last = -1.0

    def update(self, k: int = 1, note: str = "") -> None:
        self.n += k
        self.note = note
        if not self.enabled:
            return
        now = time.perf_counter()
        # redraw at most 10x a second on a terminal, every ~10 % into a file
        if self._tty:
            if now - self._last < 0.1 and self.n < self.total:
                return
        elif self.n < self.total and int(10 * self.n / self.total) == int(
            10 * (self.n - k) / self.total
        ):
            return
        self._last = now
        frac = min(1.0, self.n / self.total)
        full = int(frac * self.width)
        bar = "#" * full + "-" * (self.width - full)
        elapsed = now - self.t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        line = (
            f"{self.label} [{bar}] {self.n}/{self.total} {elapsed:5.1f}s "
            f"eta {eta:5.1f}s {self.note}"
        )
        sys.stderr.write(("\r" + line[:120].ljust(120)) if self._tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
