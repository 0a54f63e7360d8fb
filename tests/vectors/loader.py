"""One loader for the JSON test-vector files under tests/vectors (each has a ``source``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent


def load(relative: str) -> list[dict[str, Any]]:
    document = json.loads((ROOT / relative).read_text(encoding="utf-8"))
    assert document.get("source"), f"{relative} must say where its vectors come from"
    return document["cases"]
