"""One error root per package, a machine code on every error, foreign errors mapped at the
boundary, and no caller that needs the message text.

- every exception class defined in ``gateway`` derives from ``gateway.errors.Error`` and every
  one in ``ledger`` from ``ledger.errors.Error``, and each carries ``code``, an enum member;
- refusal reasons are a ``StrEnum`` whose values are the wire strings, in the one status table;
- sqlite3 errors leave the four stores as the package's ``StorageError`` (``from`` the sqlite3
  error), from the constructor, a read, and a transaction's body;
- tongsuopy/gmssl (crypto), web3 (chain) and aiohttp (push) failures, provoked with real
  failing input, arrive as our errors, never as the library's;
- the web audit page names the failed receipt check from ``ReceiptError.code``.
"""

from __future__ import annotations

import ast
import asyncio
import enum
import importlib
import json
import socket
import sqlite3
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

import gateway.errors as gateway_errors
import ledger.errors as ledger_errors
from gateway.cases.errors import CaseCode, CaseError, CaseInvalid
from gateway.cases.store import CaseStore
from gateway.dialects.canonical import CanonicalCodec
from gateway.dialects.errors import AdapterError, DeliveryError
from gateway.dialects.transport import HttpTransport
from gateway.errors import REASON_CODES, Reason, Refusal
from gateway.exchange.store import GatewayStore
from gateway.identity.errors import AssertionRejected, RejectionReason
from gateway.rpc.status import status_for
from gateway.web.audit import verify_with_checks
from ledger.anchor import AnchorStore, ChainUnavailable, JsonRpcChain
from ledger.crypto import NATIVE_AVAILABLE, REFERENCE_AVAILABLE, PrivateKey, PublicKey
from ledger.errors import ReceiptCheck, ReceiptError
from ledger.log import MerkleLog, SQLiteStore
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore, trust_document

ROOT = Path(__file__).resolve().parents[1]
ROOTS = {"gateway": gateway_errors.Error, "ledger": ledger_errors.Error}


def _modules(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "/pb/" in path.as_posix() or "node_modules" in path.as_posix():
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _exception_classes(package: str) -> list[type[BaseException]]:
    found = []
    for name in _modules(package):
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found.append(value)
    return found


# -- one root, a code on each ------------------------------------------------------------------


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_exception_derives_from_the_package_root_and_has_a_code(package):
    classes = _exception_classes(package)
    assert len(classes) > 10, "the scan found too few exception classes to mean anything"
    strays = [
        f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, ROOTS[package])
    ]
    assert not strays, f"not under {package}.errors.Error: {strays}"
    uncoded = [
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not isinstance(getattr(c, "code", None), enum.Enum)
    ]
    assert not uncoded, f"no enum code: {uncoded}"


def test_the_roots_do_not_cross():
    assert not issubclass(gateway_errors.Error, ledger_errors.Error)
    assert not issubclass(ledger_errors.Error, gateway_errors.Error)


def test_delivery_error_is_a_network_failure_not_bad_input():
    assert not issubclass(DeliveryError, ValueError)
    assert issubclass(AdapterError, ValueError)


# -- refusal reasons on the wire ---------------------------------------------------------------


def test_reasons_are_the_wire_strings_and_all_have_a_status():
    assert set(REASON_CODES) == set(Reason)
    for reason in Reason:
        assert reason == reason.value == str(reason) and reason.value.islower()
        assert isinstance(REASON_CODES[reason.value], grpc.StatusCode)  # a str key finds it


def test_refusal_carries_its_reason_as_code_and_its_status():
    refusal = Refusal("replay", "nonce: already seen")
    assert refusal.code is Reason.REPLAY and refusal.reason is Reason.REPLAY
    assert refusal.status is grpc.StatusCode.ALREADY_EXISTS
    status = status_for(refusal)
    assert status.code is grpc.StatusCode.ALREADY_EXISTS
    info = error_details_pb2.ErrorInfo()
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    from google.rpc import status_pb2

    packed = status_pb2.Status.FromString(details).details[0]
    assert packed.Unpack(info) and info.reason == "REPLAY"
    with pytest.raises(ValueError, match="unknown refusal reason"):
        Refusal("no_such_reason", "x")


