"""Text for one-line CLI messages: whatever a file or an exception holds, printed safely.

The CLIs promise one line per error. A message that quotes input (a checkpoint's origin
line, a JSON parser's complaint) could otherwise carry newlines, terminal control codes or
kilobytes of raw bytes onto the operator's terminal.
"""

from __future__ import annotations

__all__ = ["DEFAULT_LIMIT", "one_line"]

DEFAULT_LIMIT = 300
"""Characters kept of a message; enough for any of our own, short for an echoed input."""


def one_line(text: object, limit: int = DEFAULT_LIMIT) -> str:
    """``str(text)`` with every non-printable character escaped as Python does (``\\n``,
    ``\\x1b``), cut to ``limit`` characters with a trailing ``…`` if longer."""
    flat = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
