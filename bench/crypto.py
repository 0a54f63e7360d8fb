"""SM2/SM3 throughput of both backends, side by side with ``openssl speed`` in one run.

    .venv/bin/python bench/crypto.py [--seconds 2]

Prints sign/s, verify/s (native, native on 2 threads, reference) and SM3 MB/s, each next to
the system OpenSSL's figure measured in the same run (openssl is run before and after ours
and averaged, to damp drift on a shared machine), with ratios; writes bench/results/crypto.json.

Both sides of the SM2 comparison use generic bignum code, so the ratio says how close our
binding gets to a like-for-like C implementation, not how fast SM2 can be: the native
backend is Tongsuo (tongsuopy 1.0.1, BabaSSL 8.3.2 on OpenSSL 1.1.1h), whose SM2 curve runs
on the generic ``EC_GFp_mont_method`` (BIGNUM Montgomery arithmetic; its only specialised
prime-curve code, ``EC_GFp_nistz256_method``, is for NIST P-256); ``openssl speed sm2`` on
OpenSSL 3.0 uses the same generic method (the SM2-specific ``ecp_sm2p256`` code arrived in
OpenSSL 3.2, for aarch64 only). Checked on x86_64 by the libraries' exported symbols (no
``sm2p256`` in either). A dedicated SM2 field implementation could be several times faster
than both; the reference backend is pure Python (gmssl), a hundred times slower.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import rate, write_results
from ledger.crypto import NATIVE_AVAILABLE, PrivateKey, sm3

GENERIC_NOTE = (
    "both SM2 sides use generic bignum code: native = Tongsuo/BabaSSL 8.3.2 "
    "EC_GFp_mont_method, openssl speed = OpenSSL's generic EC_GFp_mont_method (no sm2p256 "
    "code on x86_64); the reference backend is pure Python (gmssl)"
)


def library_versions() -> dict[str, str]:
    """The C libraries on each side of the comparison, as they report themselves."""
    versions = {}
    try:
        from tongsuopy.backends.tongsuo import backend

        versions["native"] = f"tongsuopy (BabaSSL 8.3.2): {backend.openssl_version_text()}"
    except ImportError:
        versions["native"] = "unavailable"
    if shutil.which("openssl"):
        done = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=False)
        versions["openssl"] = done.stdout.strip()
    return versions


def openssl_sm2(seconds: int) -> tuple[float, float] | None:
    if not shutil.which("openssl"):
        return None
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "sm2"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.search(r"SM2 \(CurveSM2\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out)
    return (float(match.group(1)), float(match.group(2))) if match else None


def openssl_sm3(seconds: int) -> float | None:
    """MB/s of ``openssl speed -evp sm3`` at its largest block size (16 KiB)."""
    if not shutil.which("openssl"):
        return None
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "-evp", "sm3"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    line = next((ln for ln in out.splitlines() if ln.lower().startswith("sm3")), None)
    if not line:
        return None
    return float(line.split()[-1].rstrip("k")) * 1000 / 1e6


def threaded_rate(fn, threads: int, seconds: float) -> float:
    totals = [0.0] * threads

    def work(i: int) -> None:
        totals[i] = rate(fn, seconds)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(totals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    secs = max(1, int(args.seconds))
    key = PrivateKey.generate()
    message = b"x" * 32
    results: dict[str, object] = {}

    before = openssl_sm2(secs)
    ours: dict[str, dict[str, float]] = {}
    for backend in (["native"] if NATIVE_AVAILABLE else []) + ["reference"]:
        seconds = args.seconds if backend == "native" else min(args.seconds, 2.0)
        signature = key.sign(message, backend=backend)
        ours[backend] = {
            "sign_per_s": rate(lambda b=backend: key.sign(message, backend=b), seconds),
            "verify_per_s": rate(
                lambda b=backend, s=signature: key.public_key.verify(message, s, backend=b),
                seconds,
            ),
        }
    if NATIVE_AVAILABLE:
        signature = key.sign(message)
        ours["native_2_threads"] = {
            "sign_per_s": threaded_rate(lambda: key.sign(message), 2, args.seconds),
            "verify_per_s": threaded_rate(
                lambda: key.public_key.verify(message, signature), 2, args.seconds
            ),
        }
    after = openssl_sm2(secs)

    blob = b"\xa5" * (16 * 1024)
    sm3_ours = rate(lambda: sm3(blob), args.seconds, 200) * len(blob) / 1e6
    sm3_small = rate(lambda: sm3(message), args.seconds, 2000)
    sm3_openssl = openssl_sm3(secs)

    results["sm2"] = ours
    print(GENERIC_NOTE)
    results["note"] = GENERIC_NOTE
    results["libraries"] = library_versions()
    print("; ".join(f"{k}: {v}" for k, v in results["libraries"].items()))
    print(f"{'backend':<18}{'sign/s':>12}{'verify/s':>12}")
    for name, figures in ours.items():
        print(f"{name:<18}{figures['sign_per_s']:>12.0f}{figures['verify_per_s']:>12.0f}")
    if before and after:
        ossl_sign = (before[0] + after[0]) / 2
        ossl_verify = (before[1] + after[1]) / 2
        results["openssl_sm2"] = {
            "sign_per_s": ossl_sign,
            "verify_per_s": ossl_verify,
            "runs": [before, after],
        }
        print(f"{'openssl speed sm2':<18}{ossl_sign:>12.0f}{ossl_verify:>12.0f}")
        if "native" in ours:
            ratios = {
                "sign": ours["native"]["sign_per_s"] / ossl_sign,
                "verify": ours["native"]["verify_per_s"] / ossl_verify,
            }
            results["native_vs_openssl"] = ratios
            print(
                f"native / openssl: sign {ratios['sign']:.2f}x (target >= 0.8), "
                f"verify {ratios['verify']:.2f}x (target >= 0.9)"
            )
    results["sm3"] = {
        "mb_per_s_16k": sm3_ours,
        "hashes_per_s_32b": sm3_small,
        "openssl_mb_per_s_16k": sm3_openssl,
    }
    line = f"sm3 16 KiB blocks: {sm3_ours:.0f} MB/s; 32-byte messages: {sm3_small:.0f}/s"
    if sm3_openssl:
        line += f"; openssl {sm3_openssl:.0f} MB/s; ratio {sm3_ours / sm3_openssl:.2f}x"
    print(line)
    print(f"wrote {write_results('crypto', results)}")


if __name__ == "__main__":
    main()
