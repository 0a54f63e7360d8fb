"""Debian's Chromium for the page tests: where it is, how it is launched (Playwright), where
the screenshots go. Every page test uses these, so a flag or a path changes in one place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ARGS", "ARTIFACTS", "CHROMIUM", "launch", "needs_chromium", "shot"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
)


def launch(*extra_args: str) -> Iterator[Any]:
    """The body of a module-scoped ``browser`` fixture: headless Chromium (``ARGS`` and
    ``extra_args``, e.g. ``--lang=zh-CN``), closed after."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=[*ARGS, *extra_args])
        yield chromium
        chromium.close()


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot of ``page`` as ``test-artifacts/web/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
