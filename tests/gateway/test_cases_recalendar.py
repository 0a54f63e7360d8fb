"""Recomputing provisional deadlines on a real case store: which cases are picked, from which
start day, what stays provisional, and that a case that moved meanwhile is left alone."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from gateway.cases.recalendar import Recalendar
from gateway.cases.store import CASE_COLUMNS, CaseStore
from gateway.workdays import WorkdayCalendar, bundled_data, overlay

NOW = datetime.fromisoformat("2027-01-02T09:00:00+08:00")
NEW_YEAR_2027 = {
    "format": "yrd-workday-calendar/1",
    "years": {"2027": {"holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}]}},
}


def _case(store: CaseStore, case_id: str, **over) -> None:
    row = {c: "x" for c in CASE_COLUMNS}
    row.update(
        case_id=case_id,
        number=f"N-{case_id}",
        status="accepted",
        applicant_sealed=b"\x00".hex(),
        promised_limit=json.dumps({"value": 3, "unit": "working_days"}),
        submitted_at="2026-12-30T10:00:00+08:00",
        accepted_on="2026-12-30",
        deadline="2027-01-04",
        deadline_missing_years="2027",
        finished_on=None,
        rating=None,
        rating_comment=None,
    )
    row.update(over)
    event = {
        "case_id": case_id, "seq": 0, "transition": "submitted", "status_after": row["status"],
        "at": row["submitted_at"], "actor": "a", "note": None, "exchange_id": f"e-{case_id}",
        "kind": "case.submit", "sender": "s", "recipient": "r", "leaf_index": 0,
        "tree_size": 1, "receipt": "{}",
    }  # fmt: skip
    assert store.apply(f"e-{case_id}", {"create": row}, event)


def _run(store: CaseStore, calendar: WorkdayCalendar) -> int:
    return asyncio.run(Recalendar(store, lambda: calendar, lambda: NOW, {}).run())


def test_only_open_cases_missing_a_loaded_year_are_recomputed(case_database):
    store = CaseStore(case_database)
    try:
        _case(store, "accepted")
        # before acceptance the limit counts from the submission day (30 December)
        _case(store, "submitted", status="submitted", accepted_on=None)
        _case(store, "finished", status="certificate_issued", finished_on="2027-01-04")
        _case(
            store, "two-years", deadline_missing_years="2027,2028", deadline="2028-01-05",
            promised_limit=json.dumps({"value": 370, "unit": "natural_days"}),
        )  # fmt: skip
        _case(store, "other-year", deadline_missing_years="2028", deadline="2028-01-03")
        recal = Recalendar(store, lambda: cal, lambda: NOW, {})
        assert recal.open_provisional() == 4
        assert _run(store, WorkdayCalendar.load()) == 0  # 2027 not loaded: nothing to do
        cal = overlay(bundled_data(), NEW_YEAR_2027)
        assert _run(store, cal) == 3
        for case_id in ("accepted", "submitted"):
            row = store.case(case_id)
            assert (row["deadline"], row["deadline_missing_years"]) == ("2027-01-05", None)
            (event,) = store.system_events(case_id)
            assert event["transition"] == "deadline_recomputed"
            assert event["detail"]["deadline_before"] == "2027-01-04"
        assert store.case("finished")["deadline_missing_years"] == "2027"  # closed: kept
        assert store.case("two-years")["deadline_missing_years"] == "2028"  # still a guess
        assert "仍为暂定：2028 年未载入" in store.system_events("two-years")[0]["note"]
        assert store.case("other-year")["deadline_missing_years"] == "2028"
        assert recal.open_provisional() == 2
        assert _run(store, cal) == 0  # done once
    finally:
        store.close()


def test_a_case_that_moved_meanwhile_is_not_overwritten(case_database):
    store = CaseStore(case_database)
    try:
        _case(store, "c")
        was = store.case("c")
        sets = {"deadline": "2027-01-05", "deadline_missing_years": None, "updated_at": "t"}
        event = {"at": "t", "transition": "deadline_recomputed", "actor": "s", "note": "n",
                 "detail": {}}  # fmt: skip
        store.apply(
            "e-step", {"case_id": "c", "from": "accepted", "set": {"status": "transferred"}},
            {**{k: "x" for k in ("transition", "status_after", "at", "actor", "kind", "sender",
                                 "recipient", "receipt")}, "case_id": "c", "note": None,
             "exchange_id": "e-step", "leaf_index": 1, "tree_size": 2},
        )  # fmt: skip
        assert store.set_deadline("c", was, sets, event) is False
        assert store.case("c")["deadline"] == "2027-01-04"
        assert store.system_events("c") == []
    finally:
        store.close()
