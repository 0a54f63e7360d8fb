"""The registry's ``witnesses`` and ``witness_quorum``: parsed strictly, errors naming the
field, and handed to auditors in the trust file."""

from __future__ import annotations

import copy

import pytest

from gateway.registry import RegistryFormatError, build_dev_registry, load_registry, sign_registry
from ledger.crypto import PrivateKey

GOVERNANCE = PrivateKey.generate()
LOG = PrivateKey.generate()
WITNESS_KEYS = [PrivateKey.generate() for _ in range(3)]
MEMBER = PrivateKey.generate()


def document(quorum: int = 2) -> dict:
    witnesses = [
        (f"w{i}.witness.yrd", k.public_key, f"http://127.0.0.1:{9100 + i}")
        for i, k in enumerate(WITNESS_KEYS)
    ]
    return build_dev_registry(
        {"SH": MEMBER.public_key},
        GOVERNANCE.public_key,
        [LOG.public_key],
        witnesses=witnesses,
        witness_quorum=quorum,
    )


def test_witnesses_and_quorum_are_read_from_the_signed_registry():
    registry = load_registry(sign_registry(document(), GOVERNANCE), [GOVERNANCE.public_key])
    assert registry.witness_quorum == 2
    assert [w.name for w in registry.log_witnesses()] == [
        "w0.witness.yrd",
        "w1.witness.yrd",
        "w2.witness.yrd",
    ]
    assert registry.log_witnesses()[1].public_key == WITNESS_KEYS[1].public_key
    assert registry.log_witnesses("another/log") == ()


def test_a_registry_without_witnesses_asks_for_no_quorum():
    plain = build_dev_registry({"SH": MEMBER.public_key}, GOVERNANCE.public_key, [LOG.public_key])
    assert "witnesses" not in plain
    registry = load_registry(sign_registry(plain, GOVERNANCE), [GOVERNANCE.public_key])
    assert registry.witnesses == () and registry.witness_quorum == 0


def _broken(change) -> dict:
    doc = copy.deepcopy(document())
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d.update(witness_quorum=4), "witness_quorum", "at most the 3"),
        (lambda d: d.update(witness_quorum=-1), "witness_quorum", "at least 0"),
        (lambda d: d.update(witness_quorum="2"), "witness_quorum", "integer"),
        (
            lambda d: (d["witnesses"][2].update(logs=["other/log"]), d.update(witness_quorum=3)),
            "witness_quorum",
            "at most the 2 witnesses of log",
        ),
        (lambda d: d["witnesses"][1].update(name="w0.witness.yrd"), "witnesses[1].name", "dup"),
        (lambda d: d["witnesses"][0].update(name="two words"), "witnesses[0].name", "expected"),
        (lambda d: d["witnesses"][0].update(name="a+b"), "witnesses[0].name", "expected"),
        (lambda d: d["witnesses"][0].update(url="ftp://x"), "witnesses[0].url", "http(s)"),
        (lambda d: d["witnesses"][0].update(logs=[]), "witnesses[0].logs", "non-empty"),
        (lambda d: d["witnesses"][0].update(logs=["a", "a"]), "witnesses[0].logs[1]", "dup"),
        (lambda d: d["witnesses"][0].update(public_key="nope"), "witnesses[0].public_key", ""),
        (lambda d: d["witnesses"][0].pop("url"), "witnesses[0].url", "missing"),
        (lambda d: d["witnesses"][0].update(extra=1), "witnesses[0].extra", "unknown"),
        (
            lambda d: d["witnesses"][0].update(public_key=LOG.public_key.to_pem().decode()),
            "witnesses[0].public_key",
            "also belongs to log",
        ),
        (
            lambda d: d["witnesses"][2].update(
                public_key=WITNESS_KEYS[0].public_key.to_pem().decode()
            ),
            "witnesses[2].public_key",
            "also belongs to witness w0.witness.yrd",
        ),
    ],
)
def test_a_bad_witness_entry_is_refused_naming_the_field(change, field, words):
    with pytest.raises(RegistryFormatError) as raised:
        sign_registry(_broken(change), GOVERNANCE)
    assert raised.value.field == field
    assert words in raised.value.problem


def test_the_registry_cli_signs_and_shows_witnesses(tmp_path, capsys):
    import argparse
    import json

    from gateway.registry.cli import add_registry_commands

    parser = argparse.ArgumentParser(prog="yrdgw")
    add_registry_commands(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(["registry", *argv])
        return int(args.func(args))

    (tmp_path / "doc.json").write_text(json.dumps(document()))
    (tmp_path / "governance.pem").write_bytes(GOVERNANCE.to_pem())
    out = str(tmp_path / "signed.json")
    assert run("sign", "--key", str(tmp_path / "governance.pem"), "--in",
               str(tmp_path / "doc.json"), "--out", out) == 0  # fmt: skip
    assert run("inspect", out) == 0
    shown = capsys.readouterr().out
    assert "witnesses (3), quorum 2:" in shown
    assert "w1.witness.yrd" in shown and "http://127.0.0.1:9101" in shown
