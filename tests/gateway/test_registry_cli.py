"""``registry create/sign/inspect/verify`` through a small argparse parser, and a subprocess."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.registry.cli import add_registry_commands
from ledger.crypto import PrivateKey

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="yrdgw")
    add_registry_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["registry", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A keys dir, an unsigned dev registry and its signed form."""
    d = tmp_path_factory.mktemp("reg")
    keys = d / "keys"
    assert run("create", "--out", str(d / "doc.json"), "--keys-dir", str(keys)) == 0
    assert (
        run(
            "sign",
            "--key",
            str(keys / "governance.key.pem"),
            "--in",
            str(d / "doc.json"),
            "--out",
            str(d / "signed.json"),
        )
        == 0
    )
    return d


def test_create_writes_valid_document_and_keys(signed, capsys):
    doc = json.loads((signed / "doc.json").read_text())
    assert [m["id"]["region"] for m in doc["members"]] == ["SH", "JS", "ZJ", "AH"]
    assert len(doc["identity_providers"]) == 4
    keys = signed / "keys"
    for name in ("governance", "log", "member-sh", "member-js", "idp-ah"):
        assert (keys / f"{name}.key.pem").exists() and (keys / f"{name}.pub.pem").exists()
    assert (keys / "member-js.key.pem").stat().st_mode & 0o077 == 0
    # Creating again refuses to overwrite, and reuses the keys with --force.
    assert run("create", "--out", str(signed / "doc.json"), "--keys-dir", str(keys)) == 2
    assert "exists" in capsys.readouterr().err
    again = signed / "doc2.json"
    assert run("create", "--out", str(again), "--keys-dir", str(keys), "--serial", "2") == 0
    doc2 = json.loads(again.read_text())
    assert doc2["serial"] == 2
    assert doc2["members"][1]["keys"][0]["key_id"] == doc["members"][1]["keys"][0]["key_id"]


def test_create_with_endpoint_and_certificate(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    # Any DER bytes will do for the fingerprint: it is SHA-256 over the certificate's DER.
    (keys / "member-zj.crt.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n"
    )
    out = tmp_path / "doc.json"
    pin = hashlib.sha256(b"the partner's server certificate").hexdigest()
    args = ["--keys-dir", str(keys), "--endpoint", "sh=https://sh/x"]
    # an https endpoint without the pin of its server certificate would not load
    assert run("create", "--out", str(out), *args) == 1
    assert run("create", "--out", str(out), *args, "--server-pin", "xx=" + pin) == 2
    assert run("create", "--out", str(out), *args, "--server-pin", "sh=zz") == 2
    assert run("create", "--out", str(out), *args, "--server-pin", "sh=" + pin.upper()) == 0
    doc = json.loads(out.read_text())
    assert doc["members"][0]["delivery"]["server_cert_sha256"] == pin
    assert doc["members"][2]["tls_fingerprints"] == [
        hashlib.sha256(bytes([0, 1, 2, 3, 4])).hexdigest()
    ]
    assert doc["members"][0]["delivery"]["endpoint"] == "https://sh/x"
    assert (
        run(
            "create",
            "--out",
            str(tmp_path / "x.json"),
            "--keys-dir",
            str(keys),
            "--endpoint",
            "BJ=http://x",
        )
        == 2
    )


def test_verify_valid(signed, capsys):
    gov = signed / "keys" / "governance.pub.pem"
    assert run("verify", str(signed / "signed.json"), "--trust", str(gov)) == 0
    assert capsys.readouterr().out.startswith("ok: registry serial 1")


def test_verify_invalid_cases(signed, tmp_path, capsys):
    gov = str(signed / "keys" / "governance.pub.pem")
    wrapper = json.loads((signed / "signed.json").read_text())
    wrapper["registry"]["serial"] = 99
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(wrapper))
    assert run("verify", str(tampered), "--trust", gov) == 1
    assert "signature does not verify" in capsys.readouterr().err

    other = tmp_path / "other.pub.pem"
    other.write_bytes(PrivateKey.generate().public_key.to_pem())
    assert run("verify", str(signed / "signed.json"), "--trust", str(other)) == 1
    assert "untrusted key" in capsys.readouterr().err

    assert run("verify", str(signed / "doc.json"), "--trust", gov) == 1
    assert "not signed" in capsys.readouterr().err

    assert (
        run("verify", str(signed / "signed.json"), "--trust", gov, "--at", "2999-01-01T00:00:00Z")
        == 1
    )
    assert "expired at" in capsys.readouterr().err
    assert (
        run("verify", str(signed / "signed.json"), "--trust", gov, "--at", "2000-01-01T00:00:00Z")
        == 1
    )
    assert "not yet valid" in capsys.readouterr().err


