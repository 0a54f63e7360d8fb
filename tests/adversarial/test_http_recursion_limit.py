"""Finding 1 (cause): importing the embedded EVM must not raise the recursion limit.

py_ecc and py-evm call ``sys.setrecursionlimit(100_000)`` on import; with that limit deeply
nested JSON overflows the C stack inside ``json`` and the process dies of SIGSEGV. Checked in
a fresh interpreter, since this test process may have imported web3 already.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.adversarial.serving import REPO

_PROBE = """
import json, sys
before = sys.getrecursionlimit()
from ledger.anchor import EmbeddedChain
chain = EmbeddedChain()
chain.deploy()
import gateway.app.anchoring  # the gateway's wiring of the chain
after = sys.getrecursionlimit()
try:
    json.loads("[" * 100_000 + "]" * 100_000)
except RecursionError:
    outcome = "RecursionError"
else:
    outcome = "parsed"
print(before, after, outcome)
"""


def test_building_an_embedded_chain_leaves_the_recursion_limit_unchanged():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, cwd=REPO, capture_output=True, timeout=120
    )
    assert done.returncode == 0, f"probe died ({done.returncode}): {done.stderr[-2000:]!r}"
    before, after, outcome = done.stdout.decode().split()
    assert after == before
    assert outcome == "RecursionError"
