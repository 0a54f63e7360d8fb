"""An in-memory simulator of a partner system, speaking one codec's dialect.

``SampleSimulator`` is the default ``SimulatorFactory``. It serves, on the codec's endpoints:

- ``matter.lookup``: the region's variant from the matter catalogue (SAMPLE DATA);
- ``evidence.request``: certificates (电子证照) from a small sample store; once the region's
  licence authority is set (:func:`set_licence_issuer`), each answer also carries the signed
  e-licence (``licence``, docs/licences.md), and a request by ``subject_person_key`` also
  finds a company's certificate by its holder key (the number then comes back masked);
- ``case.submit``: records the case and answers ``case.status`` ``accepted`` (idempotent
  on case id: the same case id gets the same acceptance);
- ``case.status``: records a status update for a known case and echoes it;
- answers pushed back to it (``matter``, ``evidence.response``, and a ``case.status`` with an
  ``X-YRD-In-Reply-To`` header): recorded in ``app["answers"]`` as (kind, request exchange
  id, canonical) and acknowledged with an empty 200 -- the simulated system takes the answer
  to a request it sent.

Refusals are ``error`` messages in the dialect: 400 for invalid input, 404 for an unknown
matter, certificate or case. ``app["cases"]``, ``app["status_updates"]`` and
``app["answers"]`` hold what was received, for tests. For tests and ``--dev`` only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.dialects.base import RESPONSE_KIND, Codec
from gateway.dialects.errors import AdapterError
from gateway.dialects.transport import IN_REPLY_TO_HEADER
from gateway.licences.issuing import SampleIssuer
from gateway.matters.catalogue import Catalogue, default_catalogue
from gateway.ops.privacy import mask_uscc
from gateway.times import BEIJING
from ledger.crypto import PrivateKey, sm3

__all__ = [
    "ANSWERS",
    "ANSWER_KINDS",
    "CASES",
    "LICENCE_ISSUER",
    "STATUS_UPDATES",
    "SampleSimulator",
    "build_simulator",
    "certificate_response",
    "set_licence_issuer",
]

CASES = web.AppKey("cases", dict)
STATUS_UPDATES = web.AppKey("status_updates", list)
ANSWERS = web.AppKey("answers", list)
LICENCE_ISSUER = web.AppKey("licence_issuer", dict)
ANSWER_KINDS = frozenset(RESPONSE_KIND.values())
"""The kinds an answer pushed back to the simulated system may have."""


def set_licence_issuer(
    app: web.Application, key: PrivateKey, *, region: str, authority: str, holder_key=None
) -> None:
    """Give the simulator its region's licence authority (key, name, and optionally the
    holder-key rule, ``gateway.licences.issuing.sample_holder_key``): evidence answers then
    carry signed e-licences."""
    options = {} if holder_key is None else {"holder_key": holder_key}
    app[LICENCE_ISSUER]["issuer"] = SampleIssuer(key, region, authority, **options)


def _now() -> datetime:
    return datetime.now(BEIJING)


def certificate_response(request: Mapping[str, Any], cert: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical ``evidence.response`` for a sample certificate record."""
    content = cert["content"].encode("utf-8")
    return {
        "request_id": request["request_id"],
        "certificate_type": cert["certificate_type"],
        "certificate_number": cert["certificate_number"],
        "holder": cert["holder"],
        "issued_date": cert["issued_date"],
        "digest_sm3": sm3(content).hex(),
        "content_base64": base64.b64encode(content).decode("ascii"),
    }


@dataclass(frozen=True)
class SampleSimulator:
    """A ``SimulatorFactory``: ``build_simulator`` with a sample certificate store.

    ``certificates`` are sample 电子证照 records (``certificate_type``, ``certificate_number``,
    ``holder``, ``issued_date``, ``content`` and ``subject_uscc`` or ``subject_person_key``);
    ``catalogue`` is the matter catalogue it answers lookups from (default: the built-in one).
    """

    certificates: tuple[Mapping[str, Any], ...] = ()
    catalogue: Catalogue | None = None

    @classmethod
    def from_file(cls, path: str | Path, catalogue: Catalogue | None = None) -> SampleSimulator:
        """From a sample store file, ``{"certificates": [...]}`` (UTF-8 JSON)."""
        store = json.loads(Path(path).read_text("utf-8"))
        return cls(tuple(store.get("certificates", ())), catalogue)

    def __call__(self, codec: Codec, /) -> web.Application:
        return build_simulator(codec, certificates=self.certificates, catalogue=self.catalogue)


