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
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ledger.crypto import PrivateKey, generate_sm4_key, sm3, sm4_gcm_open, sm4_gcm_seal
from ledger.errors import CryptoError

from ..adapters.errors import AdapterError
from ..errors import Refusal
from ..identity import (
    AuthMethod,
    DocumentType,
    IdentityError,
    NaturalPerson,
    PersonKeyDeriver,
    RecognisedIdentity,
    assess_level,
    check_level,
    validate_resident_id,
)
from ..matters import Catalogue, MatterNotFound, TimeLimit, default_catalogue
from ..privacy import mask_id_number, mask_name, scrub
from ..workdays import WorkdayCalendar, default_calendar
from ._signing import member_for_key, signed_envelope
from .accounts import Account, Accounts, Role
from .deadlines import countdown, deadline_for
from .errors import (
    CaseError,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    CaseUnavailable,
    TransitionRefused,
)
from .model import (
    CANONICAL_STATUS,
    CITIES,
    CLOSED,
    FINISHED,
    OPEN,
    RATINGS,
    REGION_NAMES,
    TRANSITIONS,
    Actor,
    Status,
)
from .store import CaseStore

__all__ = ["BEIJING", "CaseService"]

log = logging.getLogger("gateway.cases")
BEIJING = timezone(timedelta(hours=8))
MAX_MATERIAL_BYTES = 5 * 1024 * 1024
REGIONS = ("SH", "JS", "ZJ", "AH")


def _now() -> datetime:
    return datetime.now(BEIJING)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


def _secret_file(path: Path, size: int, make: Callable[[], bytes]) -> bytes:
    if path.exists():
        data = path.read_bytes()
        if len(data) != size:
            raise CaseUnavailable("bad_key", f"key file {path.name}: expected {size} bytes")
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


