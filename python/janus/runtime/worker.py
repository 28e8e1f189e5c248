"""The worker process: ``python .../janus/runtime/worker.py <in-fd> <out-fd>``.

It is started by path and imports only the standard library until the pool has
put it in its cgroup, so that what it loads afterwards is charged there.

A warm worker loads the pool's functions once (cloudpickled), then serves calls
one at a time over a pair of pipes:

    parent -> worker   ("load", {name: cloudpickled function}, sys.path)
                       ("call", call id, name, pickled argument)
                       ("exit",)
    worker -> parent   ("ready", pid)
                       ("ok", call id, pickled value, wall_s, cpu_s)
                       ("err", call id, type name, message, traceback text,
                        pickled exception|None, wall_s, cpu_s)

Every reply to a call carries the id of the call it answers, so the parent can
never take one call's reply for another's (an error while loading, or in
answer to a message that is not a call, carries the id None). Its stdout is
redirected to stderr, so a function that prints cannot corrupt the protocol.
CPU time is the process's (all threads) plus its waited-for children. The
worker exits when the parent goes away (end of file on its pipe).
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
import time
import traceback
from multiprocessing.connection import Connection


def _cpu_s() -> float:
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def _error(call_id: int | None, e: BaseException, wall: float, cpu: float) -> tuple:
    tb = traceback.format_exc()
    try:
        blob = pickle.dumps(e)
        pickle.loads(blob)
    except Exception:  # noqa: BLE001 - any pickling problem: send the text only
        blob = None
    return ("err", call_id, type(e).__qualname__, str(e), tb, blob, wall, cpu)


def _protocol_error(text: str) -> tuple:
    return ("err", None, "ProtocolError", text, "", None, 0.0, 0.0)


def serve(conn: Connection) -> None:
    cloudpickle = None
    functions: dict = {}
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        kind = msg[0] if isinstance(msg, tuple) and msg else None
        if kind == "exit":
            return
        if kind == "load":
            _, blobs, path = msg
            for p in path:
                if p not in sys.path:
                    sys.path.append(p)
            try:
                import cloudpickle  # after the pool attached us to our cgroup

                for name, blob in blobs.items():
                    functions[name] = cloudpickle.loads(blob)
                conn.send(("ready", os.getpid()))
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                conn.send(_error(None, e, 0.0, 0.0))
            continue
        if kind != "call" or len(msg) != 4:
            conn.send(_protocol_error(f"unknown message {str(msg)[:80]!r}"))
            continue
        _, call_id, name, arg_blob = msg
        c0, t0 = _cpu_s(), time.perf_counter()
        try:
            arg = pickle.loads(arg_blob)
            value = functions[name](arg)
            wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
            try:
                blob = cloudpickle.dumps(value) if cloudpickle else pickle.dumps(value)
            except Exception as e:
                raise TypeError(f"the result of {name} cannot be pickled: {e}") from e
            out = ("ok", call_id, blob, wall, cpu)
        except BaseException as e:  # noqa: BLE001 - the worker survives its function
            out = _error(call_id, e, time.perf_counter() - t0, _cpu_s() - c0)
        del arg_blob
        conn.send(out)


def main(argv: list[str]) -> int:
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # started by path: do not shadow modules with this directory's files
    rfd, wfd = int(argv[0]), int(argv[1])
    os.dup2(2, 1)  # prints of user functions go to stderr, not into the protocol
    conn_in = Connection(rfd, writable=False)
    conn_out = Connection(wfd, readable=False)

    class Duplex:
        recv = staticmethod(conn_in.recv)
        send = staticmethod(conn_out.send)

    try:
        serve(Duplex())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