def build_simulator(
    codec: Codec,
    *,
    certificates: Iterable[Mapping[str, Any]] = (),
    catalogue: Catalogue | None = None,
    clock: Callable[[], datetime] = _now,
) -> web.Application:
    """A fresh simulator application speaking ``codec``'s dialect (see the module docstring)."""
    catalogue = catalogue or default_catalogue()
    certs = list(certificates)
    app = web.Application()
    app[CASES] = {}
    app[STATUS_UPDATES] = []
    app[ANSWERS] = []
    app[LICENCE_ISSUER] = {}

    def reply(kind: str, canonical: Mapping[str, Any], status: int = 200) -> web.Response:
        return web.Response(
            body=codec.from_canonical(kind, canonical),
            status=status,
            headers={"Content-Type": codec.content_type},
        )

    def refuse(status: int, code: str, message: str, field: str | None = None) -> web.Response:
        return reply("error", {"code": code, "message": message, "field": field}, status)

    def stamp() -> str:
        return clock().astimezone(BEIJING).replace(microsecond=0).isoformat()

    def handler(kind: str, answer: Callable[[dict[str, Any]], web.Response]):
        async def handle(request: web.Request) -> web.Response:
            try:
                canonical = codec.to_canonical(kind, await request.read())
            except AdapterError as exc:
                return refuse(400, "invalid", exc.message, exc.field)
            request_id = request.headers.get(IN_REPLY_TO_HEADER, "")
            if request_id and kind in ANSWER_KINDS:  # an answer to a request this system sent
                app[ANSWERS].append((kind, request_id, canonical))
                return web.Response(status=200)
            return answer(canonical)

        return handle

    def matter(req: dict[str, Any]) -> web.Response:
        try:
            record = catalogue.get(req["matter_code"], codec.region)
        except LookupError:
            return refuse(404, "no_matter", f"no matter {req['matter_code']}", "matter_code")
        return reply("matter", record.to_dict())

    def evidence(req: dict[str, Any]) -> web.Response:
        issuer: SampleIssuer | None = app[LICENCE_ISSUER].get("issuer")
        by_key = req["subject_uscc"] is None
        for cert in certs:
            if cert["certificate_type"] != req["certificate_type"]:
                continue
            if by_key:
                held = cert.get("subject_person_key") == req["subject_person_key"] or (
                    issuer is not None
                    and cert.get("subject_uscc")
                    and issuer.holder_key(cert) == req["subject_person_key"]
                )
            else:
                held = cert.get("subject_uscc") == req["subject_uscc"]
            if not held:
                continue
            answer = certificate_response(req, cert)
            if by_key and cert.get("subject_uscc"):  # asked by key: no raw number back
                answer["certificate_number"] = mask_uscc(cert["certificate_number"])
            if issuer is not None:
                answer["licence"] = base64.b64encode(issuer.licence_for(cert)).decode()
            return reply("evidence.response", answer)
        return refuse(404, "no_certificate", "no certificate for this subject", "subject")

    def intake(case: dict[str, Any]) -> web.Response:
        try:
            catalogue.get(case["matter_code"], codec.region)
        except LookupError:
            return refuse(404, "no_matter", f"no matter {case['matter_code']}", "matter_code")
        cases = app[CASES]
        if case["case_id"] not in cases:
            number = f"{codec.region}-SIM-{len(cases) + 1:06d}"
            cases[case["case_id"]] = {
                "case": case,
                "acceptance": {
                    "case_id": case["case_id"],
                    "status": "accepted",
                    "time": stamp(),
                    "note": f"受理编号 {number}",
                },
            }
        return reply("case.status", cases[case["case_id"]]["acceptance"])

    def status(update: dict[str, Any]) -> web.Response:
        if update["case_id"] not in app[CASES]:
            return refuse(404, "no_case", f"no case {update['case_id']}", "case_id")
        app[STATUS_UPDATES].append(update)
        return reply("case.status", update)

    def unasked(answer: dict[str, Any]) -> web.Response:
        return refuse(400, "not_an_answer", "an answer without X-YRD-In-Reply-To", None)

    routes = {
        "matter.lookup": matter,
        "evidence.request": evidence,
        "case.submit": intake,
        "case.status": status,
        "matter": unasked,
        "evidence.response": unasked,
    }
    for kind, answer in routes.items():
        app.router.add_post(codec.endpoint(kind), handler(kind, answer))
    return app
