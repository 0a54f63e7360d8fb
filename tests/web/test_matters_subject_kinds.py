"""The matters REST API shows who may apply for a matter (``subject_kinds``), from the
catalogue, on the real web gateway on loopback."""

from __future__ import annotations

from gateway.cases import Role
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "correct-horse-battery"


def test_matters_api_shows_subject_kinds(tmp_path):
    gw, sims = start_web_gateway(tmp_path)
    try:
        gw.gateway.cases.accounts.create(
            "clerk", PASSWORD, role=Role.CLERK, display_name="clerk", city="suzhou"
        )
        clerk = sign_in(gw.http_url, "clerk", PASSWORD)
        try:
            listed = {m["basic_code"]: m for m in clerk.get("/api/matters").json()}
            assert listed["010010300200"]["subject_kinds"] == ["legal_person"]
            assert listed["010010300100"]["subject_kinds"] == ["natural_person", "legal_person"]
            assert listed["200060100100"]["subject_kinds"] == ["natural_person"]
            one = clerk.get("/api/matters/010027100000", params={"region": "ZJ"}).json()
            assert one["subject_kinds"] == ["legal_person"] and one["region"] == "ZJ"
        finally:
            clerk.close()
    finally:
        gw.stop()
        sims.stop()
