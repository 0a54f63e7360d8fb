"""The witness never moves backwards: not after SIGKILL right after a 200, and not when
requests race (C2SP tlog-witness's rollback race)."""

from __future__ import annotations

import itertools
import random
import threading
import time

from .conftest import body

RACE_THREADS = 8
RACE_ROUNDS = 12
RACE_DEADLINE = 120.0


def _latest_size(witness) -> int:
    answer = witness.latest()
    assert answer.status == 200, answer.text
    return int(answer.text.split("\n")[1])


def test_sigkill_after_a_200_then_restart_keeps_the_latest(make_witness, test_log):
    witness = make_witness("w1")
    assert witness.add(body(0, [], test_log.note(4))).status == 200
    assert witness.add(body(4, test_log.proof(4, 9), test_log.note(9))).status == 200
    cosigned = witness.latest().text
    witness.kill()  # SIGKILL: no shutdown code runs

    witness.start()
    assert witness.latest().text == cosigned
    # an older checkpoint, or a proof from an older size, is still refused
    stale = witness.add(body(0, [], test_log.note(4)))
    assert (stale.status, stale.text) == (409, "9\n")
    stale = witness.add(body(4, test_log.proof(4, 12), test_log.note(12)))
    assert (stale.status, stale.text) == (409, "9\n")
    assert witness.add(body(9, test_log.proof(9, 12), test_log.note(12))).status == 200
    assert witness.stop() == 0  # SIGTERM: a clean exit

    witness.start()
    assert _latest_size(witness) == 12


def test_concurrent_add_checkpoint_never_moves_backwards(witness, test_log):
    """Threads race to extend the log from whatever they last saw. Every 200 must extend
    exactly the state before it, so the accepted (old, new) pairs form one chain: two 200s
    from the same old size would be the rollback race of C2SP tlog-witness."""
    test_log.grow(RACE_THREADS * RACE_ROUNDS * 4 + 2)
    assert witness.add(body(0, [], test_log.note(1))).status == 200
    accepted: list[tuple[int, int]] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + RACE_DEADLINE
    notes = {n: test_log.note(n) for n in range(1, len(test_log.entries) + 1)}

    def racer(seed: int) -> None:
        rng = random.Random(seed)
        seen = 1
        for _ in range(RACE_ROUNDS):
            if time.monotonic() > deadline:
                failures.append("deadline")
                return
            new = min(seen + rng.randint(1, 4), len(test_log.entries))
            answer = witness.add(body(seen, test_log.proof(seen, new), notes[new]))
            if answer.status == 200:
                with lock:
                    accepted.append((seen, new))
                seen = new
            elif answer.status == 409 and answer.content_type == "text/x.tlog.size":
                seen = int(answer.text)
            else:
                failures.append(f"{answer.status} {answer.text}")
                return

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACE_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "racers did not finish"
    assert failures == []
    assert len(accepted) >= 2
    olds = [old for old, _ in accepted]
    assert len(set(olds)) == len(olds), f"two cosignatures from one old size: {accepted}"
    chain = sorted(accepted)
    assert chain[0][0] == 1
    for (_, new), (old, _) in itertools.pairwise(chain):
        assert new == old, f"accepted pairs do not chain: {chain}"
    assert _latest_size(witness) == chain[-1][1]


def test_a_rolled_back_log_is_refused(witness, test_log):
    """The log drops its last batch (entries 6..9) and grows again with other entries: the
    new checkpoint cannot be proven consistent with the one cosigned, at any size."""
    assert witness.add(body(0, [], test_log.note(6))).status == 200
    assert witness.add(body(6, test_log.proof(6, 10), test_log.note(10))).status == 200
    rolled = type(test_log)(test_log.key, entries=test_log.entries[:6])
    rolled.entries += [f"other {n}".encode() for n in range(6)]
    regrown = witness.add(body(10, rolled.proof(10, 12), rolled.note(12)))
    assert regrown.status == 422
    assert witness.add(body(6, rolled.proof(6, 12), rolled.note(12))).text == "10\n"
    same_size = witness.add(body(10, [], rolled.note(10)))  # the rewritten size-10 tree
    assert same_size.status == 409 and same_size.text.startswith("conflict:")
    assert _latest_size(witness) == 10
    kinds = sorted(e["kind"] for e in witness.evidence())
    assert kinds == ["inconsistent_proof", "split_view"]