class CaseService:
    """Cases of one gateway. ``clock`` gives the business time (Beijing), ``calendar`` the
    working days, ``keys`` the member signing keys by region."""

    def __init__(
        self,
        gateway: Any,
        data_dir: Path,
        *,
        keys: Mapping[str, PrivateKey] | None = None,
        clock: Callable[[], datetime] = _now,
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
        self._sm4 = _secret_file(keydir / "materials.sm4", 16, generate_sm4_key)
        secret = _secret_file(keydir / "person-key.secret", 32, lambda: secrets.token_bytes(32))
        self._persons = PersonKeyDeriver(secret)
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._wake = asyncio.Event()
        await self.recover()
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="case-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self.store.close()

    def today(self) -> date:
        return self.clock().astimezone(BEIJING).date()

    # -- uploads and materials ---------------------------------------------------------------
    def stage_upload(
        self, account: Account, filename: str, content_type: str, data: bytes
    ) -> dict[str, Any]:
        """Keep a file for a case about to be submitted: SM3 digest, SM4-GCM sealed."""
        self._require(account, Role.CLERK)
        if not data:
            raise CaseInvalid("invalid", "material file is empty", "file")
        if len(data) > MAX_MATERIAL_BYTES:
            raise CaseInvalid(
                "too_large",
                f"material file of {len(data)} bytes exceeds {MAX_MATERIAL_BYTES}",
                "file",
            )
        name = (filename or "material").replace("/", "_").replace("\\", "_")[:200]
        digest = sm3(data).hex()
        row = {
            "upload_id": str(uuid.uuid4()),
            "city": account.city,
            "filename": name,
            "content_type": (content_type or "application/octet-stream")[:100],
            "size": len(data),
            "sm3": digest,
            "sealed": sm4_gcm_seal(self._sm4, data, digest.encode()),
            "created_at": time.time(),
        }
        self.store.insert_upload(row)
        return {k: row[k] for k in ("upload_id", "filename", "content_type", "size", "sm3")}

    def material(self, account: Account, case_id: str, material_id: str) -> tuple[dict, bytes]:
        case = self._case(case_id)
        if not (
            (account.role is Role.CLERK and account.city == case["receiving_city"])
            or (account.role is Role.HANDLER and account.region == case["handling_region"])
        ):
            raise CaseForbidden(
                "forbidden", "materials are shown only to the receiving window and the handler"
            )
        row = self.store.material_blob(case_id, material_id)
        if row is None:
            raise CaseNotFound("not_found", f"case {case_id} has no material {material_id}")
        try:
            data = sm4_gcm_open(self._sm4, row["sealed"], row["sm3"].encode())
        except CryptoError as exc:
            raise CaseUnavailable("material_corrupt", f"material {material_id}: {exc}") from exc
        if sm3(data).hex() != row["sm3"]:
            raise CaseUnavailable("material_corrupt", f"material {material_id}: sm3 mismatch")
        meta = {k: row[k] for k in ("material_id", "name", "filename", "content_type", "sm3")}
        return meta, data

    # -- submit ------------------------------------------------------------------------------
    async def submit(self, account: Account, request: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a case at the account's window (steps (1)-(6) of the module docstring)."""
        # (1): who
        self._require(account, Role.CLERK)
        city = CITIES[account.city]
        asked_city = request.get("receiving_city") or city.code
        if asked_city != city.code:
            raise CaseForbidden(
                "wrong_city",
                f"receiving city: this account is bound to {city.code}, got {asked_city}",
                "receiving_city",
            )
        # (2): what
        code = str(request.get("matter_code") or "")
        try:
            self.catalogue.entry(code)
        except MatterNotFound:
            raise CaseInvalid(
                "unknown_matter", f"matter {code!r} is not in the catalogue", "matter_code"
            ) from None
        handling = str(request.get("handling_region") or "")
        if handling not in REGIONS:
            raise CaseInvalid(
                "invalid", f"handling region must be SH, JS, ZJ or AH, got {handling!r}",
                "handling_region",
            )  # fmt: skip
        if handling == city.region:
            raise CaseInvalid(
                "not_cross_region",
                f"handling region {handling} is the window's own region: not a cross-region case",
                "handling_region",
            )
        try:
            matter = self.catalogue.get(code, handling)
        except MatterNotFound:
            raise CaseInvalid(
                "unknown_matter", f"matter {code} is not handled in {handling}", "matter_code"
            ) from None
        mode = str(request.get("handling_mode") or "")
        modes = [m.value for m in matter.handling_modes]
        if mode not in modes:
            raise CaseInvalid(
                "invalid_mode",
                f"handling mode: {handling} offers {'、'.join(modes)} for {code}, got {mode!r}",
                "handling_mode",
            )
        identity, phone = self._applicant(
            request.get("applicant"), matter.min_assurance.value, city.region
        )
        materials = self._materials(account, request.get("materials") or [], matter)
        # (3): sign
        case_id = str(uuid.uuid4())
        now = self.clock()
        today = now.astimezone(BEIJING).date()
        limit = matter.promised_time_limit
        canonical = {
            "case_id": case_id,
            "matter_code": code,
            "applicant": {
                "person_key": identity.person_key,
                "masked_name": mask_name(identity.subject.name),
            },
            "handling_mode": mode,
            "materials": [
                {"material_id": m["material_id"], "name": m["name"], "digest_sm3": m["sm3"]}
                for m in materials
            ],
            "receiving_city": f"{city.name_zh}G60通办窗口",
            "submitted_at": _stamp(now),
        }
        sealed = sm4_gcm_seal(
            self._sm4,
            json.dumps({"identity": identity.to_dict(), "phone": phone}, ensure_ascii=False)
            .encode(),
            case_id.encode(),
        )  # fmt: skip
        row = {
            "case_id": case_id,
            "number": f"G60-{city.code[:2].upper()}{today:%Y%m%d}-{case_id[:6].upper()}",
            "receiving_city": city.code,
            "window_region": city.region,
            "handling_region": handling,
            "matter_code": code,
            "matter_name": matter.name,
            "handling_mode": mode,
            "status": Status.SUBMITTED.value,
            "applicant_name_masked": mask_name(identity.subject.name),
            "applicant_id_masked": mask_id_number(identity.subject.document_number),
            "applicant_person_key": identity.person_key,
            "applicant_level": identity.level.value,
            "applicant_sealed": sealed.hex(),
            "promised_limit": json.dumps(limit.to_dict()),
            "submitted_at": _stamp(now),
            "accepted_on": None,
            "deadline": deadline_for(today, limit, self.calendar).isoformat(),
            "finished_on": None,
            "rating": None,
            "rating_comment": None,
            "clerk": account.username,
            "updated_at": _stamp(now),
        }
        change = {
            "create": row,
            "materials": [
                {"upload_id": m["upload_id"], "material_id": m["material_id"], "name": m["name"]}
                for m in materials
            ],
        }
        note = scrub(str(request.get("note") or ""))[:500] or None
        await self._exchange(
            case_id=case_id,
            sender_region=city.region,
            recipient_region=handling,
            kind="case.submit",
            matter=code,
            canonical=canonical,
            change=change,
            transition="submitted",
            status_after=Status.SUBMITTED,
            actor=f"{city.name_zh}窗口 {account.display_name}",
            note=note,
            at=now,
        )
        self._notify()
        return self.detail(account, case_id)

    def _applicant(
        self, data: Any, minimum: str, region: str
    ) -> tuple[RecognisedIdentity, str | None]:
        if not isinstance(data, Mapping):
            raise CaseInvalid("invalid", "applicant: expected an object", "applicant")
        name = str(data.get("name") or "").strip()
        if not name:
            raise CaseInvalid("invalid", "applicant name must not be empty", "applicant.name")
        try:
            number = validate_resident_id(str(data.get("id_number") or ""), today=self.today())
        except IdentityError as exc:
            raise CaseInvalid("invalid_id_number", str(exc), "applicant.id_number") from exc
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        methods = data.get("auth_methods") or ["electronic_id_card", "face_recognition"]
        try:
            subject = NaturalPerson(name, DocumentType.RESIDENT_ID_CARD, number, born)
            level = assess_level(AuthMethod(m) for m in methods)
            check_level(level, minimum)
            identity = RecognisedIdentity(
                subject=subject,
                level=level,
                methods=frozenset(methods),
                authenticated_at=self.clock(),
                issuing_province=region,
                person_key=self._persons.derive(subject),
            )
        except ValueError as exc:  # IdentityError, a bad AuthMethod, level too low
            raise CaseInvalid("invalid_identity", f"applicant: {exc}", "applicant") from exc
        phone = str(data.get("phone") or "").strip() or None
        return identity, phone

    def _materials(self, account: Account, items: Any, matter: Any) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise CaseInvalid("invalid", "materials: expected a list", "materials")
        out, seen = [], set()
        for n, item in enumerate(items):
            where = f"materials[{n}]"
            if not isinstance(item, Mapping):
                raise CaseInvalid("invalid", f"{where}: expected an object", where)
            mid = str(item.get("material_id") or "")
            spec = matter.material(mid)
            if spec is None:
                raise CaseInvalid(
                    "unknown_material",
                    f"{where}.material_id: {mid!r} is not a material of {matter.basic_code} "
                    f"in {matter.region}",
                    f"{where}.material_id",
                )
            if mid in seen:
                raise CaseInvalid("invalid", f"{where}: material {mid} given twice", where)
            seen.add(mid)
            upload = self.store.upload(str(item.get("upload_id") or ""))
            if upload is None or upload["city"] != account.city:
                raise CaseInvalid(
                    "unknown_upload",
                    f"{where}.upload_id: no staged upload {item.get('upload_id')!r} at this window",
                    f"{where}.upload_id",
                )
            out.append({**upload, "material_id": mid, "name": spec.name})
        return out

    # -- transitions -------------------------------------------------------------------------
    async def transition(
        self, account: Account, case_id: str, to: str, note: str | None = None
    ) -> dict[str, Any]:
        """Take the next step of a case (handler: accept ... issue; window: archive)."""
        try:
            target = Status(to)
        except ValueError:
            raise CaseInvalid(
                "invalid", f"unknown status {to!r}; expected one of "
                f"{', '.join(s.value for s in Status)}", "to",
            ) from None  # fmt: skip
        case = self._case(case_id)
        actor = self._actor_for(account, case)
        await self._step(case_id, target, actor, note, self._actor_label(account, case))
        return self.detail(account, case_id)

    async def _step(
        self, case_id: str, target: Status, actor: Actor, note: str | None, label: str
    ) -> None:
        lock = self._locks.setdefault(case_id, asyncio.Lock())
        async with lock:
            case = self._case(case_id)
            current = Status(case["status"])
            allowed = TRANSITIONS[current]
            if target not in allowed:
                expected = ", ".join(s.value for s in allowed) or "none (the case is archived)"
                raise TransitionRefused(
                    "out_of_order",
                    f"transition {current.value} -> {target.value} is not allowed; "
                    f"expected one of: {expected}",
                    "to",
                )
            if allowed[target] is not actor:
                raise CaseForbidden(
                    "wrong_actor",
                    f"transition {current.value} -> {target.value} is taken by the "
                    f"{allowed[target].value}, not the {actor.value}",
                    "to",
                )
            now = self.clock()
            today = now.astimezone(BEIJING).date()
            sets: dict[str, Any] = {"status": target.value, "updated_at": _stamp(now)}
            if target is Status.ACCEPTED:
                limit = TimeLimit.from_dict(json.loads(case["promised_limit"]))
                sets["accepted_on"] = today.isoformat()
                sets["deadline"] = deadline_for(today, limit, self.calendar).isoformat()
            if target in FINISHED:
                sets["finished_on"] = today.isoformat()
            clean = scrub(note or "")[:500] or None
            await self._status_exchange(
                case, actor, target.value, CANONICAL_STATUS[target], clean, sets, now, label,
                status_after=target,
            )  # fmt: skip

    async def rate(
        self, account: Account, case_id: str, grade: int, comment: str | None = None
    ) -> dict[str, Any]:
        """Record the applicant's rating (好差评) once the case is finished."""
        case = self._case(case_id)
        if self._actor_for(account, case) is not Actor.WINDOW:
            raise CaseForbidden("forbidden", "ratings are recorded by the receiving window")
        if grade not in RATINGS:
            raise CaseInvalid("invalid", f"rating must be 1..5, got {grade!r}", "grade")
        lock = self._locks.setdefault(case_id, asyncio.Lock())
        async with lock:
            case = self._case(case_id)
            if Status(case["status"]) not in CLOSED:
                raise TransitionRefused(
                    "out_of_order",
                    f"rating: the case is {case['status']}; it can be rated once finished",
                    "grade",
                )
            if case["rating"] is not None:
                raise TransitionRefused("already_rated", "rating: the case is already rated")
            now = self.clock()
            text = scrub(comment or "")[:200] or None
            note = f"{grade} {RATINGS[grade]}" + (f"：{text}" if text else "")
            sets = {"rating": grade, "rating_comment": text, "updated_at": _stamp(now)}
            await self._status_exchange(
                case, Actor.WINDOW, "rated", "completed", note, sets, now,
                self._actor_label(account, case), status_after=Status(case["status"]),
            )  # fmt: skip
        return self.detail(account, case_id)

    async def _status_exchange(
        self,
        case: Mapping[str, Any],
        actor: Actor,
        transition: str,
        canonical_status: str,
        note: str | None,
        sets: dict[str, Any],
        now: datetime,
        label: str,
        *,
        status_after: Status,
    ) -> None:
        window, handling = case["window_region"], case["handling_region"]
        sender, recipient = (handling, window) if actor is Actor.HANDLER else (window, handling)
        canonical = {
            "case_id": case["case_id"],
            "status": canonical_status,
            "time": _stamp(now),
            "note": f"[{transition}]" + (f" {note}" if note else ""),
        }
        change = {"case_id": case["case_id"], "from": case["status"], "set": sets}
        await self._exchange(
            case_id=case["case_id"],
            sender_region=sender,
            recipient_region=recipient,
            kind="case.status",
            matter=case["matter_code"],
            canonical=canonical,
            change=change,
            transition=transition,
            status_after=status_after,
            actor=label,
            note=note,
            at=now,
        )

    # -- the exchange itself: sign, journal, log, apply -------------------------------------
    async def _exchange(
        self,
        *,
        case_id: str,
        sender_region: str,
        recipient_region: str,
        kind: str,
        matter: str,
        canonical: dict[str, Any],
        change: dict[str, Any],
        transition: str,
        status_after: Status,
        actor: str,
        note: str | None,
        at: datetime,
    ) -> dict[str, Any]:
        # (3): sign, in the sender's dialect
        key = self.keys.get(sender_region)
        if key is None:
            raise CaseUnavailable(
                "no_signing_key", f"no member signing key configured for region {sender_region}"
            )
        registry = self.gateway.registry.require()
        sender = member_for_key(registry.members, sender_region, key)
        recipient = next(
            (str(m.id) for m in registry.members if str(m.id.region) == recipient_region), None
        )
        if sender is None or recipient is None:
            missing = sender_region if sender is None else recipient_region
            raise CaseUnavailable(
                "no_member", f"no registered member for region {missing} with a usable key"
            )
        try:
            adapter = self.gateway.adapters.get(sender_region)
            payload = adapter.from_canonical(kind, canonical)
        except AdapterError as exc:
            raise CaseInvalid(
                "not_expressible", f"{sender_region} dialect cannot carry {kind}: {exc}"
            ) from exc
        signed = signed_envelope(
            key=key, sender=sender, recipient=recipient, kind=kind, matter=matter,
            payload=payload, dialect=adapter.dialect, content_type=adapter.content_type,
        )  # fmt: skip
        exchange_id = _exchange_id(signed)
        change = {
            **change,
            "event": {
                "case_id": case_id,
                "transition": transition,
                "status_after": status_after.value,
                "at": _stamp(at),
                "actor": actor,
                "note": note,
                "exchange_id": exchange_id,
                "kind": kind,
                "sender": sender,
                "recipient": recipient,
            },
        }
        # (4): journal
        await asyncio.to_thread(
            self.store.add_intent, exchange_id, case_id, change, signed.SerializeToString(),
            sender, time.time(),
        )  # fmt: skip
        # (5): log
        try:
            accepted = await self.gateway.core.submit(signed, sender)
        except Refusal as exc:
            await asyncio.to_thread(self.store.drop_intent, exchange_id)
            raise CaseUnavailable(
                "exchange_refused", f"exchange {kind} refused: {exc.reason}: {exc.message}"
            ) from exc
        # (6): apply
        return await self._apply(exchange_id, change, accepted.receipt)

    async def _apply(
        self, exchange_id: str, change: dict[str, Any], receipt: dict[str, Any]
    ) -> dict[str, Any]:
        event = {
            **change["event"],
            "leaf_index": receipt["leaf_index"],
            "tree_size": receipt["tree_size"],
            "receipt": json.dumps(receipt, ensure_ascii=False),
        }
        body = {k: v for k, v in change.items() if k != "event"}
        applied = await asyncio.to_thread(self.store.apply, exchange_id, body, event)
        if not applied:
            raise TransitionRefused(
                "conflict", "the case changed while this step was logged; reload and retry"
            )
        return event

    async def recover(self) -> int:
        """Replay intents left by a crash: resubmit (idempotent), then apply or drop."""
        from ..pb.yrd.v1 import exchange_pb2

        done = 0
        for intent in await asyncio.to_thread(self.store.intents):
            signed = exchange_pb2.SignedEnvelope.FromString(intent["signed"])
            try:
                accepted = await self.gateway.core.submit(signed, intent["caller"])
                await self._apply(intent["exchange_id"], intent["change"], accepted.receipt)
                done += 1
            except Refusal as exc:
                log.warning("dropping case intent %s: %s", intent["exchange_id"], exc.reason)
                await asyncio.to_thread(self.store.drop_intent, intent["exchange_id"])
            except CaseError as exc:
                log.warning("case intent %s not applied: %s", intent["exchange_id"], exc)
        return done

    # -- the handling province's answers ------------------------------------------------------
    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _watch(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self.poll_answers()
            except Exception:  # the watcher must survive anything a partner sends
                log.exception("case watcher failed")
            try:
                await asyncio.wait_for(self._wake.wait(), 0.25)
            except TimeoutError:
                pass
            self._wake.clear()

    async def poll_answers(self) -> int:
        """Record answers of handling provinces to pushed ``case.submit`` exchanges."""
        rows = self.store.query(
            "SELECT c.case_id, c.handling_region, e.exchange_id FROM cases c JOIN events e"
            " ON e.case_id = c.case_id AND e.seq = 0 WHERE c.status = ?",
            (Status.SUBMITTED.value,),
        )
        recorded = 0
        for row in rows:
            if row["handling_region"] not in self.keys:
                continue  # the province answers with its own signed case.status
            outbox = self.gateway.store.outbox_row(row["exchange_id"])
            if outbox is None:
                continue
            status, _attempts, error, response = outbox
            target, note = None, None
            if status == "delivered" and response:
                answer = json.loads(response)
                note = answer.get("note")
                if answer.get("status") == "accepted":
                    target = Status.ACCEPTED
                elif answer.get("status") == "rejected":
                    target = Status.REFUSED
            elif status == "rejected":
                target, note = Status.REFUSED, error
            if target is None:
                continue
            region = REGION_NAMES[row["handling_region"]]
            try:
                await self._step(
                    row["case_id"], target, Actor.HANDLER, note, f"{region}承办系统（推送应答）"
                )
                recorded += 1
            except CaseError as exc:
                log.info("answer for case %s not recorded: %s", row["case_id"], exc)
        return recorded

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
        sql, params = "SELECT * FROM cases WHERE 1=1", []
        if account.role is Role.HANDLER:
            sql += " AND handling_region = ?"
            params.append(account.region)
        if status:
            if status not in {s.value for s in Status}:
                raise CaseInvalid("invalid", f"unknown status filter {status!r}", "status")
            sql += " AND status = ?"
            params.append(status)
        if city:
            if city not in CITIES:
                raise CaseInvalid("invalid", f"unknown G60 city {city!r}", "city")
            sql += " AND receiving_city = ?"
            params.append(city)
        if province:
            if province not in REGIONS:
                raise CaseInvalid("invalid", f"unknown province {province!r}", "province")
            sql += " AND handling_region = ?"
            params.append(province)
        if overdue is not None:
            today = self.today().isoformat()
            open_ = ",".join(f"'{s.value}'" for s in OPEN)
            cond = (
                f"((status IN ({open_}) AND deadline < ?)"
                " OR (finished_on IS NOT NULL AND finished_on > deadline))"
            )
            sql += f" AND {'' if overdue else 'NOT '}{cond}"
            params.append(today)
        sql += " ORDER BY submitted_at DESC, case_id LIMIT ?"
        params.append(max(1, min(limit, 1000)))
        return [self._summary(dict(r)) for r in self.store.query(sql, params)]

    def detail(self, account: Account, case_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        self._may_read(account, case)
        out = self._summary(case)
        events = self.store.events(case_id)
        out["timeline"] = [
            {
                "seq": e["seq"],
                "transition": e["transition"],
                "label": _transition_label(e["transition"]),
                "status_after": e["status_after"],
                "at": e["at"],
                "actor": e["actor"],
                "note": e["note"],
                "exchange_id": e["exchange_id"],
                "kind": e["kind"],
                "sender": e["sender"],
                "recipient": e["recipient"],
                "leaf_index": e["leaf_index"],
                "tree_size": e["tree_size"],
            }
            for e in events
        ]
        out["materials"] = self.store.materials(case_id)
        out["next"] = self._next_steps(account, case)
        out["can_rate"] = (
            account.role is Role.CLERK
            and account.city == case["receiving_city"]
            and Status(case["status"]) in CLOSED
            and case["rating"] is None
        )
        return out

    def applicant(self, account: Account, case_id: str) -> dict[str, Any]:
        """The full applicant identity, for the receiving window only (the case itself)."""
        case = self._case(case_id)
        if account.role is not Role.CLERK or account.city != case["receiving_city"]:
            raise CaseForbidden("forbidden", "the applicant is shown only to the receiving window")
        data = sm4_gcm_open(self._sm4, case["applicant_sealed"], case_id.encode())
        return json.loads(data)

    def receipt(self, exchange_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(event, receipt) of one exchange of a case."""
        event = self.store.event_by_exchange(exchange_id)
        if event is None:
            raise CaseNotFound("not_found", f"no case exchange {exchange_id}")
        return event, json.loads(event["receipt"])

    def events(self, case_id: str) -> list[dict[str, Any]]:
        self._case(case_id)
        return self.store.events(case_id)

    # -- helpers -----------------------------------------------------------------------------
    def _case(self, case_id: str) -> dict[str, Any]:
        case = self.store.case(case_id)
        if case is None:
            raise CaseNotFound("not_found", f"no case {case_id}")
        return case

    def _require(self, account: Account, role: Role) -> None:
        if account.role is not role:
            raise CaseForbidden(
                "forbidden", f"this needs a {role.value} account, got {account.role.value}"
            )

    def _may_read(self, account: Account, case: Mapping[str, Any]) -> None:
        if account.role is Role.HANDLER and account.region != case["handling_region"]:
            raise CaseForbidden(
                "forbidden", f"the case is handled in {case['handling_region']}, "
                f"this account handles {account.region}",
            )  # fmt: skip

    def _actor_for(self, account: Account, case: Mapping[str, Any]) -> Actor:
        if account.role is Role.CLERK:
            if account.city != case["receiving_city"]:
                raise CaseForbidden(
                    "wrong_city",
                    f"the case was received in {case['receiving_city']}, "
                    f"this account is bound to {account.city}",
                )
            return Actor.WINDOW
        if account.role is Role.HANDLER:
            if account.region != case["handling_region"]:
                raise CaseForbidden(
                    "wrong_region",
                    f"the case is handled in {case['handling_region']}, "
                    f"this account handles {account.region}",
                )
            return Actor.HANDLER
        raise CaseForbidden("forbidden", f"{account.role.value} accounts cannot change cases")

    def _actor_label(self, account: Account, case: Mapping[str, Any]) -> str:
        if account.role is Role.CLERK:
            return f"{CITIES[account.city].name_zh}窗口 {account.display_name}"
        return f"{REGION_NAMES[account.region]}承办 {account.display_name}"

    def _next_steps(self, account: Account, case: Mapping[str, Any]) -> list[dict[str, str]]:
        try:
            actor = self._actor_for(account, case)
        except CaseForbidden:
            return []
        return [
            {"to": s.value, "label": s.label_zh}
            for s, who in TRANSITIONS[Status(case["status"])].items()
            if who is actor
        ]

    def _summary(self, case: dict[str, Any]) -> dict[str, Any]:
        status = Status(case["status"])
        deadline = date.fromisoformat(case["deadline"])
        finished = date.fromisoformat(case["finished_on"]) if case["finished_on"] else None
        if status not in OPEN and finished is None:
            finished = deadline  # archived without finishing date: never overdue
        city = CITIES[case["receiving_city"]]
        return {
            "case_id": case["case_id"],
            "number": case["number"],
            "receiving_city": city.code,
            "receiving_city_name": city.name_zh,
            "window_region": case["window_region"],
            "handling_region": case["handling_region"],
            "handling_region_name": REGION_NAMES[case["handling_region"]],
            "matter_code": case["matter_code"],
            "matter_name": case["matter_name"],
            "handling_mode": case["handling_mode"],
            "status": status.value,
            "status_label": status.label_zh,
            "applicant": {
                "name": case["applicant_name_masked"],
                "id_number": case["applicant_id_masked"],
                "person_key": case["applicant_person_key"],
                "level": case["applicant_level"],
            },
            "promised_limit": json.loads(case["promised_limit"]),
            "submitted_at": case["submitted_at"],
            "accepted_on": case["accepted_on"],
            "finished_on": case["finished_on"],
            "deadline_provisional": case["accepted_on"] is None,
            "countdown": countdown(
                deadline, self.today(), self.calendar, finished_on=finished
            ).to_dict(),
            "rating": case["rating"],
            "rating_label": RATINGS.get(case["rating"]) if case["rating"] else None,
            "rating_comment": case["rating_comment"],
            "clerk": case["clerk"],
            "updated_at": case["updated_at"],
        }


def _transition_label(transition: str) -> str:
    if transition == "rated":
        return "好差评"
    try:
        return Status(transition).label_zh
    except ValueError:
        return transition


def _exchange_id(signed: Any) -> str:
    from ..pb.yrd.v1 import exchange_pb2

    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


def _configured_calendar(data_dir: Path) -> WorkdayCalendar:
    """``<data_dir>/calendar.json`` (yrd-workday-calendar/1) if present, else the bundled one."""
    path = Path(data_dir) / "calendar.json"
    return WorkdayCalendar.load(path) if path.exists() else default_calendar()
