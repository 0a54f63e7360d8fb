"""Cross-region cases over a real gateway (uvicorn + gRPC on loopback) and real province
simulators: the whole lifecycle from a Suzhou window to a Zhejiang handler, deadlines across
the National Day holiday, refusals that write nothing, and receipts checked with yrd-audit.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import date, timedelta

import httpx
import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.dialects.simulator import CASES
from gateway.storage.sql import connect
from gateway.web.seed import sample_id_number
from tests.web.helpers import (
    BusinessClock,
    complete_materials,
    sign_in,
    start_web_gateway,
    wait_for,
)

PASSWORD = "correct-horse-battery"
START = "2026-09-30T10:00:00+08:00"  # the Wednesday before the National Day holiday
ID_OK = sample_id_number("32050219900307123")
ID_BAD = ID_OK[:-1] + ("0" if ID_OK[-1] != "0" else "1")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    clock = BusinessClock(START)
    data = tmp_path_factory.mktemp("cases")
    gw, sims = start_web_gateway(data, CaseOptions(clock=clock))
    service = gw.gateway.cases
    for user, role, where in (
        ("suzhou-clerk", Role.CLERK, {"city": "suzhou"}),
        ("hangzhou-clerk", Role.CLERK, {"city": "hangzhou"}),
        ("zj-handler", Role.HANDLER, {"region": "ZJ"}),
        ("sh-handler", Role.HANDLER, {"region": "SH"}),
        ("auditor", Role.AUDITOR, {}),
    ):
        service.accounts.create(user, PASSWORD, role=role, display_name=user, **where)
    clients = {
        u: sign_in(gw.http_url, u, PASSWORD)
        for u in ("suzhou-clerk", "hangzhou-clerk", "zj-handler", "sh-handler", "auditor")
    }
    yield {"gw": gw, "sims": sims, "clock": clock, "data": data, **clients}
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


def _upload(client: httpx.Client, name: str, body: bytes) -> dict:
    r = client.post(
        "/api/uploads",
        params={"filename": name},
        content=body,
        headers={"Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _case_body(upload_id: str | None = None, **over) -> dict:
    body = {
        "matter_code": "010010300100",  # 企业设立登记: promised 3 working days
        "handling_region": "ZJ",
        "handling_mode": "异地代收代办",
        "applicant": {"name": "张三丰", "id_number": ID_OK, "phone": "13812345678"},
        "materials": [{"material_id": "M01", "upload_id": upload_id}] if upload_id else [],
    }
    body.update(over)
    return body


def _complete(client: httpx.Client, body: dict) -> dict:
    """``body`` with every material its matter requires attached (the completeness check)."""
    code, region = body["matter_code"], body["handling_region"]
    return {**body, "materials": complete_materials(client, code, region, body["materials"])}


def _submit_accepted(env, **over) -> dict:
    clerk = env["suzhou-clerk"]
    up = _upload(clerk, "申请书.pdf", b"%PDF-1.4 application " + json.dumps(over).encode())
    r = clerk.post("/api/cases", json=_complete(clerk, _case_body(up["upload_id"], **over)))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    return wait_for(
        lambda: (d := clerk.get(f"/api/cases/{case_id}").json())["status"] == "accepted" and d
    )


def _counts(env) -> tuple:
    gw = env["gw"].gateway
    return (*gw.cases.store.counts().values(), gw.store.exchange_count())


def _verify_cli(tmp_path, receipt: dict, trust: dict) -> subprocess.CompletedProcess:
    r_path, t_path = tmp_path / "receipt.json", tmp_path / "trust.json"
    r_path.write_text(json.dumps(receipt))
    t_path.write_text(json.dumps(trust))
    return subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", "verify", str(r_path), "--trust", str(t_path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_whole_lifecycle_suzhou_window_to_zhejiang_handler(env, tmp_path):
    clerk, handler = env["suzhou-clerk"], env["zj-handler"]
    content = b"%PDF-1.4 company registration application"
    up = _upload(clerk, "公司登记申请书.pdf", content)
    body = _complete(clerk, _case_body(up["upload_id"], note="代收原件已核验"))
    r = clerk.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    case = r.json()
    case_id = case["case_id"]
    assert case["status"] == "submitted"
    assert case["applicant"]["name"] == "张*丰"
    assert (
        case["applicant"]["id_number"].startswith(ID_OK[:4])
        and "*" in case["applicant"]["id_number"]
    )
    # the Zhejiang simulator received the case through its adapter and answered: accepted
    case = wait_for(
        lambda: (d := clerk.get(f"/api/cases/{case_id}").json())["status"] == "accepted" and d
    )
    received = env["sims"].sims.apps["ZJ"][CASES][case_id]["case"]
    assert received["materials"][0]["digest_sm3"] == up["sm3"]
    assert received["applicant"]["masked_name"] == "张*丰"
    assert ID_OK not in json.dumps(received, ensure_ascii=False)
    assert "受理编号" in case["timeline"][1]["note"]
    # Zhejiang's answer is itself a logged exchange naming the submission (in_reply_to)
    answer = env["gw"].gateway.store.answer_to(case["timeline"][0]["exchange_id"])
    assert answer is not None and answer.kind == "case.status"
    assert "受理编号" in json.loads(answer.canonical)["note"]
    # Zhejiang promises 3 natural days: 2026-10-03 falls in the National Day holiday
    # (Oct 1-7), so the limit ends on the first working day after it
    assert case["accepted_on"] == "2026-09-30"
    assert case["promised_limit"] == {"value": 3, "unit": "natural_days"}
    assert case["countdown"]["deadline"] == "2026-10-08"
    assert case["countdown"]["working_days_left"] == 1
    assert not case["countdown"]["overdue"]
    # the handling side drives its steps; the window archives and records the rating
    for step in ("transferred", "approved", "certificate_issued"):
        r = handler.post(f"/api/cases/{case_id}/transitions", json={"to": step, "note": step})
        assert r.status_code == 200, r.text
    r = clerk.post(f"/api/cases/{case_id}/transitions", json={"to": "archived"})
    assert r.status_code == 200, r.text
    r = clerk.post(f"/api/cases/{case_id}/rating", json={"grade": 5, "comment": "很快"})
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["status"] == "archived" and case["rating"] == 5
    steps = [e["transition"] for e in case["timeline"]]
    assert steps == [
        "submitted",
        "accepted",
        "transferred",
        "approved",
        "certificate_issued",
        "archived",
        "rated",
    ]
    senders = [e["sender"].split("/")[0] for e in case["timeline"]]
    assert senders == ["JS", "ZJ", "ZJ", "ZJ", "ZJ", "JS", "JS"]
    # filters
    rows = clerk.get(
        "/api/cases", params={"status": "archived", "city": "suzhou", "province": "ZJ"}
    ).json()
    assert case_id in [c["case_id"] for c in rows]
    assert case_id not in [c["case_id"] for c in clerk.get("/api/cases?city=hangzhou").json()]
    # the material comes back intact, and is not stored in the clear
    r = clerk.get(f"/api/cases/{case_id}/materials/M01")
    assert r.status_code == 200 and r.content == content
    assert r.headers["x-content-sm3"] == up["sm3"]
    db = connect(env["gw"].settings.database or env["data"] / "cases.db")
    blobs = b"".join(bytes(row[0]) for row in db.execute("SELECT sealed FROM materials"))
    sealed = db.execute("SELECT applicant_sealed FROM cases").fetchall()
    sealed_id = b"".join(bytes(row[0]) for row in sealed)
    db.close()
    assert content not in blobs and ID_OK.encode() not in sealed_id
    # the full applicant is shown to the receiving window only
    assert (
        clerk.get(f"/api/cases/{case_id}/applicant").json()["identity"]["subject"][
            "document_number"
        ]
        == ID_OK
    )
    assert env["hangzhou-clerk"].get(f"/api/cases/{case_id}/applicant").status_code == 403
    # every receipt the API offers verifies with yrd-audit on the command line
    trust = httpx.get(env["gw"].http_url + "/api/trust.json").json()
    listing = clerk.get(f"/api/cases/{case_id}/receipts").json()
    assert len(listing) == 7
    for item in listing:
        receipt = clerk.get(item["url"]).json()
        assert receipt["exchange_id"] == item["exchange_id"]
        done = _verify_cli(tmp_path, receipt, trust)
        assert done.returncode == 0, done.stderr
        assert "VALID" in done.stdout
    # the zip holds the same receipts and the trust file
    r = clerk.get(f"/api/cases/{case_id}/receipts.zip")
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "trust.json" in names and len([n for n in names if n[:2].isdigit()]) == 7


def test_deadline_in_working_days_across_the_holiday_then_overdue(env):
    clerk = env["suzhou-clerk"]
    # Anhui promises 3 working days: Oct 1-7 are holidays, so Oct 8, Oct 9 and Saturday
    # Oct 10 (a make-up working day) are the three
    case = _submit_accepted(env, handling_region="AH")
    assert case["promised_limit"] == {"value": 3, "unit": "working_days"}
    assert case["countdown"]["deadline"] == "2026-10-10"
    assert case["countdown"]["working_days_left"] == 3
    env["clock"].set("2026-10-12T09:00:00+08:00")
    try:
        detail = clerk.get(f"/api/cases/{case['case_id']}").json()
        assert detail["countdown"]["overdue"] is True
        assert detail["countdown"]["working_days_left"] == -1  # Monday 12th is one day late
        overdue = [c["case_id"] for c in clerk.get("/api/cases?overdue=true").json()]
        assert case["case_id"] in overdue
        on_time = [c["case_id"] for c in clerk.get("/api/cases?overdue=false").json()]
        assert case["case_id"] not in on_time
    finally:
        env["clock"].set(START)
    assert case["case_id"] not in [
        c["case_id"] for c in clerk.get("/api/cases?overdue=true").json()
    ]


def test_natural_day_limit_and_provisional_deadline():
    from gateway.cases import deadline_for
    from gateway.matters import TimeLimit
    from gateway.workdays import default_calendar

    cal = default_calendar()
    natural = TimeLimit.from_dict({"value": 45, "unit": "natural_days"})
    # 2026-11-14 is a Saturday: the limit ends on Monday the 16th
    assert deadline_for(date(2026, 9, 30), natural, cal) == date(2026, 11, 16)
    ten = TimeLimit.from_dict({"value": 10, "unit": "natural_days"})
    assert deadline_for(date(2026, 9, 30), ten, cal) == date(2026, 10, 10)  # make-up Saturday
    working = TimeLimit.from_dict({"value": 15, "unit": "working_days"})
    # from 2026-09-30: Oct 8, 9, 10 (make-up Saturday), 12-16, 19-23, 26, 27 are the 15
    assert deadline_for(date(2026, 9, 30), working, cal) == date(2026, 10, 27)


def test_refusals_are_clear_and_write_nothing(env):
    gw = env["gw"]
    clerk, other = env["suzhou-clerk"], env["hangzhou-clerk"]
    up = _upload(clerk, "a.pdf", b"%PDF-1.4 a")
    accepted = _submit_accepted(env)
    before = _counts(env)

    def refused(response: httpx.Response, status: int, code: str, field: str | None = None):
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        if field:
            assert error["field"] == field
        assert _counts(env) == before, "a refusal wrote something"
        return error

    anonymous = httpx.Client(base_url=gw.http_url, timeout=30)
    refused(anonymous.post("/api/cases", json=_case_body(up["upload_id"])), 401, "unauthenticated")
    refused(anonymous.get("/api/cases"), 401, "unauthenticated")
    refused(
        anonymous.post(
            "/api/auth/sign-in", json={"username": "suzhou-clerk", "password": "wrong-password"}
        ),
        401,
        "bad_credentials",
    )
    # a session cookie alone does not allow writes (no cross-site form posts)
    cookie = httpx.Client(base_url=gw.http_url, timeout=30)
    assert (
        cookie.post(
            "/api/auth/sign-in", json={"username": "suzhou-clerk", "password": PASSWORD}
        ).status_code
        == 200
    )
    assert cookie.get("/api/cases").status_code == 200
    refused(cookie.post("/api/cases", json=_case_body(up["upload_id"])), 401, "unauthenticated")
    # wrong city: submitting for another window, acting on another window's case
    refused(
        clerk.post("/api/cases", json=_case_body(up["upload_id"], receiving_city="hangzhou")),
        403,
        "wrong_city",
        "receiving_city",
    )
    refused(
        other.post(f"/api/cases/{accepted['case_id']}/transitions", json={"to": "archived"}),
        403,
        "wrong_city",
    )
    # another window's staged upload cannot be attached
    refused(
        other.post("/api/cases", json=_case_body(up["upload_id"], handling_region="AH")),
        422,
        "unknown_upload",
        "materials[0].upload_id",
    )
    # invalid resident id number: the check digit, and the message never echoes the number
    bad = _case_body(up["upload_id"])
    bad["applicant"] = {"name": "张三丰", "id_number": ID_BAD}
    error = refused(
        clerk.post("/api/cases", json=bad), 422, "invalid_id_number", "applicant.id_number"
    )
    assert "校验位" in error["message"] and ID_BAD not in error["message"]
    assert error["field_label"] == "申请人身份证号"
    # unknown matter; a mode the province does not offer; a same-region "cross-region" case
    refused(
        clerk.post("/api/cases", json=_case_body(up["upload_id"], matter_code="999999999999")),
        422,
        "unknown_matter",
        "matter_code",
    )
    refused(
        clerk.post(
            "/api/cases",
            json=_case_body(
                up["upload_id"], matter_code="200060100100", handling_mode="异地代收代办"
            ),
        ),
        422,
        "invalid_mode",
        "handling_mode",
    )
    refused(
        clerk.post("/api/cases", json=_case_body(up["upload_id"], handling_region="JS")),
        422,
        "not_cross_region",
        "handling_region",
    )
    # a material the matter does not have
    refused(
        clerk.post(
            "/api/cases",
            json={
                **_case_body(),
                "materials": [{"material_id": "M99", "upload_id": up["upload_id"]}],
            },
        ),
        422,
        "unknown_material",
        "materials[0].material_id",
    )
    # transitions out of order, by the wrong side, by the wrong province, by an auditor
    case = f"/api/cases/{accepted['case_id']}/transitions"
    error = refused(env["zj-handler"].post(case, json={"to": "approved"}), 409, "out_of_order")
    assert "“已受理”，不能转为“审批通过”" in error["message"] and "已流转" in error["message"]
    refused(env["zj-handler"].post(case, json={"to": "accepted"}), 409, "out_of_order")
    refused(clerk.post(case, json={"to": "transferred"}), 403, "wrong_actor")
    refused(env["sh-handler"].post(case, json={"to": "transferred"}), 403, "wrong_region")
    refused(env["auditor"].post(case, json={"to": "transferred"}), 403, "forbidden")
    refused(
        clerk.post(f"/api/cases/{accepted['case_id']}/rating", json={"grade": 4}),
        409,
        "out_of_order",
    )
    refused(env["auditor"].post("/api/cases", json=_case_body(up["upload_id"])), 403, "forbidden")
    refused(clerk.get("/api/cases/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    anonymous.close()
    cookie.close()


def test_a_registry_past_its_grace_refuses_case_steps_in_the_error_shape(env):
    """The case API relies on the trust registry to sign and route exchanges: past its grace
    a submission is a 503 ``registry_expired`` in the documented shape, and writes nothing."""
    holder = env["gw"].gateway.registry
    clerk = env["suzhou-clerk"]
    up = _upload(clerk, "申请书.pdf", b"%PDF-1.4 registry expiry")
    body = _complete(clerk, _case_body(up["upload_id"]))
    before = _counts(env)
    real_clock = holder.clock
    expires = holder.require().expires_at
    holder.clock = lambda: expires + holder.grace + timedelta(seconds=1)
    try:
        r = clerk.post("/api/cases", json=body)
    finally:
        holder.clock = real_clock
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "registry_expired"
    assert _counts(env) == before


def test_refused_by_the_handling_province_then_archived(env, tmp_path):
    clerk, handler = env["suzhou-clerk"], env["sh-handler"]
    up = _upload(clerk, "b.pdf", b"%PDF-1.4 b")
    body = _complete(clerk, _case_body(up["upload_id"], handling_region="SH"))  # SH pulls
    case_id = clerk.post("/api/cases", json=body).json()["case_id"]
    r = handler.post(
        f"/api/cases/{case_id}/transitions",
        json={"to": "refused", "note": "材料不齐全，联系电话 13812345678"},
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["status"] == "refused" and case["finished_on"] == "2026-09-30"
    assert "13812345678" not in case["timeline"][-1]["note"]  # personal data scrubbed
    assert (
        clerk.post(f"/api/cases/{case_id}/transitions", json={"to": "archived"}).status_code == 200
    )
    assert clerk.post(f"/api/cases/{case_id}/rating", json={"grade": 2}).json()["rating"] == 2
    assert clerk.post(f"/api/cases/{case_id}/rating", json={"grade": 3}).status_code == 409


def test_auditor_checks_every_exchange_and_sees_tampering(env):
    clerk, auditor = env["suzhou-clerk"], env["auditor"]
    case = _submit_accepted(env)
    listing = auditor.get(f"/api/audit/cases/{case['case_id']}/exchanges").json()
    assert [x["event"]["transition"] for x in listing["exchanges"]] == ["submitted", "accepted"]
    assert all(x["valid"] for x in listing["exchanges"])
    exchange_id = case["timeline"][0]["exchange_id"]
    looked_up = auditor.get(f"/api/audit/exchanges/{exchange_id}").json()
    checks = {c["check"]: c for c in looked_up["verification"]["checks"]}
    assert [c["status"] for c in looked_up["verification"]["checks"]].count("pass") == 7
    assert checks["anchor"]["status"] == "skipped"
    assert checks["anchor"]["detail"] == "未配置链上锚定"
    assert checks["consistency"]["status"] == "pass"
    receipt = clerk.get(f"/api/receipts/{exchange_id}.json").json()
    public = httpx.Client(base_url=env["gw"].http_url, timeout=30)
    ok = public.post("/api/audit/verify", content=json.dumps(receipt)).json()
    assert ok["valid"] and ok["entry"]["kind"] == "case.submit"
    tampered = dict(receipt, leaf_index=receipt["leaf_index"] + 1)
    bad = public.post("/api/audit/verify", content=json.dumps(tampered)).json()
    status = {c["check"]: c["status"] for c in bad["checks"]}
    assert not bad["valid"] and status["inclusion_proof"] == "fail"
    assert status["checkpoint_signature"] == "pass" and status["consistency"] == "not_run"
    forged = dict(receipt, checkpoint=receipt["checkpoint"].replace("\n", "\n1", 1))
    status = {
        c["check"]: c["status"]
        for c in public.post("/api/audit/verify", content=json.dumps(forged)).json()["checks"]
    }
    assert status["checkpoint_signature"] == "fail"
    garbage = public.post("/api/audit/verify", content=b"not json").json()
    assert garbage["checks"][0]["status"] == "fail"
    public.close()


def test_anchor_check_uses_the_anchorer_when_present(env):
    from gateway.web.api import trust_for
    from gateway.web.audit import verify_with_checks
    from ledger.trust import TrustStore

    gw = env["gw"].gateway
    case = _submit_accepted(env)
    receipt = (
        env["suzhou-clerk"].get(f"/api/receipts/{case['timeline'][0]['exchange_id']}.json").json()
    )
    trust = TrustStore.load(json.dumps(trust_for(gw)).encode())
    size = gw.log.size

    class Row:
        tree_size, root, block_number, tx_hash = size, gw.log.root(size), 7, "0x" + "ab" * 32

    class Anchorer:
        def __init__(self, row):
            self.row = row

        def covering_anchor(self, tree_size):
            return self.row if self.row and tree_size <= self.row.tree_size else None

    def anchor(anchorer):
        result = verify_with_checks(receipt, trust, gw.log, anchorer)
        return next(c for c in result["checks"] if c["check"] == "anchor")

    good = anchor(Anchorer(Row))
    assert good["status"] == "pass" and "区块 7" in good["detail"]
    assert anchor(Anchorer(None))["status"] == "skipped"

    class WrongRoot(Row):
        root = b"\x01" * 32

    assert anchor(Anchorer(WrongRoot))["status"] == "fail"


def test_compare_a_matter_across_provinces(env):
    r = env["suzhou-clerk"].get(
        "/api/matters/200051200100/compare",
        params={"regions": "JS,ZJ", "reference_date": "2026-09-30"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["regions"] == ["JS", "ZJ"] and "materials" in body
    # 45 natural days from 2026-09-30 contain the National Day week: fewer working days
    assert body["promised_working_days"]["JS"] < 45
    assert env["suzhou-clerk"].get("/api/matters/999999999999/compare").status_code == 404
    assert httpx.get(env["gw"].http_url + "/docs").status_code == 200
    paths = httpx.get(env["gw"].http_url + "/openapi.json").json()["paths"]
    assert "/api/cases" in paths and "/api/audit/verify" in paths


def test_a_crash_between_log_and_case_write_is_replayed_from_the_journal(env):
    service = env["gw"].gateway.cases
    case = _submit_accepted(env, handling_region="AH")
    service.accounts.create(
        "ah-handler", PASSWORD, role=Role.HANDLER, region="AH", display_name="安徽审批"
    )
    handler = sign_in(env["gw"].http_url, "ah-handler", PASSWORD)
    real_apply = service.store.apply

    def crash(*args, **kwargs):
        raise OSError("simulated crash after the exchange was logged")

    log_size = env["gw"].gateway.log.size
    service.store.apply = crash
    try:
        r = handler.post(f"/api/cases/{case['case_id']}/transitions", json={"to": "transferred"})
        assert r.status_code == 500
        assert r.json()["error"] == {"code": "internal", "message": "网关内部错误，请稍后重试",
                                     "field": None, "field_label": None}  # fmt: skip
    finally:
        service.store.apply = real_apply
    handler.close()  # the server dropped that connection after the 500
    handler = sign_in(env["gw"].http_url, "ah-handler", PASSWORD)
    # the exchange is in the log, the case has not moved, the intent waits in the journal
    assert env["gw"].gateway.log.size == log_size + 1
    assert handler.get(f"/api/cases/{case['case_id']}").json()["status"] == "accepted"
    assert [i["case_id"] for i in service.store.intents()] == [case["case_id"]]
    # at the next start the journal is replayed: same exchange (idempotent), case moves on
    assert env["gw"].call(service.recover()) == 1
    detail = handler.get(f"/api/cases/{case['case_id']}").json()
    assert detail["status"] == "transferred" and service.store.intents() == []
    assert env["gw"].gateway.log.size == log_size + 1
    handler.close()


def _metric(env, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{env['gw'].http_url}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_case_exchanges_are_counted_in_the_metrics(env):
    """A case submitted at a window is an exchange like any other: counted by kind when it
    is submitted, and the handling province's relayed answer when it is logged."""
    submitted = ("yrd_exchanges_total", {"kind": "case.submit", "outcome": "accepted"})
    answered = ("yrd_exchanges_committed_total", {"kind": "case.status", "origin": "relayed"})
    pushed = ("yrd_deliveries_total", {"mode": "push", "outcome": "delivered"})
    before = [_metric(env, name, **labels) for name, labels in (submitted, answered, pushed)]
    _submit_accepted(env)
    after = wait_for(
        lambda: (
            (values := [_metric(env, n, **labels) for n, labels in (submitted, answered, pushed)])[
                1
            ]
            > before[1]
            and values
        )
    )
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == 1
    assert after[2] - before[2] >= 1
