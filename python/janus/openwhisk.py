"""OpenWhisk glue: a Janus workflow as a conductor action over size variants.

An OpenWhisk action's memory limit belongs to the action, so per-invocation
sizing routes each step to one of several pre-created *size variants* of
its action (``transform@500m-512Mi``, ...). The conductor (``conductor``)
runs the workflow one step at a time: before each step it asks the adapter
for a size with the run's elapsed time and answers OpenWhisk with
``{action: <that variant>, params, state}``. The run's start time, run key
(the first activation's id) and request features travel in ``state`` (and
in ``params`` under ``$janus``, for the step). Each variant's code is
wrapped with ``step``, which reports the step's latency to the adapter.
``wsk_commands`` writes the ``wsk`` commands that create the variants and
the conductor. See examples/openwhisk/.

The runtime sets ``__OW_ACTIVATION_ID``, ``__OW_DEADLINE`` (epoch ms at
which this activation's time limit runs out), ``__OW_ACTION_NAME`` and
``__OW_NAMESPACE`` for every activation; ``activation()`` reads them.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from janus._janus import JanusError, NativeWorkflow, Size
from janus.glue import GlueError, RunContext, chain_of, decide, now_ms, observe, request_features
from janus.workflow import Workflow, native_of

log = logging.getLogger("janus.openwhisk")

STATE_KEY = "$janus"  # in the conductor's state and in a step's params
_VARIANT = re.compile(r"^(?P<fn>.+)@(?P<cpu>\d+)m-(?P<mem>\d+)Mi$")


def variant_name(function: str, size: Size) -> str:
    """The action name of ``function`` at ``size``: ``function@500m-512Mi``."""
    return f"{function}@{size.cpu_millis}m-{size.memory_mib}Mi"


def parse_variant(action_name: str) -> tuple[str, Size] | None:
    """(function, size) of a variant's (possibly qualified) action name."""
    m = _VARIANT.match(action_name.rsplit("/", 1)[-1])
    if m is None:
        return None
    return m["fn"], Size(int(m["cpu"]), int(m["mem"]))


@dataclass(frozen=True)
class Activation:
    """The ``__OW_*`` variables of the current activation."""

    activation_id: str | None
    deadline_ms: float | None
    action_name: str | None
    namespace: str | None

    def remaining_ms(self) -> float | None:
        """Time left before this activation's limit, if the runtime said."""
        return None if self.deadline_ms is None else self.deadline_ms - now_ms()


def activation(env: Mapping[str, str] | None = None) -> Activation:
    """Read the activation's ``__OW_*`` variables (``os.environ`` by default)."""
    env = os.environ if env is None else env
    raw = env.get("__OW_DEADLINE")
    deadline = None
    if raw not in (None, ""):
        try:
            deadline = float(raw)
        except ValueError:
            raise GlueError(f"__OW_DEADLINE must be epoch milliseconds, got {raw!r}") from None
        if not math.isfinite(deadline):
            raise GlueError(f"__OW_DEADLINE must be epoch milliseconds, got {raw!r}")
    return Activation(
        env.get("__OW_ACTIVATION_ID") or None,
        deadline,
        env.get("__OW_ACTION_NAME") or None,
        env.get("__OW_NAMESPACE") or None,
    )


def _qualified(name: str, package: str | None, namespace: str | None) -> str:
    """OpenWhisk resolves conductor continuations best by fully qualified name."""
    path = f"{package}/{name}" if package else name
    return f"/{namespace}/{path}" if namespace else path


def conductor(
    workflow: Workflow,
    adapter: Any,
    *,
    features: Callable[[Any], Any] | None = None,
    package: str | None = None,
) -> Callable[[Callable[[dict], dict]], Callable[[dict], dict]]:
    """Decorator: turn ``finish(result) -> dict`` into the ``main`` of a
    conductor action that runs ``workflow``'s steps on the size variants the
    adapter picks, then returns ``finish`` of the last step's result.

    The first activation starts the run: its start time is now (or the
    input's ``janus_start_ms``, when an upstream caller already spent part
    of the deadline), its run key the activation id (or ``janus_run_key``),
    and its features ``features(params)`` (default: the workflow's feature
    extractors on the input).
    """
    stages = chain_of(workflow)

    def wrap(finish: Callable[[dict], dict]) -> Callable[[dict], dict]:
        @functools.wraps(finish)
        def main(params: dict) -> dict:
            params = dict(params)
            act = activation()
            carried = params.pop(STATE_KEY, None)
            if carried is None:
                start = params.pop("janus_start_ms", None)
                key = params.pop("janus_run_key", None) or act.activation_id
                if key is None:
                    raise GlueError(
                        "no run key: __OW_ACTIVATION_ID is not set and no janus_run_key"
                    )
                ctx = RunContext.from_dict(
                    {
                        "start_ms": now_ms() if start is None else start,
                        "run_key": str(key),
                        "features": request_features(workflow, params, features),
                    },
                    "conductor input",
                )
                step = 0
            else:
                if not isinstance(carried, Mapping) or not isinstance(carried.get("step"), int):
                    raise GlueError(f"conductor state {STATE_KEY}: not a Janus state: {carried!r}")
                ctx = RunContext.from_dict(carried.get("run"), f"conductor state {STATE_KEY}.run")
                step = carried["step"] + 1
            if step >= len(stages):
                return {"params": finish(params)}
            fn = stages[step]
            elapsed = ctx.elapsed_ms()
            d = decide(adapter, fn, ctx)
            size = {"cpu_millis": d.size.cpu_millis, "memory_mib": d.size.memory_mib}
            state = {
                "run": ctx.to_dict(),
                "step": step,
                "function": fn,
                "size": size,
                "elapsed_ms": elapsed,
                "late": d.late,
            }
            step_params = {
                **params,
                STATE_KEY: {"run": ctx.to_dict(), "function": fn, "size": size},
            }
            return {
                "action": _qualified(variant_name(fn, d.size), package, act.namespace),
                "params": step_params,
                "state": {STATE_KEY: state},
            }

        main.__janus_stages__ = stages  # type: ignore[attr-defined]
        return main

    return wrap


