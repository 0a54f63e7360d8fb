"""The case store on SQLite and on PostgreSQL (issue 16): the same operations read back the
same, on a real database of each kind (``case_database``): a case created from staged
uploads (sealed bytes intact), its steps, a 补正 round that replaces a material, the orders
read by ``rowid`` (system events, accesses, the case list's ties), the list's search, and
the evidence requests' upsert. Then what PostgreSQL adds: errors arrive as
``StorageError``, and two connections racing for one account name, one case number or one
step of a case end with exactly one winner and nothing of the loser written."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

import psycopg
import pytest

from gateway.cases.accounts import Account, Accounts, Role
from gateway.cases.errors import CaseInvalid
from gateway.cases.evidence import CaseEvidence
from gateway.cases.service import CaseService
from gateway.cases.store import CASE_COLUMNS, CaseStore
from gateway.cases.views import CaseViews
from gateway.errors import StorageError
from gateway.workdays import WorkdayCalendar

NOW = datetime.fromisoformat("2027-03-01T09:00:00+08:00")
SEALED = bytes(range(256)) * 3  # every byte value, NUL included
AUDITOR = Account("auditor", Role.AUDITOR, "审计")


def _row(case_id: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case_id": case_id, "number": f"G60-JX20270301-{case_id.upper()}",
        "receiving_city": "jiaxing", "window_region": "ZJ", "handling_region": "JS",
        "matter_code": "M-001", "matter_name": "营业执照变更", "handling_mode": "全程网办",
        "status": "submitted", "applicant_name_masked": "张*", "applicant_id_masked": "3204**",
        "applicant_person_key": "pk", "applicant_level": "L2",
        "applicant_sealed": SEALED.hex(),
        "promised_limit": json.dumps({"value": 5, "unit": "working_days"}),
        "submitted_at": "2027-03-01T09:00:00+08:00", "accepted_on": None,
        "deadline": "2027-03-08", "deadline_missing_years": None, "finished_on": None,
        "rating": None, "rating_comment": None, "clerk": "jiaxing-1",
        "updated_at": "2027-03-01T09:00:00+08:00",
    }  # fmt: skip
    row.update(over)
    return row


def _event(case_id: str, exchange_id: str, status_after: str) -> dict[str, Any]:
    return {
        "case_id": case_id, "transition": status_after, "status_after": status_after,
        "at": "2027-03-01T09:00:00+08:00", "actor": "窗口", "note": None,
        "exchange_id": exchange_id, "kind": "case.status", "sender": "zj", "recipient": "js",
        "leaf_index": 2**40, "tree_size": 2**40 + 1, "receipt": "{}",
    }  # fmt: skip


def _upload(store: CaseStore, upload_id: str, sealed: bytes = SEALED) -> None:
    store.insert_upload({
        "upload_id": upload_id, "city": "jiaxing", "filename": f"{upload_id}.pdf",
        "content_type": "application/pdf", "size": len(sealed), "sm3": "ab" * 32,
        "sealed": sealed, "created_at": 1_800_000_000.25,
    })  # fmt: skip


def _create(store: CaseStore, case_id: str, **over: Any) -> bool:
    return store.apply(f"e-{case_id}", {"create": _row(case_id, **over)},
                       _event(case_id, f"e-{case_id}", "submitted"))  # fmt: skip


def _step(store: CaseStore, case_id: str, exchange_id: str, was: str, to: str, **more) -> bool:
    change = {"case_id": case_id, "from": was, "set": {"status": to}, **more}
    return store.apply(exchange_id, change, _event(case_id, exchange_id, to))


@pytest.fixture
def store(case_database):
    store = CaseStore(case_database)
    yield store
    store.close()


def test_a_case_from_uploads_through_its_steps_reads_the_same(store):
    _upload(store, "u1")
    store.add_intent("e-c1", "c1", {"create": "…"}, b"\x00signed", "jiaxing-1", 1.5)
    (intent,) = store.intents()
    assert (intent["change"], intent["signed"], intent["created_at"]) == (
        {"create": "…"}, b"\x00signed", 1.5)  # fmt: skip
    change = {"create": _row("c1"), "materials": [{"upload_id": "u1", "material_id": "m1",
                                                   "name": "申请书"}]}  # fmt: skip
    assert store.apply("e-c1", change, _event("c1", "e-c1", "submitted"))
    assert store.apply("e-c1", change, _event("c1", "e-c1", "submitted"))  # idempotent
    case = store.case("c1")
    assert tuple(case) == CASE_COLUMNS  # no rowid, in the SQLite order
    assert case["applicant_sealed"] == SEALED and isinstance(case["applicant_sealed"], bytes)
    assert store.upload("u1") is None and store.intents() == []
    (material,) = store.materials("c1")
    assert (material["material_id"], material["filename"], material["size"]) == (
        "m1", "u1.pdf", len(SEALED))  # fmt: skip
    assert store.material_blob("c1", "m1")["sealed"] == SEALED
    # steps: from the status it has, else refused and the intent dropped
    assert _step(store, "c1", "e-2", "submitted", "accepted")
    store.add_intent("e-3", "c1", {}, b"s", "x", 2.0)
    assert not _step(store, "c1", "e-3", "submitted", "transferred")
    assert store.intents() == []
    # a 补正 round whose upload replaces material m1, then resumed
    _upload(store, "u2", b"\x01replacement")
    opened = {"from_status": "accepted", "requested_at": "t1", "requested_on": "2027-03-02",
              "items": ["申请书"], "note": "盖章", "deadline_before": "2027-03-08"}  # fmt: skip
    assert _step(store, "c1", "e-4", "accepted", "supplement_requested", supplement_open=opened)
    assert _step(store, "c1", "e-5", "supplement_requested", "accepted",
                 attach=[{"upload_id": "u2", "material_id": "m1", "name": "申请书（补正）"}],
                 supplement_close={"resumed_at": "t2", "resumed_on": "2027-03-03",
                                   "deadline_after": "2027-03-09"})  # fmt: skip
    (material,) = store.materials("c1")
    assert (material["name"], material["size"]) == ("申请书（补正）", len(b"\x01replacement"))
    assert store.material_blob("c1", "m1")["sealed"] == b"\x01replacement"
    (rnd,) = store.supplements("c1")
    assert (rnd["round"], rnd["items"], rnd["deadline_after"]) == (1, ["申请书"], "2027-03-09")
    events = store.events("c1")
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    assert [e["status_after"] for e in events] == [
        "submitted", "accepted", "supplement_requested", "accepted"]  # fmt: skip
    assert events[0]["leaf_index"] == 2**40  # beyond 32 bits
    assert store.event_by_exchange("e-5")["seq"] == 3
    assert store.counts() == {"cases": 1, "events": 4, "materials": 1, "uploads": 0,
                              "intents": 0}  # fmt: skip


def test_system_events_and_accesses_read_in_the_order_written(store):
    assert _create(store, "c1", status="accepted", deadline_missing_years="2027")
    for n, who in enumerate(("zeta", "alpha", "mu")):  # same instant: rowid decides
        store.record_access({"case_id": "c1", "at": "t", "username": who, "actor": "承办",
                             "item": f"m{n}", "item_label": "材料"})  # fmt: skip
    assert [a["username"] for a in store.accesses("c1")] == ["zeta", "alpha", "mu"]
    assert set(store.accesses("c1")[0].keys()) == {
        "case_id", "at", "username", "actor", "item", "item_label"}  # fmt: skip
    was = store.case("c1")
    for deadline in ("2027-03-09", "2027-03-07"):
        sets = {"deadline": deadline, "deadline_missing_years": None, "updated_at": "t"}
        event = {"at": "t", "transition": "deadline_recomputed", "actor": "s",
                 "note": deadline, "detail": {"to": deadline}}  # fmt: skip
        assert store.set_deadline("c1", was, sets, event)
        was = store.case("c1")
    assert [e["detail"]["to"] for e in store.system_events("c1")] == ["2027-03-09", "2027-03-07"]


def test_provisional_deadlines_match_whole_years(store):
    assert _create(store, "a", status="accepted", deadline_missing_years="2027")
    assert _create(store, "b", status="accepted", deadline_missing_years="2027,2028")
    assert _create(store, "c", status="accepted", deadline_missing_years="12027")
    assert _create(store, "d", status="archived", deadline_missing_years="2027")
    open_ = ("accepted", "submitted")
    assert sorted(store.provisional(open_)) == ["a", "b", "c"]
    assert sorted(store.provisional(open_, frozenset({2027}))) == ["a", "b"]
    assert store.provisional(open_, frozenset({2028})) == ["b"]
    assert store.provisional(open_, frozenset()) == []
    assert store.count_provisional(open_) == 3


def test_the_case_list_ignores_ascii_case_escapes_wildcards_and_keeps_arrival_order(store):
    views = CaseViews(store, lambda: NOW, WorkdayCalendar.load)
    for case_id, name in (("k1", "营业执照变更"), ("k2", "营业执照 100%"), ("k3", "食品许可")):
        assert _create(store, case_id, matter_name=name, matter_code=f"Ab-{case_id}")
    rows, total = views.search(AUDITOR)
    assert total == 3 and [r["case_id"] for r in rows] == ["k3", "k2", "k1"]  # ties: newest
    assert [r["case_id"] for r in views.search(AUDITOR, q="g60-jx20270301-K2")[0]] == ["k2"]
    assert {r["case_id"] for r in views.search(AUDITOR, matter="aB-K")[0]} == {"k1", "k2", "k3"}
    assert [r["case_id"] for r in views.search(AUDITOR, matter="100%")[0]] == ["k2"]
    assert views.search(AUDITOR, matter="营业_照")[1] == 0  # _ is a character, not a wildcard
    page, total = views.search(AUDITOR, page=2, size=2)
    assert total == 3 and [r["case_id"] for r in page] == ["k1"]


def test_evidence_requests_are_replaced_per_material(store):
    evidence = CaseEvidence(None, None, None, store, {}, None, None)  # type: ignore[arg-type]
    evidence._record("c1", "m1", "营业执照", "licence", "JS", None, "无法获取")
    evidence._record("c1", "m1", "营业执照", "licence", "JS", "ex-1", None)
    evidence._record("c1", "m2", "身份证", "id_card", "JS", "ex-2", None)
    rows = store.query("SELECT material_id, exchange_id, failure FROM evidence_requests"
                       " ORDER BY material_id")  # fmt: skip
    assert [tuple(r) for r in rows] == [("m1", "ex-1", None), ("m2", "ex-2", None)]


def test_accounts_replace_keeps_one_row_and_its_sessions_end_on_reset(store):
    accounts = Accounts(store)
    accounts.create("auditor", "password-1", role=Role.AUDITOR, display_name="a")
    with pytest.raises(CaseInvalid) as info:
        accounts.create("auditor", "password-2", role=Role.AUDITOR, display_name="b")
    assert (info.value.code, info.value.field) == ("exists", "username")
    accounts.create("auditor", "password-3", role=Role.HANDLER, display_name="c", region="SH",
                    replace=True)  # fmt: skip
    (only,) = accounts.all()
    assert (only.role, only.display_name, only.region) == (Role.HANDLER, "c", "SH")
    token, _ = accounts.sign_in("auditor", "password-3")
    assert accounts.session(token) is not None
    accounts.set_password("auditor", "password-4")
    assert accounts.session(token) is None


# -- PostgreSQL only -----------------------------------------------------------------------


def _service(data_dir, database: str | None) -> CaseService:
    """A case service that is never started (its exchange parts are not needed here)."""
    none: Any = None
    return CaseService(data_dir, submit=none, registry=none, adapters=none, outbox=none,
                       database=database)  # fmt: skip


def test_the_service_puts_its_tables_in_postgres_and_its_keys_on_disk(pg_url, tmp_path):
    service = _service(tmp_path, pg_url)
    try:
        assert service.store.postgres
        service.accounts.create("auditor", "password-1", role=Role.AUDITOR, display_name="a")
    finally:
        service.close()
    assert not (tmp_path / "cases.db").exists()
    assert (tmp_path / "cases-keys" / "materials.sm4").exists()  # sealing key: on disk
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT username FROM accounts").fetchall() == [("auditor",)]
    # anything but a postgresql:// URL (a SQLite path) keeps the tables in cases.db
    service = _service(tmp_path, str(tmp_path / "elsewhere.db"))
    try:
        assert not service.store.postgres and service.store.path == str(tmp_path / "cases.db")
        assert service.accounts.all() == []
    finally:
        service.close()


def test_the_migration_has_the_sqlite_tables_and_columns_in_their_order(pg_url, tmp_path):
    """0003_cases.sql and cases.db's schema (with the evidence table) stay one schema: a
    column added to one and not the other fails here."""
    CaseStore(pg_url).close()
    sqlite = CaseStore(tmp_path / "cases.db")
    try:
        CaseEvidence(None, None, None, sqlite, {}, None, None)  # type: ignore[arg-type]
        tables = [r[0] for r in sqlite.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]  # fmt: skip
        lite = {t: [r["name"] for r in sqlite.query(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        sqlite.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name != 'schema_migrations'"
            " AND column_name != 'rowid' ORDER BY table_name, ordinal_position"
        ).fetchall()
    pg: dict[str, list[str]] = {}
    for table, column in rows:
        pg.setdefault(table, []).append(column)
    assert "evidence_requests" in lite and "cases" in lite
    assert {t: pg.get(t) for t in lite} == lite  # (PostgreSQL holds the exchange tables too)


def test_postgres_errors_are_storage_errors_and_leave_the_store_usable(pg_url):
    store = CaseStore(pg_url)
    try:
        with pytest.raises(StorageError) as info, store.transaction() as conn:
            conn.execute("INSERT INTO accounts(username) VALUES ('x')")  # NOT NULL columns
        assert isinstance(info.value.__cause__, psycopg.Error)
        assert store.one("SELECT COUNT(*) FROM accounts")[0] == 0
        with pytest.raises(StorageError) as info:
            store.query("SELECT * FROM no_such_table")
        assert isinstance(info.value.__cause__, psycopg.Error)
        with pytest.raises(StorageError, match="table not_migrated is in no PostgreSQL"):
            store.ensure("CREATE TABLE IF NOT EXISTS not_migrated (x TEXT)")
        assert store.case("nope") is None
    finally:
        store.close()


def _waiting(url: str, count: int = 1) -> None:
    """Until ``count`` other sessions wait on a lock (a racer blocked by the open winner)."""
    deadline = time.monotonic() + 20
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            if found and found[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError("the racing transaction never waited on the lock")


def _race(url: str, winner_sql: list[tuple[str, Any]], loser: Any) -> Any:
    """Run ``winner_sql`` in an open transaction of one store; start ``loser()`` (another
    store, another connection) in a thread; once it waits on the winner's lock, commit the
    winner; the loser's result or exception."""
    first = CaseStore(url)
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = loser()
        except Exception as exc:
            out["error"] = exc

    try:
        with first.transaction() as conn:
            for sql, params in winner_sql:
                conn.execute(sql, params)
            thread = threading.Thread(target=run)
            thread.start()
            _waiting(url)
        thread.join(30)
        assert not thread.is_alive()
    finally:
        first.close()
    return out


