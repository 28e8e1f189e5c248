"""Where the ORION traces are: never copied into the repository."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[3]


def orion_candidates() -> list[Path]:
    """$JANUS_ORION_DIR, then <repo>/../shared/data/orion, then /work/shared/data/orion."""
    out = []
    env = os.environ.get("JANUS_ORION_DIR")
    if env:
        out.append(Path(env))
    out += [_REPO.parent / "shared" / "data" / "orion", Path("/work/shared/data/orion")]
    return out


def orion_dir(workflow: str | None = None) -> Path:
    """The ORION trace folder (or one workflow's sub-folder); FileNotFoundError
    listing the places tried when it is nowhere."""
    for c in orion_candidates():
        p = c / workflow if workflow else c
        if p.is_dir():
            return p
    tried = ", ".join(str(c) for c in orion_candidates())
    raise FileNotFoundError(
        f"ORION traces{f' for {workflow!r}' if workflow else ''} not found (tried {tried}); "
        "set JANUS_ORION_DIR to the folder holding ml_pipeline/ and chatbot/"
    )
