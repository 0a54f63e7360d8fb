"""Privacy scan: after recognitions and refusals through the real gateway, no raw ID number is
in the SQLite database files, the data directory, the captured log output or the receipts,
and every human-facing field is masked."""

from __future__ import annotations

import base64
import io
import json
import logging

import grpc
import pytest

from gateway.dialects import default_dialects
from gateway.ops import logs
from gateway.ops.privacy import contains_raw_id_number
from gateway.pb.yrd.v1 import identity_pb2
from tests.adversarial.probes import stored_blobs
from tests.gateway.test_identity_grpc import (
    BAD_NUMBER,
    LOW,
    MATTER_SUBSTANTIAL,
    PERSON,
    PROVINCES,
    SUBSTANTIAL,
    _start,
    issue,
    recognize,
    tamper,
)


@pytest.fixture
def captured_logs():
    """The gateway's JSON log output (masking filter included), captured in memory."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logs.configure("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


PERSON_NUMBER = "320505199003070122"  # js-0001 (SAMPLE DATA)


def _raw_numbers() -> list[str]:
    return [
        person["document_number"]
        for region in PROVINCES
        for person in default_dialects().get(region).identity.sample_people.values()
    ]


async def test_no_raw_id_number_anywhere_after_a_run(tmp_path_factory, captured_logs):
    gw, provinces = _start(tmp_path_factory, "gw-privacy")
    receipts: list[str] = []
    responses: list[identity_pb2.RecognizeResponse] = []
    refusals: list[str] = []
    try:
        for region in PROVINCES:
            good = await issue(provinces, region, PERSON[region], methods=SUBSTANTIAL[region])
            resp = await recognize(gw, region, good, matter_code=MATTER_SUBSTANTIAL)
            responses.append(resp)
            receipts.append(resp.receipt.receipt_json)
            for data, kw in [
                (await issue(provinces, region, PERSON[region], methods=LOW[region]),
                 {"matter_code": MATTER_SUBSTANTIAL}),
                (await issue(provinces, region, BAD_NUMBER[region]), {}),
                (tamper(region, good), {}),
                (await issue(provinces, region, PERSON[region], audience="elsewhere"), {}),
            ]:  # fmt: skip
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await recognize(gw, region, data, **kw)
                refusals.append(info.value.details() or "")
    finally:
        gw.call(provinces.stop())
        gw.stop()

    numbers = _raw_numbers()
    assert len(responses) == 3 and len(refusals) == 12

    # the positive control: the detector does see a raw number
    assert contains_raw_id_number(numbers[0].encode("utf-16-le")) == [numbers[0]]

    # (1): every file in the data directory (SQLite database, WAL, dev keys, registry)
    # (and, on a shared PostgreSQL database, every table of it)
    blobs = stored_blobs(gw)
    where = (
        "postgresql table exchanges" if gw.settings.database else str(gw.data_dir / "gateway.db")
    )
    assert any(name == where for name, _ in blobs)
    for path, blob in blobs:
        assert contains_raw_id_number(blob) == [], path
        for number in numbers:  # includes the numbers with a wrong check digit
            assert number.encode() not in blob, path

    # (2): the captured log output, which did record the recognitions and the refusals
    text = captured_logs.getvalue()
    assert text.count('"identity recognised"') == 3
    assert text.count('"identity recognition refused"') == 12
    assert contains_raw_id_number(text) == []
    assert not any(number in text for number in numbers)

    # (3): the receipts, their log entries included
    for receipt in receipts:
        entry = base64.b64decode(json.loads(receipt)["entry"])
        for blob in (receipt.encode(), entry):
            assert contains_raw_id_number(blob) == []

    # (4): what a caller shows people: masked name and number, raw ones nowhere
    for resp in responses:
        assert contains_raw_id_number(resp.SerializeToString()) == []
        assert "*" in resp.masked_name and "**********" in resp.masked_document_number
        payload = resp.canonical_assertion.split(".")[1]
        claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert contains_raw_id_number(claims) == []
    for details in refusals:
        assert not any(number in details for number in numbers)


def test_log_output_masks_a_number_that_reaches_a_log_line(captured_logs):
    """The control for (2): a number that does reach a log line comes out masked."""
    number = PERSON_NUMBER
    logging.getLogger("gateway.identity").warning("probe %s", number)
    text = captured_logs.getvalue()
    assert "probe" in text and number not in text and contains_raw_id_number(text) == []
