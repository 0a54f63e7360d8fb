"""The applicant's side without an account: the 受理回执's verification code, the progress of a
case looked up by 办件编号 + code, and the applicant's own 好差评 rating once it is finished.

The code is 8 characters (40 bits) of an HMAC-SHA256, keyed with ``cases-keys/receipt-code
.secret``, of the case id: derived again whenever it is needed, never stored, and not
guessable without the key. Lookups are throttled like sign-in (``throttle``): per 办件编号
(5 failures) and per client address (20), so a number cannot be tried code by code. The
progress shown is masked: the matter, the sides, the steps and the deadline; no staff names,
no applicant identity beyond the masked name.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.cases._clock import BEIJING
from gateway.cases.errors import CaseForbidden
from gateway.cases.lifecycle import transition_label
from gateway.cases.model import CLOSED, RATINGS, Status
from gateway.cases.store import CASE_SELECT, CaseStore
from gateway.cases.throttle import SignInThrottle, SignInThrottled, ThrottlePolicy

__all__ = ["CODE_ALPHABET", "CODE_LENGTH", "ProgressLookup", "ProgressThrottled", "beijing_text"]

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0/O, 1/I
CODE_LENGTH = 8


class ProgressThrottled(SignInThrottled):
    """Too many wrong codes for a 办件编号 or from an address (HTTP 429, ``Retry-After``)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("progress", retry_after)
        CaseForbidden.__init__(
            self,
            "too_many_attempts",
            f"查询失败次数过多，请 {self.retry_after} 秒后再试",
        )


def beijing_text(value: str | None) -> str | None:
    """An ISO stamp as Beijing time to the minute (``2026-12-01 12:20``); a date unchanged."""
    if not value or "T" not in value:
        return value
    return datetime.fromisoformat(value).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


class ProgressLookup:
    """Codes and code-checked lookups of the cases in ``store``; ``key`` is the HMAC key."""

    def __init__(
        self, store: CaseStore, key: bytes, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._key = key
        self._throttle = SignInThrottle(
            clock, account=ThrottlePolicy(threshold=5), address=ThrottlePolicy(threshold=20)
        )

    def code(self, case_id: str) -> str:
        """The verification code printed on the case's 受理回执."""
        digest = hmac.new(self._key, b"yrd-receipt-code\0" + case_id.encode(), hashlib.sha256)
        value = int.from_bytes(digest.digest()[:5], "big")  # 40 bits = 8 symbols of 5
        return "".join(
            CODE_ALPHABET[(value >> (5 * (CODE_LENGTH - 1 - i))) & 31] for i in range(CODE_LENGTH)
        )

    def find(self, number: str, code: str, address: str | None) -> dict[str, Any]:
        """The case row of ``number`` if ``code`` is its code; one refusal for an unknown
        number and a wrong code alike (the answer never tells whether a number exists)."""
        number = str(number or "").strip()[:64]
        given = str(code or "").strip().upper().replace(" ", "")[:32]
        try:
            self._throttle.begin(number, address)
        except SignInThrottled as exc:
            raise ProgressThrottled(exc.retry_after) from None
        row = self._store.one(
            f"SELECT {CASE_SELECT} FROM cases WHERE number = ?",  # noqa: S608 - fixed columns
            (number,),
        )
        case = dict(row) if row is not None else None
        expected = self.code(case["case_id"]) if case else "-" * CODE_LENGTH
        if case is None or not hmac.compare_digest(expected.encode(), given.encode()):
            raise CaseForbidden("wrong_code", "办件编号或查询码不正确", "code")
        self._throttle.succeeded(number, address)
        return case

    def view(self, case: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
        """What the applicant sees: masked, no staff names (``summary`` from ``CaseViews``)."""
        steps = [
            {"label": transition_label(e["transition"]), "at": beijing_text(e["at"])}
            for e in self._store.events(case["case_id"])
        ]
        closed = Status(case["status"]) in CLOSED
        return {
            "number": case["number"],
            "matter_name": case["matter_name"],
            "receiving_city_name": summary["receiving_city_name"],
            "handling_region_name": summary["handling_region_name"],
            "applicant_name": case["applicant_name_masked"],
            "status": case["status"],
            "status_label": summary["status_label"],
            "submitted_at": beijing_text(case["submitted_at"]),
            "deadline": summary["countdown"]["deadline"],
            "deadline_provisional": summary["deadline_provisional"],
            "finished": closed,
            "steps": steps,
            "can_rate": closed and case["rating"] is None,
            "rating": case["rating"],
            "rating_label": RATINGS.get(case["rating"]) if case["rating"] else None,
        }
