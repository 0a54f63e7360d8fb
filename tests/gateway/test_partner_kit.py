"""The partner kit (docs/schemas, docs/conformance) is what its generator writes, and true.

A partner team integrates from ``protos/`` and ``docs/`` alone, so a schema that drifts
from the codecs, or a vector that does not verify, breaks them silently. Checked here:

- the committed files equal ``scripts/gen_partner_kit.py``'s output, byte for byte;
- every JSON Schema is valid draft 2020-12, accepts every example and every payload built
  from the sample stores (``adapters/*/samples.json``, ``sh_samples.json``), and refuses
  broken ones; every example decodes with the gateway's own codec;
- Zhejiang's annotated XML decodes like its example, and the sample XML uses exactly the
  elements it documents;
- each conformance vector verifies with both SM2 backends and with the ``openssl`` CLI.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gateway.dialects.schema import validate
from gateway.encoding import canonical_json
from gateway.pb.yrd.v1 import exchange_pb2
from ledger.crypto import NATIVE_AVAILABLE, REFERENCE_AVAILABLE, PublicKey, sm3
from ledger.errors import SignatureError
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore
from tests.openssl import needs_openssl_sm3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import gen_partner_kit as gen  # noqa: E402
import partner_kit_examples as examples  # noqa: E402

KINDS = ("matter.lookup", "matter", "case.submit", "case.status", "evidence.request",
         "evidence.response", "error")  # fmt: skip
JSON_DIALECTS = ("yrd-canonical/1", "js-json/1", "ah-json-gb18030/1")
ENCODING = {"ah-json-gb18030/1": "gb18030"}
BACKENDS = [b for b, ok in (("native", NATIVE_AVAILABLE), ("reference", REFERENCE_AVAILABLE)) if ok]
CONFORMANCE = ROOT / "docs" / "conformance"
STATEMENT_KEYS = {
    "canonical_sm3", "channel", "delivered_sm3", "envelope_sm3", "exchange_id", "recipient",
    "relayed", "source_dialect", "target_dialect", "type", "v",
}  # fmt: skip


def _dir(dialect: str) -> Path:
    return gen.SCHEMA_DIR / dialect.replace("/", "-")


def _decoded(dialect: str, payload: bytes):
    return json.loads(payload.decode(ENCODING.get(dialect, "utf-8")))


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema")

    def make(dialect: str, kind: str):
        schema = json.loads((_dir(dialect) / f"{kind}.schema.json").read_text("utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        return jsonschema.Draft202012Validator(schema)

    return make


# -- the files are the generator's ------------------------------------------------------------


def test_committed_kit_is_what_the_script_generates():
    files = gen.build()
    stale = [str(p.relative_to(ROOT)) for p, data in files.items()
             if not p.exists() or p.read_bytes() != data]  # fmt: skip
    extra = (gen._owned(gen.SCHEMA_DIR) | gen._owned(gen.CONFORMANCE_DIR)) - set(files)
    assert not stale, f"run scripts/gen_partner_kit.py: stale {stale}"
    assert not extra, f"not written by scripts/gen_partner_kit.py: {sorted(map(str, extra))}"


def test_every_dialect_and_kind_is_covered():
    for dialect in (*JSON_DIALECTS, "zj-xml/1"):
        for kind in KINDS:
            suffix = "example.xml" if dialect == "zj-xml/1" else "schema.json"
            assert (_dir(dialect) / f"{kind}.{suffix}").is_file(), (dialect, kind)


# -- JSON dialects ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
@pytest.mark.parametrize("kind", KINDS)
def test_example_validates_and_decodes_with_the_codec(validator, dialect, kind):
    payload = (_dir(dialect) / f"{kind}.example.json").read_bytes()
    errors = [e.message for e in validator(dialect, kind).iter_errors(_decoded(dialect, payload))]
    assert not errors, errors
    codec = examples.codecs()[dialect]
    expected = validate(kind, examples.canonical_example(kind, codec.region))
    assert codec.to_canonical(kind, payload) == expected


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
def test_every_sample_store_payload_validates(validator, dialect):
    checked = 0
    for label, kind, payload in examples.sample_payloads(dialect):
        errors = [
            e.message for e in validator(dialect, kind).iter_errors(_decoded(dialect, payload))
        ]
        assert not errors, (label, kind, errors)
        checked += 1
    assert checked == 32  # 4 sample stores x 4 certificates x request and response


@pytest.mark.parametrize("dialect", JSON_DIALECTS)
def test_schemas_refuse_broken_payloads(validator, dialect):
    check = validator(dialect, "case.submit")
    good = _decoded(dialect, (_dir(dialect) / "case.submit.example.json").read_bytes())
    body_key = "shu_ju" if dialect == "ah-json-gb18030/1" else None

    def broken(change) -> dict:
        value = json.loads(json.dumps(good))
        change(value[body_key] if body_key else value)
        return value

    first = next(iter(good[body_key] if body_key else good))
    assert check.is_valid(good)
    assert not check.is_valid(broken(lambda v: v.pop(first)))  # a required field missing
    assert not check.is_valid(broken(lambda v: v.update(unknown_field="x")))
    assert not check.is_valid(broken(lambda v: v.update({first: ""})))  # empty text
    for name in list(good[body_key] if body_key else good):
        value = broken(lambda v, name=name: v.update({name: {"nested": True}}))
        assert not check.is_valid(value), name


# -- Zhejiang's XML ---------------------------------------------------------------------------


def _paths(element: ET.Element, prefix: str = "") -> set[str]:
    here = f"{prefix}/{element.tag}"
    out = {here}
    for child in element:
        out |= _paths(child, here)
    return out


def _documented(kind: str) -> set[str]:
    """Element paths of the annotated example, with those documented as absent."""
    text = (_dir("zj-xml/1") / f"{kind}.annotated.xml").read_text("utf-8")
    root = ET.fromstring(text)
    paths = _paths(root)
    parser = ET.XMLPullParser(["start", "end", "comment"])
    parser.feed(text)
    stack: list[str] = []
    for event, node in parser.read_events():
        if event == "start":
            stack.append(node.tag)
        elif event == "end":
            stack.pop()
        elif node.text and node.text.strip().startswith("<") and "absent here" in node.text:
            name = node.text.strip()[1:].split(">", 1)[0]
            paths.add("/" + "/".join([*stack, name]))
    return paths


@pytest.mark.parametrize("kind", KINDS)
def test_zj_annotated_example_decodes_like_the_example(kind):
    codec = examples.codecs()["zj-xml/1"]
    annotated = (_dir("zj-xml/1") / f"{kind}.annotated.xml").read_bytes()
    example = (_dir("zj-xml/1") / f"{kind}.example.xml").read_bytes()
    assert codec.to_canonical(kind, annotated) == codec.to_canonical(kind, example)


@pytest.mark.parametrize("kind", KINDS)
def test_zj_samples_use_exactly_the_documented_elements(kind):
    documented = _documented(kind)
    samples = [(_dir("zj-xml/1") / f"{kind}.example.xml").read_bytes()]
    samples += [p for _, k, p in examples.sample_payloads("zj-xml/1") if k == kind]
    seen: set[str] = set()
    for payload in samples:
        used = _paths(ET.fromstring(payload))
        assert used <= documented, sorted(used - documented)
        seen |= used
    assert seen == documented, sorted(documented - seen)


# -- conformance vectors ------------------------------------------------------------------------


def _load(name: str) -> dict:
    return json.loads((CONFORMANCE / name).read_text("utf-8"))


def _public(name: str) -> PublicKey:
    return PublicKey.from_pem((CONFORMANCE / name).read_bytes())


@pytest.mark.parametrize("backend", BACKENDS)
def test_envelope_vector(backend):
    vector = _load("envelope.json")
    raw = (CONFORMANCE / "envelope.bin").read_bytes()
    signature = (CONFORMANCE / "envelope.sig.der").read_bytes()
    public = _public("member-JS.pub.pem")
    assert raw.hex() == vector["envelope_hex"]
    assert sm3(raw).hex() == vector["envelope_sm3_hex"]
    assert signature.hex() == vector["signature_der_hex"]
    assert public.to_hex() == vector["public_key_hex"]
    assert sm3(bytes.fromhex(vector["public_key_hex"])).hex() == vector["key_id"]
    assert len(bytes.fromhex(vector["public_key_hex"])) == 65
    public.verify(raw, signature, backend=backend)
    with pytest.raises(SignatureError):
        public.verify(raw + b"\x00", signature, backend=backend)
    envelope = exchange_pb2.Envelope.FromString(raw)
    assert envelope.exchange_id == vector["fields"]["exchange_id"]
    assert sm3(envelope.payload) == envelope.payload_digest
    assert len(envelope.nonce) == 16
    signed = exchange_pb2.SignedEnvelope.FromString(bytes.fromhex(vector["signed_envelope_hex"]))
    assert (signed.envelope, signed.signature, signed.key_id) == (raw, signature, vector["key_id"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_receipt_vector(backend, monkeypatch):
    monkeypatch.setenv("YRD_SM2_BACKEND", backend)
    receipt = (CONFORMANCE / "receipt.json").read_bytes()
    trust = TrustStore.load((CONFORMANCE / "trust.json").read_bytes())
    verified = verify_receipt(receipt, trust)
    document = json.loads(receipt)
    leaves = [base64.b64decode(e) for e in _load("receipt-leaves.json")["entries_base64"]]
    assert leaves[verified.leaf_index] == verified.entry
    entry = json.loads(verified.entry)
    envelope = (CONFORMANCE / "envelope.bin").read_bytes()
    assert (
        entry["exchange_id"]
        == document["exchange_id"]
        == _load("envelope.json")["fields"]["exchange_id"]
    )
    assert entry["envelope_sm3"] == sm3(envelope).hex()
    assert canonical_json(entry) == verified.entry
    tampered = dict(document, entry=base64.b64encode(verified.entry + b" ").decode())
    with pytest.raises(Exception, match="leaf"):
        verify_receipt(json.dumps(tampered), trust)


@pytest.mark.parametrize("backend", BACKENDS)
def test_attestation_vector(backend):
    vector = _load("attestation.json")
    statement = (CONFORMANCE / "attestation.statement").read_bytes()
    signature = (CONFORMANCE / "attestation.sig.der").read_bytes()
    public = _public("attestation.pub.pem")
    delivered = (CONFORMANCE / "delivered-payload.xml").read_bytes()
    canonical = (CONFORMANCE / "canonical-payload.json").read_bytes()
    envelope = exchange_pb2.Envelope.FromString((CONFORMANCE / "envelope.bin").read_bytes())
    # (1): the signature, by the key the statement names
    assert sm3(public.to_bytes()).hex() == vector["key_id"]
    public.verify(statement, signature, backend=backend)
    # (2): the statement is canonical JSON with exactly the proto's keys
    fields = json.loads(statement)
    assert canonical_json(fields) == statement
    assert set(fields) == STATEMENT_KEYS
    assert (fields["type"], fields["v"], fields["relayed"]) == ("translation", 1, False)
    # (3): it binds the original envelope, the canonical form and the delivered bytes
    assert fields["envelope_sm3"] == sm3((CONFORMANCE / "envelope.bin").read_bytes()).hex()
    assert fields["canonical_sm3"] == sm3(canonical).hex()
    assert fields["delivered_sm3"] == sm3(delivered).hex() == vector["delivery"]["payload_sm3_hex"]
    assert fields["exchange_id"] == envelope.exchange_id
    assert (fields["source_dialect"], fields["target_dialect"]) == (envelope.dialect, "zj-xml/1")
    # (4): and the delivered payload says what the sender's payload says
    codecs = examples.codecs()
    sent = codecs["js-json/1"].to_canonical(envelope.kind, envelope.payload)
    assert codecs["zj-xml/1"].to_canonical(envelope.kind, delivered) == sent
    assert codecs["yrd-canonical/1"].to_canonical(envelope.kind, canonical) == sent
    with pytest.raises(SignatureError):
        public.verify(statement.replace(b'"relayed":false', b'"relayed":true'), signature)


def test_delivery_vector_carries_the_other_vectors():
    delivery = exchange_pb2.Delivery.FromString((CONFORMANCE / "delivery.bin").read_bytes())
    envelope = _load("envelope.json")
    attestation = _load("attestation.json")
    receipt = json.loads((CONFORMANCE / "receipt.json").read_bytes())
    assert delivery.envelope.SerializeToString().hex() == envelope["signed_envelope_hex"]
    assert delivery.attestation.SerializeToString().hex() == attestation["attestation_message_hex"]
    assert delivery.payload == (CONFORMANCE / "delivered-payload.xml").read_bytes()
    assert (delivery.dialect, delivery.attempt) == ("zj-xml/1", 1)
    assert json.loads(delivery.receipt.receipt_json) == receipt
    assert base64.b64encode(delivery.receipt.entry).decode() == receipt["entry"]
    assert [p.hex() for p in delivery.receipt.inclusion_proof] == receipt["inclusion_proof"]
    assert delivery.receipt.checkpoint == receipt["checkpoint"]
    body = (CONFORMANCE / "checkpoint.body").read_bytes()
    assert receipt["checkpoint"].startswith(body.decode() + "\n")


@needs_openssl_sm3
def test_openssl_reproduces_the_vector_digests():
    def dgst(name: str) -> str:
        out = subprocess.run(
            ["openssl", "dgst", "-sm3", "-r", name],
            cwd=CONFORMANCE, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.split()[0]

    fields = json.loads((CONFORMANCE / "attestation.statement").read_bytes())
    assert dgst("envelope.bin") == _load("envelope.json")["envelope_sm3_hex"]
    assert dgst("envelope.bin") == fields["envelope_sm3"]
    assert dgst("delivered-payload.xml") == fields["delivered_sm3"]
    assert dgst("canonical-payload.json") == fields["canonical_sm3"]


def _openssl_has_sm2() -> bool:
    if not shutil.which("openssl"):
        return False
    out = subprocess.run(
        ["openssl", "list", "-public-key-algorithms"], capture_output=True, text=True, check=False
    )
    return "SM2" in out.stdout


@pytest.mark.skipif(not _openssl_has_sm2(), reason="openssl CLI with SM2 not found")
@pytest.mark.parametrize(
    ("message", "signature", "key"),
    [
        ("envelope.bin", "envelope.sig.der", "member-JS.pub.pem"),
        ("attestation.statement", "attestation.sig.der", "attestation.pub.pem"),
        ("checkpoint.body", "checkpoint.sig.der", "log.pub.pem"),
    ],
)
def test_openssl_verifies_the_vector_signatures(message, signature, key):
    out = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", message,
         "-sigfile", signature, "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
        cwd=CONFORMANCE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Signature Verified Successfully" in out.stdout


# -- docs/exchange.md says what the code does ------------------------------------------------

GUIDE = ROOT / "docs" / "exchange.md"


def test_guide_links_resolve():
    text = GUIDE.read_text("utf-8")
    missing = []
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        if not (GUIDE.parent / target).exists():
            missing.append(target)
    assert not missing, missing


def test_guide_lists_every_sample_subject_and_matter_code():
    text = GUIDE.read_text("utf-8")
    for path in examples.SAMPLE_FILES:
        for cert in json.loads(path.read_text("utf-8"))["certificates"]:
            subject = cert.get("subject_uscc") or cert["subject_person_key"]
            row = f"| `{cert['certificate_number']}` | {cert['holder']} | `{subject}` |"
            assert row in text, row
    codecs = examples.codecs()
    for code in json.loads((ROOT / "adapters/jiangsu/mapping.json").read_text("utf-8"))[
        "matter_codes"
    ]:
        locals_ = [codecs[d].local_matter_code(code) for d in (*JSON_DIALECTS[:2], "zj-xml/1")]
        locals_.append(codecs["ah-json-gb18030/1"].local_matter_code(code))
        assert " | ".join(f"`{c}`" for c in locals_) in text, code


def test_guide_limits_and_names_match_the_code():
    from gateway.app.settings import Settings
    from gateway.exchange import core

    text = GUIDE.read_text("utf-8")
    settings = Settings()
    assert core.ENVELOPE_OVERHEAD == 8 * 1024 and "+ 8 KiB" in text
    assert "2 × `max_payload_bytes` + 128 KiB" in text  # gateway.app.compose._max_send
    assert settings.max_payload_bytes == 1 << 20 and "1 MiB = 1,048,576 bytes" in text
    assert f"{settings.max_payload_bytes + core.ENVELOPE_OVERHEAD:,} bytes" in text
    assert f"{settings.max_payload_bytes + 64 * 1024:,} bytes" in text
    assert settings.freshness_seconds == 300 and "(default 300 s)" in text
    assert settings.push_max_attempts == 12 and "12 attempts" in text
    from gateway.exchange import limits

    rows = {
        line.split("|")[1].strip(): line
        for line in text.split("## 4. Limits", 1)[1].split("\n## ", 1)[0].splitlines()
        if line.startswith("| `")
    }
    for field, phrase in (
        ("`SignedEnvelope.signature`", f"at most {limits.SIGNATURE_MAX} bytes"),
        ("`SignedEnvelope.key_id`", f"at most {limits.KEY_ID_MAX} characters"),
        ("`exchange_id`", f"({limits.EXCHANGE_ID_LEN} characters)"),
        ("`sender`, `recipient`", f"USCC ({limits.ORG_CODE_LEN})"),
        ("`sender`, `recipient`", f"`subsystem` 1–{limits.SUBSYSTEM_MAX}"),
        ("`kind`", f"1–{limits.KIND_MAX}"),
        ("`matter_ref`", f"0–{limits.MATTER_REF_MAX} characters"),
        ("`payload_content_type`", f"0–{limits.CONTENT_TYPE_MAX} printable"),
        ("`payload_digest`", f"exactly {limits.DIGEST_LEN} bytes"),
        ("`nonce`", f"exactly {limits.NONCE_LEN} bytes"),
        ("`dialect`", f"0–{limits.DIALECT_MAX} printable"),
    ):
        assert phrase in rows[field], (field, phrase)
    assert "1234567812345678" in text
    for dialect, codec in examples.codecs().items():
        assert f"| `{dialect}` | {codec.region} | `{codec.content_type}` |" in text
