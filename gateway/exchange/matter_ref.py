"""Resolving ``Envelope.matter_ref`` to the canonical matter code the gateway logs.

Why: a sender chooses ``matter_ref``; the registry's permissions, the log entry and the
exchanges row must not depend on its spelling, nor hold free text (a partner once put an ID
number there). So the gateway resolves it against the matter catalogue
(``gateway.matters``) and uses only the canonical basic code (GB/T 39554.1, 12 digits) from
then on; the raw value is never stored.

Resolution, first match wins:

1. a local code of the sender's region;
2. a canonical basic code;
3. a local code of another region (exactly one matter; several is refused as ambiguous).

Unknown: :class:`Refusal` ``unknown_matter`` (NOT_FOUND), naming the value clipped and with
ID and mobile numbers masked.

Which kinds need a matter (:data:`PAYLOAD_MATTER_FIELD`): those whose canonical payload
names one -- ``case.submit`` and ``matter.lookup`` (field ``matter_code``), ``matter``
(field ``basic_code``). For them an empty ``matter_ref`` is ``malformed`` and the payload's
code must be the resolved one (``matter_mismatch``, INVALID_ARGUMENT). For every other kind
(``case.status``, ``evidence.*``, ``error``) ``matter_ref`` may be empty (logged as "");
when given it is resolved the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import Refusal, clip
from gateway.matters import REGIONS, Catalogue, MatterNotFound
from gateway.ops.privacy import scrub

__all__ = ["PAYLOAD_MATTER_FIELD", "check_payload_matter", "resolve_matter_ref"]

PAYLOAD_MATTER_FIELD: Mapping[str, str] = {
    "case.submit": "matter_code",
    "matter.lookup": "matter_code",
    "matter": "basic_code",
}
"""The kinds that need a matter, and the field of their canonical payload that names it."""


def _shown(value: str) -> str:
    return clip(scrub(value))


def resolve_matter_ref(catalogue: Catalogue, kind: str, matter_ref: str, region: str) -> str:
    """The canonical basic code ``matter_ref`` names for a sender of ``region`` ("" when it
    is empty and ``kind`` needs no matter); :class:`Refusal` as in the module docstring."""
    if not matter_ref:
        if kind in PAYLOAD_MATTER_FIELD:
            raise Refusal("malformed", f"matter_ref must name the matter of a {kind!r} exchange")
        return ""
    # (1): the sender's own local code
    try:
        return catalogue.resolve(matter_ref, region).basic_code
    except MatterNotFound:
        pass
    # (2): a canonical basic code
    try:
        return catalogue.entry(matter_ref).basic_code
    except MatterNotFound:
        pass
    # (3): another region's local code, if it names one matter only
    found: set[str] = set()
    for other in REGIONS:
        if other == region:
            continue
        try:
            found.add(catalogue.resolve(matter_ref, other).basic_code)
        except MatterNotFound:
            continue
    if len(found) == 1:
        return found.pop()
    if found:
        raise Refusal(
            "unknown_matter",
            f"matter_ref {_shown(matter_ref)} is a local code of several matters in other "
            f"regions; send the canonical code",
        )
    raise Refusal(
        "unknown_matter",
        f"matter_ref {_shown(matter_ref)} is not a matter of the catalogue: neither a "
        f"{region} local code, a canonical basic code nor another region's local code",
    )


def check_payload_matter(kind: str, canonical: Mapping[str, Any], matter: str) -> None:
    """For a kind that names its matter in the payload, :class:`Refusal` ``matter_mismatch``
    unless the canonical payload's code is ``matter`` (the resolved ``matter_ref``)."""
    field = PAYLOAD_MATTER_FIELD.get(kind)
    if field is None:
        return
    named = canonical.get(field)
    if named != matter:
        raise Refusal(
            "matter_mismatch",
            f"matter_ref resolves to {matter}, the payload's {field} is {_shown(str(named))}",
            field=field,
        )
