"""The pool's handle on one worker process: start it, talk to it, kill it.

The worker (``worker.py``) is started by path in a session of its own, with a
pair of pipes. Killing it goes by cgroup membership (``Actuator.kill``): every
process in the worker's cgroup dies, including children a function started in
a new session, which the worker's process group would miss. The process group
is killed as well, for the dry run, which has no cgroup to go by.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any

from janus.runtime.errors import ActuationError

log = logging.getLogger("janus.runtime")

# run by path, not with -m: the worker imports nothing heavy before it is in its cgroup
WORKER_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class WorkerProcess:
    """One worker: its cgroup's name, its process and the two pipe ends.

    ``in_flight`` is the id of the call sent and not yet answered: a worker
    with a call in flight is never given to another call.
    """

    def __init__(self, name: str, proc: subprocess.Popen, tx: Connection, rx: Connection):
        self.name = name
        self.proc = proc
        self.tx = tx
        self.rx = rx
        self.calls = 0
        self.in_flight: int | None = None

    @classmethod
    def start(cls, name: str) -> WorkerProcess:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, WORKER_PY, str(r1), str(w2)],
                pass_fds=(r1, w2),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            for fd in (r1, w1, r2, w2):
                os.close(fd)
            raise
        os.close(r1)
        os.close(w2)
        return cls(name, proc, Connection(w1, readable=False), Connection(r2, writable=False))

    def signal_group(self) -> None:
        """SIGKILL the worker's process group, only while the worker is not
        reaped: until then its pid (= the group id) is ours."""
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def kill(self, actuator: Any) -> None:
        """Kill the worker and everything in its cgroup, reap it, close the pipes."""
        self.signal_group()
        try:
            actuator.kill(self.name)
        except ActuationError as e:
            log.error("worker %s: %s", self.name, e)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            log.error("worker %s (pid %s) did not die", self.name, self.proc.pid)
        for c in (self.tx, self.rx):
            try:
                c.close()
            except OSError:
                pass
