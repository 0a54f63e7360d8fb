"""The case service: every case operation, each one a signed, logged exchange.

``submit`` (window) and ``transition``/``rate`` (window or handling province) follow the same
steps, and refuse with a :class:`CaseError` before anything is written:

(1) who: the account's role and city/region may act on this case;
(2) what: input checks (matter and its variant in the handling province, handling mode,
    resident id number per GB 11643, identity level against the matter's minimum, materials)
    or, for a transition, that it is the next step from the case's status;
(3) sign: the canonical message is put into the sender's dialect by its adapter and signed
    with the sender region's member key (window side: the receiving window's region; handling
    side: the handling province's; in dev both come from the dev environment);
(4) journal: the signed envelope and the change it makes are written as an intent;
(5) log: ``submit`` (``ExchangeCore.submit``) runs every exchange check and commits it
    through the gateway's one commit path (``gateway.exchange.commit``);
    a refusal drops the intent and nothing remains;
(6) apply: the change, the timeline event and its receipt are written in one transaction.

A background task records the handling province's answer to a pushed ``case.submit`` (its
``case.status``, logged as an answer exchange with ``in_reply_to`` the submission) as the
``accepted`` or ``refused`` transition.

``CaseService`` only composes the parts, one module each: ``submission`` (steps (1)-(2) of a
submission), ``lifecycle`` (the transition rules and taking a step), ``ratings``,
``exchanges`` (steps (3)-(6) and crash recovery), ``answers`` (the background task),
``materials`` (sealed uploads and applicant records) and ``views`` (reads).

The holiday calendar in use is ``<data_dir>/calendar.json`` over the bundled notices
(``gateway.workdays.CalendarFile``); a second background task looks at that file every
``calendar_poll_seconds`` and, once a year it lacked is loaded, recomputes the provisional
deadlines of open cases (``recalendar``; also once a minute, for a case written with the
previous calendar while the file was reloaded). ``yrd_calendar_provisional_deadlines`` counts the
open cases whose deadline is still provisional.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gateway.cases._clock import BEIJING, business_day, now, stamp
from gateway.cases.accounts import Account, Accounts, Role
from gateway.cases.answers import AnswerWatcher, Bell, OutboxReader
from gateway.cases.errors import CaseForbidden
from gateway.cases.evidence import CaseEvidence
from gateway.cases.exchanges import CaseExchanges, Submit
from gateway.cases.lifecycle import Transitions, actor_label, load_case
from gateway.cases.materials import Materials, secret_file
from gateway.cases.progress import ProgressLookup, beijing_text
from gateway.cases.ratings import Ratings
from gateway.cases.recalendar import Recalendar
from gateway.cases.store import CaseStore
from gateway.cases.submission import Intake
from gateway.cases.supplement import Supplements
from gateway.cases.views import CaseViews
from gateway.dialects.catalogue import DialectCatalogue
from gateway.identity import PersonKeyDeriver
from gateway.matters import Catalogue, default_catalogue
from gateway.ops.metrics import Metrics
from gateway.registry import TrustRegistry
from gateway.storage import is_postgres_url
from gateway.workdays import CalendarFile, WorkdayCalendar
from ledger.crypto import PrivateKey, generate_sm4_key

__all__ = ["BEIJING", "CaseService"]

log = logging.getLogger("gateway.cases")

_SLIP_FIELDS = (
    "case_id", "number", "matter_code", "matter_name", "receiving_city_name",
    "handling_region_name", "handling_mode", "promised_limit", "deadline_provisional",
    "status_label",
)  # fmt: skip
_RECALENDAR_EVERY = 60.0  # seconds between passes when the calendar file did not change


class CaseService:
    """Cases of one gateway, built by ``gateway.app.compose.compose``. ``submit`` runs every
    exchange check and commits (``ExchangeCore.submit``), ``registry`` and ``adapters`` name
    the members and put messages in their dialects, ``outbox`` shows the answers to pushed
    submissions. ``clock`` gives the business time (Beijing), ``keys`` the member
    signing keys by region. ``calendar``, if given, is the fixed calendar in use (tests);
    otherwise it is ``<data_dir>/calendar.json`` over the bundled notices, reloaded when the
    file changes (looked at every ``calendar_poll_seconds``). ``bell``, the gateway's status
    bell, wakes the answer watcher (``gateway.cases.answers``). ``database``, a
    ``postgresql://`` URL, holds the case tables instead of ``<data_dir>/cases.db`` (the
    member keys and the calendar stay in ``data_dir``); anything else (None, a SQLite path)
    leaves them in ``cases.db``. Async methods read and write
    the case store only through ``store.run`` (never on the event loop)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        submit: Submit,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        outbox: OutboxReader,
        metrics: Metrics | None = None,
        keys: Mapping[str, PrivateKey] | None = None,
        clock: Callable[[], datetime] | None = None,
        calendar: WorkdayCalendar | None = None,
        catalogue: Catalogue | None = None,
        calendar_poll_seconds: float = 1.0,
        warning_workdays: int = 1,
        bell: Bell | None = None,
        database: str | None = None,
    ) -> None:
        self.keys = dict(keys or {})
        self.clock = clock = clock or now
        self.calendar_file = (
            None if calendar is not None else CalendarFile(Path(data_dir) / "calendar.json")
        )
        self._fixed_calendar = calendar
        self._calendar_poll = calendar_poll_seconds
        self._calendar_task: asyncio.Task | None = None
        self.catalogue = catalogue or default_catalogue()
        where = database if is_postgres_url(database) else None
        self.store = CaseStore(where or Path(data_dir) / "cases.db")
        self.accounts = Accounts(self.store)
        keydir = Path(data_dir) / "cases-keys"
        sm4 = secret_file(keydir / "materials.sm4", 16, generate_sm4_key)
        secret = secret_file(keydir / "person-key.secret", 32, lambda: secrets.token_bytes(32))
        code_key = secret_file(keydir / "receipt-code.secret", 32, lambda: secrets.token_bytes(32))
        self._progress = ProgressLookup(self.store, code_key)
        locks: dict[str, asyncio.Lock] = {}  # one per case, shared by steps and ratings
        self._materials = Materials(self.store, sm4)
        self._exchanges = CaseExchanges(submit, registry, adapters, self.store, self.keys)
        self._intake = Intake(
            self.catalogue, PersonKeyDeriver(secret), self._materials, clock, self._calendar
        )
        self._transitions = Transitions(self.store, self._exchanges, clock, self._calendar, locks)
        self._ratings = Ratings(self.store, self._exchanges, clock, locks)
        self._supplements = Supplements(
            self.store, self._exchanges, self._materials, self.catalogue, clock, self._calendar,
            locks,
        )  # fmt: skip
        self._views = CaseViews(
            self.store, clock, self._calendar, self.catalogue.issues_licence, warning_workdays
        )
        self._answers = AnswerWatcher(outbox, self.store, self.keys, self._transitions.step, bell)
        # 可共享免交: shareable materials fetched with evidence.request (gateway.cases.evidence)
        self._evidence = CaseEvidence(
            submit, registry, adapters, self.store, self.keys, outbox, self.catalogue
        )
        self._recalendar = Recalendar(self.store, self._calendar, clock, locks)
        if metrics is not None:
            gauge = metrics.calendar_provisional
            metrics.on_scrape(lambda: gauge.set(self._recalendar.open_provisional()))

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._answers.arm()
        await self.recover()
        self._answers.start()
        await self.check_calendar()
        self._calendar_task = asyncio.get_running_loop().create_task(
            self._watch_calendar(), name="case-calendar"
        )

    async def stop(self) -> None:
        if self._calendar_task is not None:
            self._calendar_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._calendar_task
            self._calendar_task = None
        await self._answers.stop()
        self.close()

    def close(self) -> None:
        """Close the case database (``stop`` does; alone, for a service never started)."""
        self.store.close()

    @property
    def calendar(self) -> WorkdayCalendar:
        """The holiday calendar in use now."""
        return self._calendar()

    def _calendar(self) -> WorkdayCalendar:
        if self._fixed_calendar is not None:
            return self._fixed_calendar
        assert self.calendar_file is not None
        return self.calendar_file.current

    async def check_calendar(self) -> int:
        """Reload ``calendar.json`` if it changed, then recompute the provisional deadlines
        of open cases that the calendar in use now covers; how many were recomputed."""
        if self.calendar_file is not None:
            self.calendar_file.check()
        return await self._recalendar.run()

    async def _watch_calendar(self) -> None:
        """Look at the file every poll; recompute when it changed, and once a minute anyway
        (a case submitted with the previous calendar may be written after a reload's pass)."""
        loop = asyncio.get_running_loop()
        last_pass = loop.time()
        while True:
            await asyncio.sleep(self._calendar_poll)
            try:
                changed = self.calendar_file is not None and self.calendar_file.check()
                if changed or loop.time() - last_pass >= _RECALENDAR_EVERY:
                    last_pass = loop.time()
                    await self._recalendar.run()
            except Exception:  # the watcher must outlive a bad file or a busy database
                log.exception("calendar watcher failed")

    def today(self) -> date:
        return business_day(self.clock())

    # -- uploads and materials ---------------------------------------------------------------
    def stage_upload(
        self, account: Account, filename: str, content_type: str, data: bytes
    ) -> dict[str, Any]:
        """Keep a file for a case about to be submitted: SM3 digest, SM4-GCM sealed."""
        return self._materials.stage(account, filename, content_type, data)

    def material(self, account: Account, case_id: str, material_id: str) -> tuple[dict, bytes]:
        """A material's file; the opening is recorded (who, when, which material)."""
        meta, data = self._materials.open(account, case_id, material_id)
        label = f"材料 {meta['material_id']}（{meta['name']}）"
        self._record_access(account, case_id, f"material:{meta['material_id']}", label)
        return meta, data

    def _record_access(self, account: Account, case_id: str, item: str, label: str) -> None:
        """Into the case database, shown in the timeline; nothing goes to the process log."""
        self.store.record_access(
            {"case_id": case_id, "at": stamp(self.clock()), "username": account.username,
             "actor": actor_label(account), "item": item, "item_label": label}
        )  # fmt: skip

    # -- changes -----------------------------------------------------------------------------
    async def submit(self, account: Account, request: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a case at the account's window (steps (1)-(6) of the module docstring)."""
        if self.calendar_file is not None:
            self.calendar_file.check()  # one stat: a file loaded a moment ago counts already
        exchange = await self.store.run(self._intake.prepare, account, request)
        await self._exchanges.send(**exchange)
        self._answers.notify()
        await self._request_evidence(exchange["case_id"])
        return await self.store.run(self.detail, account, exchange["case_id"])

    async def _request_evidence(self, case_id: str) -> None:
        """The submitted case's shareable materials: one evidence.request each. The case
        stands whatever happens here; a material that could not be asked for shows 获取失败."""
        try:
            await self._evidence.request_all(await self.store.run(load_case, self.store, case_id))
        except Exception:  # the submission is done and logged; never undo it from here
            log.exception("evidence requests of case %s failed", case_id)

    async def transition(
        self, account: Account, case_id: str, to: str, note: str | None = None
    ) -> dict[str, Any]:
        """Take the next step of a case (handler: accept ... issue; window: archive)."""
        await self._transitions.take(account, case_id, to, note)
        return await self.store.run(self.detail, account, case_id)

    async def rate(
        self, account: Account, case_id: str, grade: int, comment: str | None = None
    ) -> dict[str, Any]:
        """Record the applicant's rating (好差评) once the case is finished."""
        await self._ratings.rate(account, case_id, grade, comment)
        return await self.store.run(self.detail, account, case_id)

    async def request_supplement(
        self, account: Account, case_id: str, materials: Any, note: str | None = None
    ) -> dict[str, Any]:
        """The handling province returns the case for 补正, naming the missing materials."""
        await self._supplements.request(account, case_id, materials, note)
        return await self.store.run(self.detail, account, case_id)

    async def supplement(
        self, account: Account, case_id: str, materials: Any, note: str | None = None
    ) -> dict[str, Any]:
        """The receiving window attaches the requested materials and resubmits (补正)."""
        await self._supplements.resubmit(account, case_id, materials, note)
        return await self.store.run(self.detail, account, case_id)

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

    def search(self, account: Account, **filters: Any) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of the case list and the number of matches (``CaseViews.search``)."""
        return self._views.search(account, **filters)

    def detail(self, account: Account, case_id: str) -> dict[str, Any]:
        found = self._views.detail(account, case_id)
        found["shareable"] = self._evidence.states(case_id)  # 可共享免交: 待获取/已获取/获取失败
        return found

    def shared_material(
        self, account: Account, case_id: str, material_id: str
    ) -> tuple[dict, bytes]:
        """A fetched shareable material's content; the opening is recorded like a material's."""
        meta, data = self._evidence.open(load_case(self.store, case_id), account, material_id)
        label = f"共享材料 {meta['material_id']}（{meta['name']}）"
        self._record_access(account, case_id, f"evidence:{meta['material_id']}", label)
        return meta, data

    def applicant(self, account: Account, case_id: str) -> dict[str, Any]:
        """The full applicant identity, for the receiving window and the handling province's
        handler; the opening is recorded (who, when, "申请人信息")."""
        found = self._materials.applicant(account, case_id)
        self._record_access(account, case_id, "applicant", "申请人信息")
        return found

    # -- the applicant's side: 受理回执, progress page, rating ------------------------------------
    def acceptance_slip(self, account: Account, case_id: str) -> dict[str, Any]:
        """The printable 受理回执, for the receiving window: the case, its materials and the
        verification code the applicant looks the case up with."""
        case = load_case(self.store, case_id)
        if account.role is not Role.CLERK or account.city != case["receiving_city"]:
            raise CaseForbidden("forbidden", "受理回执仅由受理窗口打印", None)
        summary = self._views.summary(case)
        return {
            **{k: summary[k] for k in _SLIP_FIELDS},
            "applicant_name": summary["applicant"]["name"],
            "submitted_at": beijing_text(case["submitted_at"]),
            "deadline": summary["countdown"]["deadline"],
            "materials": [
                {"material_id": m["material_id"], "name": m["name"]}
                for m in self.store.materials(case_id)
            ],
            "code": self._progress.code(case_id),
            "progress_path": "/web/progress.html",
        }

    def progress(self, number: str, code: str, address: str | None) -> dict[str, Any]:
        """The masked progress of a case, for its applicant (办件编号 + code; throttled)."""
        case = self._progress.find(number, code, address)
        return self._progress.view(case, self._views.summary(case))

    async def rate_as_applicant(
        self, number: str, code: str, address: str | None, grade: int, comment: str | None
    ) -> dict[str, Any]:
        """The applicant's 好差评 from the progress page, once the case is finished."""
        case = await self.store.run(self._progress.find, number, code, address)
        await self._ratings.rate_as_applicant(case["case_id"], grade, comment)
        return await self.store.run(self.progress, number, code, address)

    def receipt(self, exchange_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(event, receipt) of one exchange of a case."""
        return self._views.receipt(exchange_id)

    def events(self, case_id: str) -> builtins.list[dict[str, Any]]:  # ``list`` is a method here
        return self._views.events(case_id)