def test_rejection_reasons_are_refusal_reasons():
    assert {r.value for r in RejectionReason} <= {r.value for r in Reason}
    rejected = AssertionRejected("expired", "assertion expired: exp 1, now 2")
    assert rejected.code is RejectionReason.EXPIRED and rejected.reason == "expired"
    with pytest.raises(ValueError):
        AssertionRejected("nope", "x")


def test_every_case_code_written_in_the_source_is_a_case_code():
    """A CaseError built with a code that is not a CaseCode would fail at run time."""
    names = {"CaseError", "CaseInvalid", "CaseNotFound", "CaseForbidden"}
    names |= {"TransitionRefused", "CaseUnavailable"}
    written = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in names:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    written.add(first.value)
    assert len(written) > 10
    assert written <= {c.value for c in CaseCode}, written - {c.value for c in CaseCode}
    error = CaseInvalid("invalid", "matter: expected a code", "matter")
    assert error.code is CaseCode.INVALID
    assert json.loads(json.dumps(error.to_dict()))["code"] == "invalid"
    with pytest.raises(ValueError, match="unknown case error code"):
        CaseError("no_such_code", "x")


# -- sqlite3 at the store boundary -------------------------------------------------------------


def _break_table(path: Path, table: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"DROP TABLE {table}")


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not an sqlite database" * 100)
    return path


def _assert_storage(info: pytest.ExceptionInfo, root: type[Exception]) -> None:
    assert isinstance(info.value, root)
    assert isinstance(info.value.__cause__, sqlite3.Error)


def test_gateway_store_translates_sqlite_errors(tmp_path):
    with pytest.raises(gateway_errors.StorageError) as info:
        GatewayStore(_garbage(tmp_path / "bad.db"))
    _assert_storage(info, gateway_errors.StorageError)
    store = GatewayStore(tmp_path / "gw.db")
    assert store.exchange("nope") is None
    _break_table(tmp_path / "gw.db", "exchanges")
    with pytest.raises(gateway_errors.StorageError, match="exchange: database error") as info:
        store.exchange("nope")
    _assert_storage(info, gateway_errors.StorageError)
    assert info.value.code is gateway_errors.Code.STORAGE


def test_case_store_translates_sqlite_errors_including_a_transaction_body(tmp_path):
    store = CaseStore(tmp_path / "cases.db")
    with pytest.raises(gateway_errors.StorageError) as info, store.transaction() as conn:
        conn.execute("SELECT * FROM no_such_table")
    _assert_storage(info, gateway_errors.StorageError)
    assert store.case("nope") is None  # the rolled-back transaction left the store usable
    _break_table(tmp_path / "cases.db", "cases")
    with pytest.raises(gateway_errors.StorageError) as info:
        store.case("nope")
    _assert_storage(info, gateway_errors.StorageError)


def test_ledger_stores_translate_sqlite_errors(tmp_path):
    with pytest.raises(ledger_errors.StorageError) as info:
        SQLiteStore(_garbage(tmp_path / "bad-log.db"))
    _assert_storage(info, ledger_errors.StorageError)
    log_store = SQLiteStore(tmp_path / "log.db")
    _break_table(tmp_path / "log.db", "leaves")
    with pytest.raises(ledger_errors.StorageError) as info:
        log_store.entries(0, 1)
    _assert_storage(info, ledger_errors.StorageError)
    log_store.close()

    anchors = AnchorStore(tmp_path / "anchors.db")
    _break_table(tmp_path / "anchors.db", "anchors")
    with pytest.raises(ledger_errors.StorageError) as info:
        anchors.pending("test.yrd/log")
    _assert_storage(info, ledger_errors.StorageError)


# -- foreign libraries at their one boundary ---------------------------------------------------


