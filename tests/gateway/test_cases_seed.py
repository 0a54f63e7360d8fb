"""``seed_dev``: window accounts for the nine G60 cities (passwords printed once), handler and
auditor accounts, and two sample cases, one of them followed to its certificate."""

from __future__ import annotations

from gateway.cases import CITIES
from gateway.web import seed_dev
from tests.web.helpers import sign_in, start_web_gateway


def test_seed_dev_makes_accounts_once_and_sample_cases(tmp_path, capsys):
    gw, sims = start_web_gateway(tmp_path)
    try:
        created = gw.call(seed_dev(gw.gateway))
        assert set(CITIES) <= set(created)
        assert {"handler-sh", "handler-js", "handler-zj", "handler-ah", "auditor"} <= set(created)
        out = capsys.readouterr().out
        assert created["suzhou"] in out and "shown once" in out
        clerk = sign_in(gw.http_url, "songjiang", created["songjiang"])
        cases = clerk.get("/api/cases").json()
        assert len(cases) == 2
        assert {c["receiving_city"] for c in cases} == {"suzhou", "songjiang"}
        songjiang = next(c for c in cases if c["receiving_city"] == "songjiang")
        assert songjiang["status"] == "certificate_issued"
        assert gw.call(seed_dev(gw.gateway)) == {}  # a restart keeps accounts and cases
        assert "shown once" not in capsys.readouterr().out
        assert len(clerk.get("/api/cases").json()) == 2
        clerk.close()
    finally:
        gw.stop()
        sims.stop()
