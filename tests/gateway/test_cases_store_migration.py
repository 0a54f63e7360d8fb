"""A cases database made before provisional deadlines opens, gains its column, keeps its rows,
and replays an intent journalled by the earlier release."""

from __future__ import annotations

import json
import sqlite3

from gateway.cases.store import CASE_COLUMNS, SCHEMA, CaseStore

OLD_SCHEMA = SCHEMA.replace("    deadline_missing_years TEXT,\n", "")


def _row(case_id: str) -> dict:
    row = {c: "x" for c in CASE_COLUMNS if c != "deadline_missing_years"}
    row.update(
        case_id=case_id,
        number=f"N-{case_id}",
        applicant_sealed=b"\x00".hex(),
        accepted_on=None,
        finished_on=None,
        rating=None,
        rating_comment=None,
        deadline="2026-10-08",
    )
    return row


def test_an_old_database_gains_the_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "cases.db"
    assert "deadline_missing_years" not in OLD_SCHEMA.split("CREATE TABLE IF NOT EXISTS events")[0]
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA.split("CREATE TABLE IF NOT EXISTS system_events")[0])
        old = {**_row("old"), "applicant_sealed": b"\x00"}
        cols = [c for c in CASE_COLUMNS if c != "deadline_missing_years"]
        conn.execute(
            f"INSERT INTO cases({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})",
            old,
        )
    store = CaseStore(path)
    try:
        columns = {r["name"] for r in store.query("PRAGMA table_info(cases)")}
        assert "deadline_missing_years" in columns
        assert store.case("old")["deadline_missing_years"] is None
        assert store.case("old")["deadline"] == "2026-10-08"
        assert store.system_events("old") == []
        # an intent journalled before the upgrade has no deadline_missing_years: it applies
        event = {
            "case_id": "new", "seq": 0, "transition": "submitted", "status_after": "submitted",
            "at": "2026-12-30T10:00:00+08:00", "actor": "a", "note": None, "exchange_id": "e1",
            "kind": "case.submit", "sender": "s", "recipient": "r", "leaf_index": 0,
            "tree_size": 1, "receipt": json.dumps({}),
        }  # fmt: skip
        assert store.apply("e1", {"create": _row("new")}, event)
        assert store.case("new")["deadline_missing_years"] is None
    finally:
        store.close()
    CaseStore(path).close()  # opening again changes nothing