def test_two_processes_adding_one_account_name_one_is_told_it_exists(pg_url):
    second = CaseStore(pg_url)
    try:
        insert = (
            "INSERT INTO accounts(username, role, display_name, password_hash, created_at)"
            " VALUES (?, 'auditor', 'first', 'h', 0)",
            ("auditor",),
        )
        out = _race(pg_url, [insert], lambda: Accounts(second).create(
            "auditor", "password-1", role=Role.AUDITOR, display_name="second"))  # fmt: skip
        assert isinstance(out.get("error"), CaseInvalid), out
        assert (out["error"].code, out["error"].field) == ("exists", "username")
        (only,) = Accounts(second).all()
        assert only.display_name == "first"
    finally:
        second.close()


def test_two_steps_from_one_status_one_wins_and_one_event_is_written(pg_url):
    second = CaseStore(pg_url)
    try:
        assert _create(second, "c1")
        winner = [
            ("UPDATE cases SET status = 'accepted' WHERE case_id = ?", ("c1",)),
            ("INSERT INTO events SELECT case_id, 1, 'accepted', 'accepted', at, actor, note,"
             " 'e-win', kind, sender, recipient, leaf_index, tree_size, receipt FROM events"
             " WHERE case_id = ?", ("c1",)),
        ]  # fmt: skip
        out = _race(pg_url, winner, lambda: _step(second, "c1", "e-lose", "submitted", "refused"))
        assert out == {"result": False}
        assert second.case("c1")["status"] == "accepted"
        assert [e["exchange_id"] for e in second.events("c1")] == ["e-c1", "e-win"]
        # a step from the status the winner left is taken, after its event
        assert _step(second, "c1", "e-next", "accepted", "transferred")
        assert [e["seq"] for e in second.events("c1")] == [0, 1, 2]
    finally:
        second.close()


