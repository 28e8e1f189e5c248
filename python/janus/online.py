"""Online learning: the adapter re-synthesises when what it observes drifts.

The adapter records every latency it is told about (``Adapter.observe``).
``Resynthesizer.check()`` compares those observations with the profile the
hints were built from; when a function runs slower (or faster) than profiled
by more than ``threshold``, it re-synthesises from a corrected profile in a
background thread (synthesis releases the GIL) and swaps the new hint set into
the adapter atomically. ``decide`` never waits for it.

The correction is multiplicative per function: the median, over the sizes
observed often enough, of observed mean / profiled mean scales every size's
samples of that function (feature values kept). A noisy neighbour, a slower
dependency or bigger inputs usually slow a function at every size alike; a
size that was never observed is assumed to drift like the others. The ratios
and the correction are computed in Rust (``Adapter.drift_by_function``,
``Profile.scaled``), the same code ``janus serve`` runs for its own
background re-synthesis. The adapter's observation windows restart at every
swap, so after a re-synthesis drift is measured on new runs only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from janus._janus import Adapter, JanusError, NativeWorkflow, Profile, synthesize
from janus.workflow import Workflow, native_of

log = logging.getLogger("janus.online")


class Resynthesizer:
    """Watches an adapter's observations and keeps its hints current."""

    def __init__(
        self,
        adapter: Adapter,
        workflow: Workflow | NativeWorkflow,
        profile: Profile,
        *,
        threshold: float = 1.2,
        min_samples: int = 5,
        **synth_options: Any,
    ) -> None:
        if not threshold > 1.0:
            raise JanusError(f"threshold must be > 1 (a ratio of latencies), got {threshold}")
        if min_samples < 1:
            raise JanusError(f"min_samples must be >= 1, got {min_samples}")
        self.adapter = adapter
        self.workflow = native_of(workflow)
        self.profile = profile
        self.threshold = threshold
        self.min_samples = min_samples
        self.synth_options = synth_options
        self.swaps = 0
        self.last_error: JanusError | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def drift(self) -> dict[str, float]:
        """Per function: median observed/profiled latency ratio over its sizes
        with at least ``min_samples`` observations."""
        return self.adapter.drift_by_function(self.profile, self.min_samples)

    def drifted(self) -> dict[str, float]:
        """The functions whose drift is beyond the threshold, either way."""
        t = self.threshold
        return {fn: r for fn, r in self.drift().items() if r > t or r < 1 / t}

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> bool:
        """Start a background re-synthesis if a function drifted; True if started."""
        with self._lock:
            if self.busy:
                return False
            drifted = self.drifted()
            if not drifted:
                return False
            log.info("drift %s: re-synthesising in the background", drifted)
            self._thread = threading.Thread(
                target=self._resynthesize, args=(drifted,), name="janus-resynth", daemon=True
            )
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a re-synthesis in flight (tests, orderly shutdown)."""
        t = self._thread
        if t is not None:
            t.join(timeout)

    def corrected_profile(self, ratios: dict[str, float]) -> Profile:
        """The profile with every sample of each drifted function scaled by its ratio."""
        return self.profile.scaled(ratios)

    def _resynthesize(self, ratios: dict[str, float]) -> None:
        try:
            profile = self.corrected_profile(ratios)
            hints = synthesize(self.workflow, profile, **self.synth_options)
            self.adapter.swap(hints)
        except JanusError as e:  # keep serving with the hints in force
            self.last_error = e
            log.warning("re-synthesis failed, the previous hints stay in force: %s", e)
            return
        self.profile = profile  # the new baseline for drift
        self.swaps += 1
        log.info("swapped in re-synthesised hints (%d swaps so far)", self.swaps)
