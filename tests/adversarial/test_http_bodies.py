"""Findings 1 and 8: bounded bodies on every HTTP route of a real ``yrdgw serve``.

The gateway runs with the embedded EVM (so py_ecc and py-evm are imported, as in
production): JSON nested 100,000 deep used to segfault the process inside the C parser, and
a 300 MiB upload was read whole before the 5 MiB check (167 MB -> 782 MB of RSS).
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.adversarial.webclient import deep_json, make_accounts, memory, token, zeros

UPLOAD_ATTEMPT = 300 * 1024 * 1024
# Idle to peak during the refused uploads; the old code grew by ~600 MiB.
RSS_BOUND_KIB = 16 * 1024


@pytest.fixture
def gateway(serve):
    make_accounts(serve.root)
    config = serve.config(anchor_mode="embedded")
    proc = serve.start(config=config, env={"YRD_ANCHOR_MODE": "embedded"})
    return proc.wait_ready(timeout=120)


def _post(url: str, content, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, content=content, headers=headers or {}, timeout=60)


def test_deeply_nested_json_is_refused_and_the_process_stays_up(gateway):
    base = gateway.http_url
    deep = deep_json(100_000)
    headers = {"Content-Type": "application/json"}
    for path in ("/api/auth/sign-in", "/api/audit/verify"):
        response = _post(base + path, deep, headers)
        assert response.status_code == 400, (path, response.text[:300])
        error = response.json()["error"]
        assert error["code"] == "too_deep"
        assert "64" in error["message"]
        assert len(response.content) < 500  # nothing of the body echoed
    assert gateway.proc.poll() is None, gateway.stderr()[-3000:]
    assert gateway.healthz() == 200
    assert "Traceback" not in gateway.stderr()
    # the JSON routes still work
    assert token(base)


def test_oversized_json_bodies_are_refused_with_the_api_error_shape(gateway):
    base = gateway.http_url
    big = b'{"username": "' + b"a" * (300 * 1024) + b'", "password": "x"}'
    response = _post(base + "/api/auth/sign-in", big, {"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    # the anonymous verifier has a tighter limit than other JSON routes
    receipt = b'{"format": "' + b"a" * (100 * 1024) + b'"}'
    response = _post(base + "/api/audit/verify", receipt)
    assert response.status_code == 413
    # ... also when the body comes chunked, without a Content-Length
    response = _post(base + "/api/audit/verify", zeros(100 * 1024, 4096))
    assert response.status_code == 413
    assert gateway.healthz() == 200


def test_a_refused_field_is_named_without_echoing_its_value(gateway):
    base = gateway.http_url
    huge = "9" * (200 * 1024)
    response = httpx.post(
        f"{base}/api/auth/sign-in", json={"username": [huge], "password": "x"}, timeout=60
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "username"
    assert len(response.content) < 1000


def test_a_300_mib_upload_is_refused_without_growing_the_process(gateway, capsys):
    base = gateway.http_url
    auth = {"Authorization": f"Bearer {token(base)}"}
    url = f"{base}/api/uploads?filename=big.pdf"
    # warm the upload path with a small legal file, so idle includes what it imports
    assert _post(url, b"%PDF-1.4 small", auth).status_code == 201
    pid = gateway.proc.pid
    idle = memory(pid)
    peak_rss = idle["VmRSS"]
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_rss
        while not stop.is_set():
            peak_rss = max(peak_rss, memory(pid)["VmRSS"])
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        declared = {**auth, "Content-Length": str(UPLOAD_ATTEMPT)}
        by_length = _post(url, zeros(UPLOAD_ATTEMPT), declared)
        chunked = _post(url, zeros(UPLOAD_ATTEMPT), auth)
    finally:
        stop.set()
        sampler.join(10)
    after = memory(pid)
    for response in (by_length, chunked):
        assert response.status_code == 413, response.text[:300]
        assert response.json()["error"]["code"] == "too_large"
    growth = {
        "VmRSS peak - idle": peak_rss - idle["VmRSS"],
        "VmHWM after - idle": after["VmHWM"] - idle["VmHWM"],
    }
    with capsys.disabled():
        print(f"\nupload 300 MiB refused: idle {idle} after {after} peak VmRSS {peak_rss} KiB; "
              f"growth {growth} KiB")  # fmt: skip
    assert max(growth.values()) < RSS_BOUND_KIB, growth
    assert gateway.healthz() == 200
    assert "Traceback" not in gateway.stderr()
    # a legal upload still works after the refusals
    assert _post(url, b"%PDF-1.4 again", auth).status_code == 201
