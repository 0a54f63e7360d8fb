"""The subprocess harness itself: a configured gateway starts, answers /healthz, stops."""

from __future__ import annotations


def test_configured_gateway_starts_and_stops_cleanly(serve):
    proc = serve.start().wait_ready()
    assert proc.healthz() == 200
    assert proc.terminate() == 0
    assert "gRPC (mTLS) listening" in proc.stdout()
