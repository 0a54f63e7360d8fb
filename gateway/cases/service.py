"""The case service: every case operation, each one a signed, logged exchange.

``submit`` (window) and ``transition``/``rate`` (window or handling province) follow the same
steps, and refuse with a :class:`CaseError` before anything is written:

(1) who: the account's role and city/region may act on this case;
(2) what: input checks (matter and its variant in the handling province, handling mode,
    resident id number per GB 11643, identity level against the matter's minimum, materials)
    or, for a transition, that it is the next step from the case's status;
(3) sign: the canonical message is put into the sender's dialect by its adapter and signed
    with the sender region's member key (window side: the receiving window's region; handling
    side: the handling province's; in dev both come from ``gateway.dev_env``);
(4) journal: the signed envelope and the change it makes are written as an intent;
(5) log: ``ExchangeCore.submit`` runs every exchange check and commits it to the Merkle log;
    a refusal drops the intent and nothing remains;
(6) apply: the change, the timeline event and its receipt are written in one transaction.

A background task records the handling province's answer to a pushed ``case.submit`` (its
``case.status``, kept in the outbox) as the ``accepted`` or ``refused`` transition.

``CaseService`` only composes the parts, one module each: ``submission`` (steps (1)-(2) of a
submission), ``lifecycle`` (the transition rules and taking a step), ``ratings``,
``exchanges`` (steps (3)-(6) and crash recovery), ``answers`` (the background task),
``materials`` (sealed uploads and applicant records) and ``views`` (reads).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ledger.crypto import PrivateKey, generate_sm4_key

from ..identity import PersonKeyDeriver
from ..matters import Catalogue, default_catalogue
from ..workdays import WorkdayCalendar, default_calendar
from ._clock import BEIJING, business_day, now
from .accounts import Account, Accounts
from .answers import AnswerWatcher
from .exchanges import CaseExchanges
from .lifecycle import Transitions
from .materials import Materials, secret_file
from .ratings import Ratings
from .store import CaseStore
from .submission import Intake
from .views import CaseViews

__all__ = ["BEIJING", "CaseService"]


class CaseService:
    """Cases of one gateway. ``clock`` gives the business time (Beijing), ``calendar`` the
    working days, ``keys`` the member signing keys by region."""

    def __init__(
        self,
        gateway: Any,
        data_dir: Path,
        *,
        keys: Mapping[str, PrivateKey] | None = None,
        clock: Callable[[], datetime] = now,
        calendar: WorkdayCalendar | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.gateway = gateway
        self.keys = dict(keys or {})
        self.clock = clock
        self.calendar = calendar or _configured_calendar(data_dir)
        self.catalogue = catalogue or default_catalogue()
        self.store = CaseStore(Path(data_dir) / "cases.db")
        self.accounts = Accounts(self.store)
        keydir = Path(data_dir) / "cases-keys"
        sm4 = secret_file(keydir / "materials.sm4", 16, generate_sm4_key)
        secret = secret_file(keydir / "person-key.secret", 32, lambda: secrets.token_bytes(32))
        locks: dict[str, asyncio.Lock] = {}  # one per case, shared by steps and ratings
        self._materials = Materials(self.store, sm4)
        self._exchanges = CaseExchanges(gateway, self.store, self.keys)
        self._intake = Intake(
            self.catalogue, PersonKeyDeriver(secret), self._materials, clock, self.calendar
        )
        self._transitions = Transitions(self.store, self._exchanges, clock, self.calendar, locks)
        self._ratings = Ratings(self.store, self._exchanges, clock, locks)
        self._views = CaseViews(self.store, clock, self.calendar)
        self._answers = AnswerWatcher(gateway, self.store, self.keys, self._transitions.step)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._answers.arm()
        await self.recover()
        self._answers.start()

    async def stop(self) -> None:
        await self._answers.stop()
        self.store.close()

    def today(self) -> date:
        return business_day(self.clock())

    # -- uploads and materials ---------------------------------------------------------------
    def stage_upload(
        self, account: Account, filename: str, content_type: str, data: bytes
    ) -> dict[str, Any]:
        """Keep a file for a case about to be submitted: SM3 digest, SM4-GCM sealed."""
        return self._materials.stage(account, filename, content_type, data)

    def material(self, account: Account, case_id: str, material_id: str) -> tuple[dict, bytes]:
        return self._materials.open(account, case_id, material_id)

    # -- changes -----------------------------------------------------------------------------
    async def submit(self, account: Account, request: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a case at the account's window (steps (1)-(6) of the module docstring)."""
        exchange = self._intake.prepare(account, request)
        await self._exchanges.send(**exchange)
        self._answers.notify()
        return self.detail(account, exchange["case_id"])

    async def transition(
        self, account: Account, case_id: str, to: str, note: str | None = None
    ) -> dict[str, Any]:
        """Take the next step of a case (handler: accept ... issue; window: archive)."""
        await self._transitions.take(account, case_id, to, note)
        return self.detail(account, case_id)

    async def rate(
        self, account: Account, case_id: str, grade: int, comment: str | None = None
    ) -> dict[str, Any]:
        """Record the applicant's rating (好差评) once the case is finished."""
        await self._ratings.rate(account, case_id, grade, comment)
        return self.detail(account, case_id)

    async def recover(self) -> int:
        """Replay intents left by a crash: resubmit (idempotent), then apply or drop."""
        return await self._exchanges.recover()

    async def poll_answers(self) -> int:
        """Record answers of handling provinces to pushed ``case.submit`` exchanges."""
        return await self._answers.poll()

    # -- reads -------------------------------------------------------------------------------
    def list(
        self,
        account: Account,
        *,
        status: str | None = None,
        city: str | None = None,
        province: str | None = None,
        overdue: bool | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        return self._views.cases(
            account, status=status, city=city, province=province, overdue=overdue, limit=limit
        )

    def detail(self, account: Account, case_id: str) -> dict[str, Any]:
        return self._views.detail(account, case_id)

    def applicant(self, account: Account, case_id: str) -> dict[str, Any]:
        """The full applicant identity, for the receiving window only (the case itself)."""
        return self._materials.applicant(account, case_id)

    def receipt(self, exchange_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(event, receipt) of one exchange of a case."""
        return self._views.receipt(exchange_id)

    def events(self, case_id: str) -> list[dict[str, Any]]:
        return self._views.events(case_id)


def _configured_calendar(data_dir: Path) -> WorkdayCalendar:
    """``<data_dir>/calendar.json`` (yrd-workday-calendar/1) if present, else the bundled one."""
    path = Path(data_dir) / "calendar.json"
    return WorkdayCalendar.load(path) if path.exists() else default_calendar()
