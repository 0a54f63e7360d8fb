"""The anchorer's ``select`` hook: anchor the checkpoint it picks (the gateway's "latest with a
witness quorum"), not the log's latest; None means nothing to anchor yet.

Real MerkleLog, real embedded chain, and a selector that counts real cosignatures with
``ledger.quorum.check_quorum``; driven by `run_once` with an injected clock.
"""

from __future__ import annotations

import re

import pytest

from ledger.anchor import Anchorer, AnchorError, EmbeddedChain
from ledger.cosignature import TrustedWitness, add_signature_lines, cosign, note_body
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from ledger.quorum import check_quorum

ORIGIN = "test.yrd/witnessed-anchors"
KEY = PrivateKey.generate()
WITNESS_KEYS = {name: PrivateKey.generate() for name in ("w1", "w2", "w3")}
WITNESSES = [TrustedWitness(name, key.public_key) for name, key in WITNESS_KEYS.items()]


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        self.t += 10.0  # every anchor is due by the interval
        return self.t


class Witnessed:
    """Cosigned notes by size, and the selector over them: the newest size with a quorum."""

    def __init__(self, log: MerkleLog, quorum: int) -> None:
        self.log = log
        self.quorum = quorum
        self.notes: dict[int, str] = {}
        self.asked: list[int] = []

    def cosign(self, size: int, *names: str) -> None:
        note = self.notes.get(size) or self.log.checkpoint(size).text
        lines = [cosign(note_body(note), WITNESS_KEYS[n], n).line for n in names]
        self.notes[size] = add_signature_lines(note, lines)

    def __call__(self, latest: int) -> int | None:
        self.asked.append(latest)
        sizes = sorted((s for s in self.notes if s <= latest), reverse=True)
        return next(
            (s for s in sizes if check_quorum(self.notes[s], WITNESSES, self.quorum).reached),
            None,
        )


@pytest.fixture
def log(tmp_path):
    with MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN) as merkle_log:
        yield merkle_log


def _grow(log: MerkleLog, n: int) -> int:
    log.append_many([b"entry-%d" % (log.size + i) for i in range(n)])
    return log.size


def test_the_selected_checkpoint_is_anchored_not_the_latest(log, tmp_path):
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    witnessed = Witnessed(log, quorum=2)
    anchorer = Anchorer(
        log, chain, tmp_path / "anchors.db", interval=5.0, clock=Clock(), select=witnessed
    )
    _grow(log, 3)
    _grow(log, 2)
    witnessed.cosign(5, "w1")  # one cosignature: no quorum yet
    assert anchorer.run_once() is None  # nothing witnessed: nothing anchored
    assert chain.events(ORIGIN) == [] and witnessed.asked == [5]

    witnessed.cosign(3, "w1", "w2")
    _grow(log, 4)  # latest is now 9, witnessed only up to 3
    row = anchorer.run_once()
    assert (row.tree_size, row.root, row.status) == (3, log.root(3), "confirmed")
    assert witnessed.asked[-1] == 9  # asked with the latest size

    witnessed.cosign(5, "w3")  # 5 reaches the quorum; 9 is still unwitnessed
    assert anchorer.run_once().tree_size == 5
    assert anchorer.run_once() is None  # 5 is anchored; nothing newer is witnessed
    witnessed.cosign(9, "w2", "w3")
    assert anchorer.run_once().tree_size == 9
    assert [(e.tree_size, e.root) for e in chain.events(ORIGIN)] == [
        (3, log.root(3)),
        (5, log.root(5)),
        (9, log.root(9)),
    ]
    anchorer.close()


def test_without_a_selector_the_latest_is_anchored_and_a_bad_choice_is_named(log, tmp_path):
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    _grow(log, 3)
    _grow(log, 2)
    plain = Anchorer(log, chain, tmp_path / "plain.db", interval=5.0, clock=Clock())
    assert plain.run_once().tree_size == 5
    plain.close()
    _grow(log, 1)
    wrong = Anchorer(log, chain, tmp_path / "wrong.db", interval=5.0, clock=Clock(),
                     select=lambda latest: latest + 1)  # fmt: skip
    with pytest.raises(AnchorError, match=re.escape("select chose tree size 7, outside 1..6")):
        wrong.run_once()
    assert wrong.anchors() == []  # nothing recorded for a size the log never signed
    wrong.close()
