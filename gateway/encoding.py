"""The canonical encodings the log entries and the gateway's signed assertions share.

``canonical_json``: sorted keys, no spaces, UTF-8 (not ASCII-escaped), so the same value
always gives the same bytes to hash and sign. ``format_time``: UTC with milliseconds and a
``Z`` (``2026-11-28T02:15:00.000Z``). A bottom module: it imports nothing of the gateway.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["canonical_json", "format_time"]


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical JSON bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_time(t: datetime) -> str:
    """``t`` (aware) as UTC with milliseconds, e.g. ``2026-11-28T02:15:00.000Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
