"""Mutations of JSON documents for the file fuzzers (tests/test_no_panics.py),
and the check that every failure is a clean one.

A case is a valid document (a hint set, a workflow, a profile) changed by one
to three mutations drawn from a seeded ``random.Random``, so every run sees
the same cases and a failure names the case that broke:

- structural: delete a key, add an unknown key, empty or reorder a list,
  drop or duplicate an element, wrap a node in a list or an object, graft
  another part of the document in its place;
- values: a number replaced by an edge value of its kind (0, -1, 2^31, 2^53+1,
  2^64, 1e308, 5e-324, a float where an int goes), a string by "", "..",
  "a/b", NUL, 10,000 characters or the name of another stage, a node by any
  JSON type;
- text: the file truncated, a byte dropped or added, NaN, Infinity and 1e400
  literals, lists nested 100 or 100,000 deep, a duplicated key, invalid UTF-8,
  a byte-order mark.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

INTS = [
    0,
    -1,
    1,
    2,
    7,
    9,
    10,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53 + 1,
    2**63,
    2**64,
    -(2**63),
]
FLOATS = [
    0.0,
    -0.0,
    -1.0,
    0.5,
    1.0,
    1.0 + 1e-12,
    1e-9,
    5e-324,
    1e308,
    -1e308,
    1.7976931348623157e308,
]
STRINGS = ["", "..", "a/b", "\x00", "x" * 10_000, "é", " ", "null", "static", "unconditioned"]
ANY = [None, True, False, 0, -1, 1.5, "", "x", [], {}, [None], {"x": 1}]


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into ``node``, ``prefix`` first."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def _is_container(node: Any) -> bool:
    return isinstance(node, (dict, list)) and bool(node)


def get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def put(doc: Any, path: tuple, value: Any) -> Any:
    """``doc`` with the node at ``path`` replaced (the root: returns ``value``)."""
    if not path:
        return value
    get(doc, path[:-1])[path[-1]] = value
    return doc


class Mutator:
    """Seeded mutations of one valid document; ``names`` are strings worth
    planting (stage names, feature names) so that cross references break."""

    def __init__(self, seed: int, names: list[str] = ()) -> None:
        self.rng = random.Random(seed)
        self.names = list(names)

    def case(self, base: Any) -> tuple[str, str]:
        """(JSON text, what was done to it): one to three mutations."""
        doc = copy.deepcopy(base)
        steps = []
        for _ in range(self.rng.choice([1, 1, 1, 1, 2, 3])):
            doc, what = self._tree(doc)
            steps.append(what)
        text = json.dumps(doc, allow_nan=True)
        if self.rng.random() < 0.1:
            text, what = self._text(text)
            steps.append(what)
        return text, "; ".join(steps)

    # -- the document as a tree ----------------------------------------------
    def _pick(self, doc: Any, leaf: bool = False) -> tuple:
        """A top-level section at random, then any node of it (with ``leaf``,
        any leaf): small sections (a summary, a cost model) are hit as often
        as the large ones, and within one every field as often as any other."""
        if not isinstance(doc, dict) or not doc:
            return ()
        top = self.rng.choice(list(doc))
        inside = [p for p in paths(doc[top], (top,)) if not leaf or not _is_container(get(doc, p))]
        return self.rng.choice(inside or [(top,)])

    def _tree(self, doc: Any) -> tuple[Any, str]:
        r = self.rng
        kind = r.choice(
            ["value"] * 3 + ["type", "null", "delete", "delete", "add_key", "list", "wrap", "graft"]
        )
        # a value keeps its kind (a number stays a number): it tests the checks
        # of meaning (ranges, cross references) rather than the parser's types
        path = self._pick(doc, leaf=kind == "value")
        node = get(doc, path)
        where = "/".join(map(str, path)) or "<root>"
        if kind == "value":
            return put(doc, path, self._value_like(node)), f"value at {where}"
        if kind == "type":
            return put(doc, path, copy.deepcopy(r.choice(ANY))), f"type at {where}"
        if kind == "null":
            return put(doc, path, None), f"null at {where}"
        if kind == "delete" and path:
            parent = get(doc, path[:-1])
            del parent[path[-1]]
            return doc, f"delete {where}"
        if kind == "add_key" and isinstance(node, dict):
            node[r.choice(["extra", "name", "class", "primary", *self.names])] = r.choice(ANY)
            return doc, f"add key at {where}"
        if kind == "list" and isinstance(node, list) and node:
            op = r.choice(["empty", "drop", "dup", "reverse", "shuffle"])
            if op == "empty":
                node.clear()
            elif op == "drop":
                node.pop(r.randrange(len(node)))
            elif op == "dup":
                node.append(copy.deepcopy(r.choice(node)))
            elif op == "reverse":
                node.reverse()
            else:
                r.shuffle(node)
            return doc, f"list {op} at {where}"
        if kind == "wrap":
            wrapped = [node] if r.random() < 0.5 else {"x": node}
            return put(doc, path, wrapped), f"wrap at {where}"
        if kind == "graft":
            other = copy.deepcopy(get(doc, self._pick(doc)))
            return put(doc, path, other), f"graft at {where}"
        return put(doc, path, self._value_like(node)), f"value at {where}"

    def _value_like(self, node: Any) -> Any:
        r = self.rng
        if isinstance(node, bool):
            return not node
        if isinstance(node, int):
            return r.choice(INTS + [node + 1, node - 1, -node, float(node) + 0.5])
        if isinstance(node, float):
            return r.choice(FLOATS + [node * 2, -node, node + 1e-9, float("nan"), float("inf")])
        if isinstance(node, str):
            return r.choice(STRINGS + self.names + [node + "x", node.upper()])
        return copy.deepcopy(r.choice(ANY))

    # -- the document as text ------------------------------------------------
    def _text(self, text: str) -> tuple[str, str]:
        r = self.rng
        op = r.choice(
            ["truncate", "drop", "insert", "nan", "inf", "huge", "deep", "dupkey", "utf8", "bom"]
        )
        i = r.randrange(len(text))
        if op == "truncate":
            return text[:i], f"text truncated at {i}"
        if op == "drop":
            return text[:i] + text[i + 1 :], f"text byte {i} dropped"
        if op == "insert":
            return text[:i] + r.choice('{}[],:"0\\') + text[i:], f"text byte inserted at {i}"
        if op in ("nan", "inf", "huge", "deep"):
            n = r.choice([100, 100_000])
            lit = {"nan": "NaN", "inf": "-Infinity", "huge": "1e400", "deep": "[" * n + "]" * n}[op]
            j = text.find(":", i)
            if j < 0:
                return text, "text unchanged"
            k = j + 1
            while k < len(text) and text[k] not in ",}]":
                k += 1
            return text[: j + 1] + lit + text[k:], f"text {lit[:8]} after offset {j}"
        if op == "dupkey":
            j = text.find("{", i)
            if j < 0:
                return text, "text unchanged"
            return text[: j + 1] + '"name": 1, "name": 2, ' + text[j + 1 :], f"dup key at {j}"
        if op == "utf8":
            return text[:i] + "\udcff" + text[i:], f"invalid UTF-8 at {i}"
        return "\ufeff" + text, "byte-order mark"


# The edits every field gets in turn (``single_edits``).
EDITS: list[tuple[str, Any]] = [
    ("delete", None),
    ("null", None),
    ("-1", -1),
    ('""', ""),
    ("[]", []),
]


def single_edits(base: Any) -> Iterator[tuple[Any, str]]:
    """Every node of ``base`` in turn deleted, or replaced by null, -1, "" and
    []: one edit per document, so each check of a field (optional fields,
    cross references) is met on its own, not behind an earlier error."""
    for path in paths(base)[1:]:
        where = "/".join(map(str, path))
        for name, value in EDITS:
            doc = copy.deepcopy(base)
            if name == "delete":
                del get(doc, path[:-1])[path[-1]]
            else:
                put(doc, path, copy.deepcopy(value))
            yield doc, f"{name} at {where}"


def write(path: Any, text: str) -> None:
    """``text`` as bytes (a lone surrogate stands for an invalid UTF-8 byte)."""
    with open(path, "wb") as f:
        f.write(text.encode("utf-8", "surrogateescape"))


def clean_failure(
    action: Callable[[], Any], allowed: type | tuple[type, ...], must_name: str | None, case: str
) -> Any:
    """Run ``action``; return its result, or None if it failed cleanly: with an
    exception of ``allowed`` (``JanusError`` subclasses; ``()``: it must not
    fail) whose message names ``must_name`` (the file's path) and is not Janus
    failing its own checks.
    A Rust panic (pyo3's PanicException, a BaseException) or any other
    exception fails the test, with the case that caused it."""
    try:
        return action()
    except AssertionError:
        raise  # a check of the caller's, with its own message
    except allowed as e:
        msg = str(e)
        assert "internal error" not in msg, f"{case}: {type(e).__name__}: {msg}"
        if must_name is not None:
            assert must_name in msg, f"{case}: the error does not name {must_name}: {msg}"
        return None
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        what = (
            "a Rust panic reached Python"
            if type(e).__name__ == "PanicException"
            else f"expected {allowed} or success, got"
        )
        raise AssertionError(f"{case}: {what} {type(e).__module__}.{type(e).__name__}: {e}") from e