def test_two_cases_with_one_number_one_is_refused_and_nothing_of_it_is_written(pg_url):
    second = CaseStore(pg_url)
    try:
        _upload(second, "u-lose")
        row = _row("winner", number="G60-JX-SAME")
        cols = ", ".join(CASE_COLUMNS)
        marks = ", ".join(":" + c for c in CASE_COLUMNS)
        winner = [(f"INSERT INTO cases({cols}) VALUES ({marks})",
                   {**row, "applicant_sealed": SEALED})]  # fmt: skip
        change = {
            "create": _row("loser", number="G60-JX-SAME"),
            "materials": [{"upload_id": "u-lose", "material_id": "m1", "name": "n"}],
        }
        out = _race(pg_url, winner, lambda: second.apply(
            "e-lose", change, _event("loser", "e-lose", "submitted")))  # fmt: skip
        assert isinstance(out.get("error"), StorageError), out
        assert isinstance(out["error"].__cause__, psycopg.errors.UniqueViolation)
        assert second.case("loser") is None and second.events("loser") == []
        assert second.upload("u-lose") is not None  # the staged upload is still there
        assert second.counts()["cases"] == 1
    finally:
        second.close()


def test_one_exchange_applied_by_two_processes_is_applied_once_and_both_succeed(pg_url):
    """Two processes replaying one journalled case at start: the second waits for the first
    and finds the exchange applied (not a duplicate-key error)."""
    first, second, gate = CaseStore(pg_url), CaseStore(pg_url), CaseStore(pg_url)
    _upload(first, "u1")
    change = {"create": _row("c1"),
              "materials": [{"upload_id": "u1", "material_id": "m1", "name": "n"}]}  # fmt: skip
    out: dict[str, Any] = {}

    def apply(name: str, store: CaseStore) -> None:
        try:
            out[name] = store.apply("e-c1", change, _event("c1", "e-c1", "submitted"))
        except Exception as exc:
            out[name] = exc

    try:
        with gate.transaction() as conn:  # holds the upload row: the first apply stops there
            conn.execute("SELECT 1 FROM uploads WHERE upload_id = ? FOR UPDATE", ("u1",))
            threads = [threading.Thread(target=apply, args=("first", first))]
            threads[0].start()
            _waiting(pg_url, 1)
            threads.append(threading.Thread(target=apply, args=("second", second)))
            threads[1].start()
            _waiting(pg_url, 2)
        for thread in threads:
            thread.join(30)
        assert out == {"first": True, "second": True}
        assert [e["exchange_id"] for e in second.events("c1")] == ["e-c1"]
        assert second.counts() == {"cases": 1, "events": 1, "materials": 1, "uploads": 0,
                                   "intents": 0}  # fmt: skip
    finally:
        for store in (first, second, gate):
            store.close()
