"""``janus.AdapterClient`` is a drop-in for the in-process ``janus.Adapter``
on bad input too: every bad call raises the exception class the in-process
adapter raises for it (not a raw ``ValueError``/``TypeError`` from the
client's own conversions, and never an acceptance of what the adapter
refuses), with a message that names the argument. Checked against a real
``janus serve`` on loopback with the same hint set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from serve_support import BIG, SMALL, ServeProcess, write_inputs

import janus
import janus.client
from janus import AdapterError, ServeError

DAY_MS = 86_400_000.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    h, _, hints = write_inputs(tmp)
    s = ServeProcess(tmp / "data", "--hints", str(h), "--threads", "2")
    yield s, hints
    if s.proc.poll() is None:
        assert s.stop() == 0, s.stderr()


Call = Callable[[Any], Any]

# (id, the call on an adapter of either kind, the argument its message names)
BAD: list[tuple[str, Call, str]] = [
    # Strings where numbers go: accepted by the client before, refused in process.
    ("decide elapsed_ms str", lambda a: a.decide("a", "10"), "elapsed_ms"),
    ("decide elapsed_ms bytes", lambda a: a.decide("a", b"10"), "elapsed_ms"),
    ("decide elapsed_ms None", lambda a: a.decide("a", None), "elapsed_ms"),
    ("decide elapsed_ms nan", lambda a: a.decide("a", float("nan")), "elapsed_ms"),
    ("decide elapsed_ms inf", lambda a: a.decide("a", float("inf")), "elapsed_ms"),
    ("decide elapsed_ms negative", lambda a: a.decide("a", -1.0), "elapsed_ms"),
    ("decide elapsed_ms huge int", lambda a: a.decide("a", 10**400), "elapsed_ms"),
    ("features str value (kb)", lambda a: a.decide("a", 10, features={"kb": "12"}), "features"),
    ("features str value", lambda a: a.decide("a", 10, features={"bytes": "12"}), "features"),
    ("features None value (kb)", lambda a: a.decide("a", 10, features={"kb": None}), "features"),
    ("features None value", lambda a: a.decide("a", 10, features={"bytes": None}), "features"),
    ("features nan value", lambda a: a.decide("a", 10, features={"bytes": np.nan}), "features"),
    ("features int key", lambda a: a.decide("a", 10, features={1: 2.0}), "features"),
    ("features list of str", lambda a: a.decide("a", 10, features=["12"]), "features"),
    ("features list of None", lambda a: a.decide("a", 10, features=[None]), "features"),
    ("features a str", lambda a: a.decide("a", 10, features="12"), "features"),
    ("features a generator", lambda a: a.decide("a", 10, features=(x for x in [1.0])), "features"),
    ("features a set", lambda a: a.decide("a", 10, features={1.0}), "features"),
    ("features an object", lambda a: a.decide("a", 10, features=object()), "features"),
    ("features too many", lambda a: a.decide("a", 10, features=[1.0, 2.0]), "feature"),
    ("features unknown name", lambda a: a.decide("a", 10, features={"kb": 1.0}), "features"),
    ("free a str", lambda a: a.decide("a", 10, free="2000m/1024Mi"), "free"),
    ("free a list", lambda a: a.decide("a", 10, free=[2000, 1024]), "free"),
    ("free a triple", lambda a: a.decide("a", 10, free=(1, 2, 3)), "free"),
    ("free str pair", lambda a: a.decide("a", 10, free=("2000", "1024")), "free"),
    ("free float pair", lambda a: a.decide("a", 10, free=(2000.5, 1024)), "free"),
    ("run_key negative", lambda a: a.decide("a", 10, run_key=-1), "run_key"),
    ("run_key float", lambda a: a.decide("a", 10, run_key=1.5), "run_key"),
    ("run_key too large", lambda a: a.decide("a", 10, run_key=2**64), "run_key"),
    ("function not a str", lambda a: a.decide(3, 10), "function"),
    ("function unknown", lambda a: a.decide("zz", 10), "function"),
    ("observe latency_ms str", lambda a: a.observe("b", SMALL, "5"), "latency_ms"),
    ("observe latency_ms None", lambda a: a.observe("b", SMALL, None), "latency_ms"),
    ("observe latency_ms nan", lambda a: a.observe("b", SMALL, float("nan")), "latency_ms"),
    ("observe latency_ms negative", lambda a: a.observe("b", SMALL, -5.0), "latency_ms"),
    ("observe size str", lambda a: a.observe("b", "500m/256Mi", 5.0), "size"),
    ("observe size None", lambda a: a.observe("b", None, 5.0), "size"),
    ("observe size list", lambda a: a.observe("b", [1000, 512], 5.0), "size"),
    ("observe size triple", lambda a: a.observe("b", (1000, 512, 1), 5.0), "size"),
    ("observe size float", lambda a: a.observe("b", (1000.5, 512), 5.0), "size"),
    ("observe size below 10m", lambda a: a.observe("b", (1, 512), 5.0), "size"),
    ("observe size not an option", lambda a: a.observe("b", (2000, 512), 5.0), "size"),
    ("observe features None value", lambda a: a.observe("b", SMALL, 5.0, {"kb": None}), "features"),
    ("observe function not a str", lambda a: a.observe(1, SMALL, 5.0), "function"),
    ("decide_many scalar", lambda a: a.decide_many("a", 5.0), "elapsed_ms"),
    ("decide_many str", lambda a: a.decide_many("a", "5"), "elapsed_ms"),
    ("decide_many None", lambda a: a.decide_many("a", None), "elapsed_ms"),
    ("decide_many 2-D", lambda a: a.decide_many("a", [[5.0]]), "elapsed_ms"),
    ("decide_many nan", lambda a: a.decide_many("a", [np.nan]), "elapsed_ms"),
    ("decide_many negative", lambda a: a.decide_many("a", [-1.0]), "elapsed_ms"),
    ("decide_many features scalar", lambda a: a.decide_many("a", [5.0], 3.0), "features"),
    ("decide_many features 3-D", lambda a: a.decide_many("a", [5.0], [[[3.0]]]), "features"),
    ("decide_many features str", lambda a: a.decide_many("a", [5.0], ["x"]), "features"),
    ("decide_many features None", lambda a: a.decide_many("a", [5.0], [None]), "feature"),
    ("decide_many features rows", lambda a: a.decide_many("a", [5.0], [3.0, 4.0]), "feature"),
    ("decide_many run_keys scalar", lambda a: a.decide_many("a", [5.0], run_keys=1), "run_keys"),
    ("decide_many run_keys < 0", lambda a: a.decide_many("a", [5.0], run_keys=[-1]), "run_keys"),
    ("decide_many run_keys str", lambda a: a.decide_many("a", [5.0], run_keys=["x"]), "run_keys"),
    ("decide_many run_keys rows", lambda a: a.decide_many("a", [5.0], run_keys=[1, 2]), "run"),
    ("decide_many free str", lambda a: a.decide_many("a", [5.0], free="x"), "free"),
    ("decide_many function not a str", lambda a: a.decide_many(1, [5.0]), "function"),
]  # fmt: skip


def raised(call: Call, adapter: Any) -> BaseException:
    with pytest.raises(Exception) as e:  # any class: compared by the caller
        call(adapter)
    return e.value


@pytest.mark.parametrize(("call", "arg"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_call_raises_what_the_in_process_adapter_raises(served, call, arg):
    s, hints = served
    local = raised(call, janus.Adapter(hints))
    c = s.client()
    before = c.observed
    remote = raised(call, c)
    assert type(remote) is type(local), (remote, local)
    assert arg in str(remote), remote
    assert c.observed == before  # a refused observation is not recorded
    assert c.health()  # and the service is still there


# Calls the in-process adapter accepts, in the forms it converts: the client
# must accept them too (its checks are no stricter) and answer the same.
GOOD: list[tuple[str, Call]] = [
    ("elapsed_ms a bool", lambda a: a.decide("a", True)),
    ("elapsed_ms an int", lambda a: a.decide("b", 700)),
    ("elapsed_ms numpy", lambda a: a.decide("b", np.float32(650.0))),
    ("features one number", lambda a: a.decide("a", 10, features=12)),
    ("features numpy scalar", lambda a: a.decide("a", 10, features=np.float64(1.0))),
    ("features numpy array", lambda a: a.decide("a", 10, features=np.array([12.0]))),
    ("features a tuple", lambda a: a.decide("a", 10, features=(1.0,))),
    ("free a Size", lambda a: a.decide("a", 10, free=BIG)),
    ("free numpy ints", lambda a: a.decide("a", 10, free=(np.int64(2000), np.int32(1024)))),
    ("run_key numpy", lambda a: a.decide("a", 10, run_key=np.uint64(7))),
    ("run_key bool", lambda a: a.decide("a", 10, run_key=True)),
    ("decide_many list of str", lambda a: a.decide_many("a", ["5", "900"])),
    ("decide_many float run_keys", lambda a: a.decide_many("a", [5.0], run_keys=[1.5])),
    ("decide_many int64 times", lambda a: a.decide_many("b", np.array([0, 700]))),
    ("decide_many empty", lambda a: a.decide_many("a", [])),
]


def _plain(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: v.tolist() for k, v in d.items()}
    return (d.size, d.rule, d.late, d.fits, d.input_class, d.remaining_ms)


@pytest.mark.parametrize("call", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_what_the_in_process_adapter_accepts_the_client_answers_the_same(served, call):
    s, hints = served
    assert _plain(call(s.client())) == _plain(call(janus.Adapter(hints)))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:abc", "http://127.0.0.1:99999", "http://[::1", "ftp://x", "x:1", 8757]
)
def test_a_bad_url_is_a_serve_error_naming_it(url):
    with pytest.raises(ServeError, match="url must be") as e:
        janus.AdapterClient(url, "feat")
    assert repr(url) in str(e.value)


def test_times_above_one_day_are_refused_by_the_service_only_and_documented(served):
    """The deliberate difference: the service refuses times no real run has
    (a unit mix-up); the in-process adapter takes them."""
    s, hints = served
    local, c = janus.Adapter(hints), s.client()
    before = c.observed
    assert local.decide("a", 2 * DAY_MS).late
    local.observe("b", SMALL, 2 * DAY_MS)
    with pytest.raises(AdapterError, match="elapsed_ms .* more than one day"):
        c.decide("a", 2 * DAY_MS)
    with pytest.raises(AdapterError, match="latency_ms .* more than one day"):
        c.observe("b", SMALL, 2 * DAY_MS)
    assert c.observed == before
    for doc in (janus.client.__doc__, janus.AdapterClient.__doc__):
        assert "one day" in " ".join(doc.split())