def _ours(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("ledger", "gateway")


BACKENDS = [
    pytest.param("native", marks=pytest.mark.skipif(not NATIVE_AVAILABLE, reason="no tongsuopy")),
    pytest.param("reference", marks=pytest.mark.skipif(not REFERENCE_AVAILABLE, reason="no gmssl")),
]
BAD_SIGNATURES = [
    b"",
    b"\x30\x00",
    b"\x30\x06\x02\x01\x01\x02\x01\x01",  # r = s = 1: well-formed DER, wrong signature
    b"\x30\x45" + b"\x02\x21\x00" + b"\xff" * 32 + b"\x02\x20" + b"\x01" * 32,  # r >= n
    bytes(range(72)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("signature", BAD_SIGNATURES)
def test_sm2_backends_raise_only_our_errors(backend, signature):
    key = PrivateKey.generate()
    with pytest.raises(Exception) as info:
        key.public_key.verify(b"message", signature, backend=backend)
    assert isinstance(info.value, ledger_errors.SignatureError), repr(info.value)


@pytest.mark.parametrize(
    "raw", [b"", b"\x04" + b"\x00" * 64, b"\x04" + b"\xff" * 64, b"\x04" + b"\x01" * 64]
)
def test_bad_public_keys_raise_key_format_error(raw):
    with pytest.raises(Exception) as info:
        PublicKey.from_bytes(raw)
    assert isinstance(info.value, ledger_errors.KeyFormatError) and _ours(info.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_web3_failures_arrive_as_chain_unavailable():
    chain = JsonRpcChain(
        f"http://127.0.0.1:{_closed_port()}",
        "0x" + "11" * 32,  # any well-formed account key: the node is never reached
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        request_timeout=2,
        timeout=2,
    )
    for call in (lambda: chain.latest("test.yrd/log"), lambda: chain.anchor("x", 1, b"\x01" * 32)):
        with pytest.raises(Exception) as info:
            call()
        assert isinstance(info.value, ChainUnavailable) and _ours(info.value), repr(info.value)
        assert info.value.__cause__ is not None and not _ours(info.value.__cause__)


def test_aiohttp_failures_arrive_as_delivery_error():
    async def push() -> None:
        url = f"http://127.0.0.1:{_closed_port()}"
        async with HttpTransport(CanonicalCodec(), url, timeout=2) as transport:
            await transport.deliver("case.submit", b"{}")

    with pytest.raises(Exception) as info:
        asyncio.run(push())
    assert isinstance(info.value, DeliveryError) and info.value.status is None
    assert info.value.__cause__ is not None and not _ours(info.value.__cause__)


# -- the audit page reads codes, not text ------------------------------------------------------

KEY = PrivateKey.generate()
ORIGIN = "test.yrd/log"
TRUST = TrustStore.load(json.dumps(trust_document(ORIGIN, KEY.public_key)).encode())


@pytest.fixture(scope="module")
def receipt(tmp_path_factory):
    path = tmp_path_factory.mktemp("receipt")
    with MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN) as log:
        log.append_many([b"entry-%d" % i for i in range(21)])
        return log.receipt(13, exchange_id="ex-13")


def _flip(hex_text: str) -> str:
    return ("0" if hex_text[0] != "0" else "1") + hex_text[1:]


TAMPERS = {
    ReceiptCheck.FORMAT: lambda r: {**r, "format": "other"},
    ReceiptCheck.TRUSTED_KEY: lambda r: {**r, "log_key_id": "00" * 32},
    ReceiptCheck.CHECKPOINT_SIGNATURE: lambda r: {
        **r,
        "checkpoint": r["checkpoint"].replace("\n21\n", "\n22\n"),
    },
    ReceiptCheck.CHECKPOINT_SIZE: lambda r: {**r, "tree_size": 22},
    ReceiptCheck.LEAF_HASH: lambda r: {**r, "entry": "ZW50cnktMTI="},
    ReceiptCheck.INCLUSION_PROOF: lambda r: {
        **r,
        "inclusion_proof": [_flip(r["inclusion_proof"][0]), *r["inclusion_proof"][1:]],
    },
}


@pytest.mark.parametrize("check", list(TAMPERS), ids=str)
def test_each_receipt_failure_carries_its_check_code(receipt, check):
    with pytest.raises(ReceiptError) as info:
        verify_receipt(TAMPERS[check](receipt), TRUST)
    assert info.value.code is check


@pytest.mark.parametrize("check", list(TAMPERS), ids=str)
def test_audit_page_marks_the_check_named_by_the_code(receipt, check):
    result = verify_with_checks(TAMPERS[check](receipt), TRUST, log=None)
    statuses = {c["check"]: c["status"] for c in result["checks"]}
    order = [c["check"] for c in result["checks"]]
    failed = order.index(check.value)
    assert result["valid"] is False
    assert [statuses[c] for c in order[:failed]] == ["pass"] * failed
    assert statuses[check.value] == "fail"
    assert {statuses[c] for c in order[failed + 1 :]} == {"not_run"}
