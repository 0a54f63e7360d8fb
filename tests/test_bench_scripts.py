"""Every benchmark in ``bench/`` still starts: its imports resolve and ``--help`` exits 0.

Benchmarks are not run by the suite (timings never decide a test), so nothing else notices
when a refactor of a shared helper (``bench/_servers.py``, ``bench/exchange.py``) leaves a
script importing a name that is gone: ``bench/hotpath.py`` and ``bench/overload.py`` did
exactly that until this test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


def test_every_script_is_found() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"exchange.py", "hotpath.py", "overload.py", "sequencer.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_starts(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, f"{script.name} --help failed:\n{done.stderr[-2000:]}"
    assert "usage:" in done.stdout, done.stdout[-500:]