def test_verify_input_errors(signed, tmp_path, capsys):
    gov = str(signed / "keys" / "governance.pub.pem")
    assert run("verify", str(tmp_path / "nope.json"), "--trust", gov) == 2
    assert "cannot read registry" in capsys.readouterr().err
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    assert run("verify", str(signed / "signed.json"), "--trust", str(bad_key)) == 2
    assert "bad.pem" in capsys.readouterr().err
    assert run("verify", str(signed / "signed.json"), "--trust", gov, "--at", "yesterday") == 2


def test_sign_errors(signed, tmp_path, capsys):
    keys = signed / "keys"
    out = str(tmp_path / "s.json")
    # Signing with a key other than the one the document names.
    assert (
        run(
            "sign",
            "--key",
            str(keys / "log.key.pem"),
            "--in",
            str(signed / "doc.json"),
            "--out",
            out,
        )
        == 1
    )
    assert "governance_key_id mismatch" in capsys.readouterr().err
    # Already signed input, missing input, invalid document.
    gov = str(keys / "governance.key.pem")
    assert run("sign", "--key", gov, "--in", str(signed / "signed.json"), "--out", out) == 2
    assert run("sign", "--key", gov, "--in", str(tmp_path / "none.json"), "--out", out) == 2
    doc = json.loads((signed / "doc.json").read_text())
    doc["members"][0]["id"]["org_code"] = "91350100M000100Y44"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert run("sign", "--key", gov, "--in", str(bad), "--out", out) == 1
    assert "members[0].id.org_code: invalid unified social credit code" in capsys.readouterr().err
    assert not Path(out).exists()


def test_inspect(signed, capsys):
    assert run("inspect", str(signed / "signed.json")) == 0
    out = capsys.readouterr().out
    assert "serial 1" in out and "members (4):" in out
    assert "JS/1132050000YRD00027/suzhou" in out and "delivery push http://" in out
    assert "days left" in out and "not checked" in out
    gov = str(signed / "keys" / "governance.pub.pem")
    assert run("inspect", str(signed / "signed.json"), "--trust", gov) == 0
    assert "signature: valid" in capsys.readouterr().out
    assert run("inspect", str(signed / "doc.json"), "--at", "2999-01-01T00:00:00Z") == 0
    out = capsys.readouterr().out
    assert "unsigned document" in out and "(expired)" in out


def test_subprocess_exit_codes_without_traceback(signed):
    code = (
        "import argparse, sys\n"
        "from gateway.registry.cli import add_registry_commands\n"
        "p = argparse.ArgumentParser(prog='yrdgw')\n"
        "add_registry_commands(p.add_subparsers(dest='command', required=True))\n"
        "a = p.parse_args(sys.argv[1:])\n"
        "sys.exit(a.func(a))\n"
    )
    gov = str(signed / "keys" / "governance.pub.pem")

    def call(*argv):
        return subprocess.run(
            [sys.executable, "-c", code, "registry", *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )

    ok = call("verify", str(signed / "signed.json"), "--trust", gov)
    assert ok.returncode == 0, ok.stderr
    bad = call("verify", str(signed / "doc.json"), "--trust", gov)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    missing = call("verify", str(signed / "missing.json"), "--trust", gov)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    usage = call("verify", str(signed / "signed.json"))  # --trust is required
    assert usage.returncode == 2 and "--trust" in usage.stderr
