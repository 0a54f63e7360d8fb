"""Privacy scan for legal persons: after enterprise recognitions and refusals through the
real gateway (every format with sample organisations), no applicant's credit code and no
ID number is in the SQLite database files, the data directory, the captured log output,
the receipts or the refusal messages. Members' and implementing bodies' codes are public
on purpose (member ids name them) and are the only codes allowed."""

from __future__ import annotations

import base64
import json

import grpc
import pytest

from gateway.ops.privacy import contains_raw_credit_code, contains_raw_id_number
from gateway.pb.yrd.v1 import identity_pb2
from tests.adversarial.probes import stored_blobs
from tests.gateway.harness import GatewayThread
from tests.gateway.legal_helpers import (
    LEGAL_REGIONS,
    MATTER_LEGAL,
    MATTER_NATURAL,
    Simulators,
    bad_organisation,
    high_person_method,
    legal_formats,
    org_with_role,
    private_codes,
    public_codes,
    sample_codes,
    strong_org_method,
    tamper_text,
)
from tests.gateway.test_identity_grpc import recognize
from tests.gateway.test_privacy_scan import captured_logs  # noqa: F401 - a fixture


def _people_numbers() -> set[str]:
    return {
        p["document_number"] for f in legal_formats().values() for p in f.sample_people.values()
    }


async def test_no_raw_credit_code_or_id_number_after_legal_recognitions(
    tmp_path_factory,
    captured_logs,  # noqa: F811 - the fixture imported above
):
    gw = GatewayThread(tmp_path_factory.mktemp("gw-privacy-legal")).start()
    sims = gw.call(Simulators(gw, LEGAL_REGIONS).start())
    responses: list[identity_pb2.RecognizeResponse] = []
    refusals: list[str] = []
    try:
        for region, fmt in legal_formats().items():
            rep = org_with_role(fmt, "legal_representative")
            agent = org_with_role(fmt, "authorised_agent")
            good = await sims.issue_org(region, rep, methods=[strong_org_method(fmt)])
            responses.append(await recognize(gw, region, good, matter_code=MATTER_LEGAL))
            login = await sims.issue_org(region, agent)
            responses.append(await recognize(gw, region, login))
            person = await sims.issue(
                region, person_id=rep["agent_person_id"], methods=[high_person_method(fmt)]
            )
            bad = await sims.issue_org(region, bad_organisation(fmt))
            for data, kw in [
                (bad, {}),
                (good, {"matter_code": MATTER_NATURAL}),
                (person, {"matter_code": MATTER_LEGAL}),
                (tamper_text(good, rep["name"], "冒名" + rep["name"][2:]), {}),
            ]:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await recognize(gw, region, data, **kw)
                refusals.append(info.value.details() or "")
    finally:
        gw.call(sims.stop())
        gw.stop()

    n = len(LEGAL_REGIONS)
    assert len(responses) == 2 * n and len(refusals) == 4 * n
    codes, numbers = sample_codes(), _people_numbers()
    public = public_codes(gw)
    assert not codes & public

    # the positive control: the detector sees a sample code, in UTF-16 too
    code = sorted(c for c in codes if contains_raw_credit_code(c))[0]
    assert contains_raw_credit_code(code.encode("utf-16-le")) == [code]

    # (1): every file in the data directory (SQLite database, WAL, keys, registry)
    # (and, on a shared PostgreSQL database, every table of it)
    blobs = stored_blobs(gw)
    where = (
        "postgresql table exchanges" if gw.settings.database else str(gw.data_dir / "gateway.db")
    )
    assert any(name == where for name, _ in blobs)
    for path, blob in blobs:
        assert private_codes(blob, public) == [], path
        assert contains_raw_id_number(blob) == [], path
        for raw in codes | numbers:  # the codes with a wrong check character as well
            assert raw.encode() not in blob, path

    # (2): the captured log output, which did record the recognitions and the refusals
    text = captured_logs.getvalue()
    assert text.count('"identity recognised"') == 2 * n
    assert text.count('"identity recognition refused"') == 4 * n
    assert private_codes(text, public) == [] and contains_raw_id_number(text) == []
    assert not any(raw in text for raw in codes | numbers)

    # (3): the receipts and their log entries; (4): responses and canonical assertions
    for resp in responses:
        receipt = resp.receipt.receipt_json
        entry = base64.b64decode(json.loads(receipt)["entry"])
        payload = resp.canonical_assertion.split(".")[1]
        claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        for blob in (receipt.encode(), entry, claims, resp.SerializeToString()):
            assert private_codes(blob, public) == []
            assert contains_raw_id_number(blob) == []
        assert json.loads(entry)["subject_kind"] == "legal_person"
    for details in refusals:
        assert not any(raw in details for raw in codes | numbers)