def step(
    adapter: Any, function: str | None = None
) -> Callable[[Callable[[dict], dict]], Callable[[dict], dict]]:
    """Decorator for a variant's ``main``: runs it and reports its latency.

    Called by a Janus conductor, the step knows its function, size and run
    from ``params["$janus"]``; invoked directly, it reads them from its
    action name (``function@500m-512Mi``) and activation id. A failure to
    report is logged, never raised: the step's result matters more.
    """

    def wrap(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        @functools.wraps(fn)
        def main(params: dict) -> dict:
            params = dict(params)
            info = params.pop(STATE_KEY, None)
            t0 = time.perf_counter()
            out = fn(params)
            latency_ms = (time.perf_counter() - t0) * 1000.0
            try:
                _report(adapter, function, info, latency_ms)
            except Exception as e:  # noqa: BLE001 (the function ran: never lose its result)
                why = str(e) if isinstance(e, JanusError) else f"{type(e).__name__}: {e}"
                log.warning("janus: could not report the latency of %s: %s", function, why)
            return out

        return main

    return wrap


def _report(adapter: Any, function: str | None, info: Any, latency_ms: float) -> None:
    act = activation()
    if isinstance(info, Mapping):
        ctx = RunContext.from_dict(info.get("run"), f"step params {STATE_KEY}.run")
        size = _size_of(info.get("size"), f"step params {STATE_KEY}.size")
        observe(adapter, str(info.get("function", function)), size, latency_ms, ctx)
        return
    parsed = parse_variant(act.action_name or "")
    if parsed is None:
        raise GlueError(
            f"step {function}: no {STATE_KEY} in params and action name {act.action_name!r} "
            "is not a size variant (function@<cpu>m-<mem>Mi)"
        )
    fn, size = parsed
    ctx = RunContext(now_ms() - latency_ms, act.activation_id or "unknown")
    observe(adapter, function or fn, size, latency_ms, ctx)


def _size_of(s: Any, where: str) -> Size:
    """The size a conductor put in a step's params, or a GlueError naming what is malformed."""
    if not isinstance(s, Mapping):
        raise GlueError(f"{where} must be {{cpu_millis, memory_mib}}, got {s!r}")
    missing = [k for k in ("cpu_millis", "memory_mib") if k not in s]
    if missing:
        raise GlueError(f"{where} has no {' or '.join(missing)}: {s!r}")
    try:
        return Size(int(s["cpu_millis"]), int(s["memory_mib"]))
    except (TypeError, ValueError):
        raise GlueError(f"{where}: cpu_millis and memory_mib must be integers, got {s!r}") from None


def wsk_commands(
    workflow: Workflow | NativeWorkflow,
    *,
    step_files: Mapping[str, str],
    conductor_name: str,
    conductor_file: str,
    kind: str = "python:3",
    package: str | None = None,
    timeout_ms: int | None = None,
) -> list[list[str]]:
    """The ``wsk`` commands (argv lists) that create every size variant of
    every step and the conductor. OpenWhisk limits memory per action; CPU
    follows memory on most deployments, so the variant's CPU is also an
    annotation (``janus-cpu-millis``) for providers that enforce it (e.g.
    with Janus' cgroup actuator on their invokers)."""
    wf = native_of(workflow)
    stages = chain_of(wf)
    missing = [s for s in stages if s not in step_files]
    if missing:
        raise GlueError(f"wsk_commands: no code file for steps {missing}")
    pkg = f"{package}/" if package else ""
    cmds: list[list[str]] = []
    if package:
        cmds.append(["wsk", "package", "update", package])
    timeout = [] if timeout_ms is None else ["--timeout", str(int(timeout_ms))]
    for s in stages:
        for size in wf.options(s):
            cmds.append(
                [
                    "wsk", "action", "update", pkg + variant_name(s, size), step_files[s],
                    "--kind", kind, "--memory", str(size.memory_mib), *timeout,
                    "-a", "janus-function", s, "-a", "janus-cpu-millis", str(size.cpu_millis),
                ]
            )  # fmt: skip
    cmds.append(
        ["wsk", "action", "update", pkg + conductor_name, conductor_file,
         "--kind", kind, "-a", "conductor", "true"]
    )  # fmt: skip
    return cmds


def wsk_script(commands: list[list[str]]) -> str:
    """The commands as a shell script."""
    return "#!/bin/sh\nset -e\n" + "\n".join(shlex.join(c) for c in commands) + "\n"
