"""Hypothesis strategies for valid canonical payloads, per kind and per codec."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st

from gateway.dialects import ENUMS, Codec
from gateway.matters import (
    MATTER_TYPE_CODES,
    REGIONS,
    AssuranceLevel,
    Fee,
    HandlingMode,
    ImplementingBody,
    Material,
    MaterialForm,
    Matter,
    MatterType,
    OnlineDepth,
    TimeLimit,
    TimeUnit,
    default_catalogue,
)
from gateway.times import BEIJING
from gateway.uscc import DEPARTMENT_TYPES

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=12,
)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
datetimes = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=BEIJING).isoformat()
)
digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
person_keys = st.from_regex(r"[A-Za-z0-9:_-]{16,40}", fullmatch=True).filter(
    lambda k: not k.isdigit()
)
masked_names = st.tuples(text, text).map(lambda t: f"{t[0][:1]}*{t[1][:2]}")


def enum(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from(ENUMS[name])


@st.composite
def usccs(draw) -> str:
    """Codes valid by GB 32100 (gateway.uscc): a department and a type it issues, a 6-digit
    division, then any subject identifier."""
    department = draw(st.sampled_from(sorted(DEPARTMENT_TYPES)))
    kind = draw(st.sampled_from(sorted(DEPARTMENT_TYPES[department])))
    division = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    body = department + kind + division + draw(st.text(alphabet=ALPHABET, min_size=9, max_size=9))
    check = 31 - sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=False)) % 31
    return body + ALPHABET[0 if check == 31 else check]


def matter_codes(codec: Codec) -> st.SearchStrategy[str]:
    return st.sampled_from([m.basic_code for m in default_catalogue().list()])


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def matters(draw, working_days_only: bool = False) -> dict[str, Any]:
    mtype = draw(st.sampled_from(list(MatterType)))
    basic = MATTER_TYPE_CODES[mtype] + draw(st.from_regex(r"[0-9]{10}", fullmatch=True))
    units = [TimeUnit.WORKING_DAYS] if working_days_only else list(TimeUnit)
    legal = TimeLimit(draw(st.integers(0, 400)), draw(st.sampled_from(units)))
    p_unit = draw(st.sampled_from(units))
    top = legal.value if p_unit == legal.unit else 400
    promised = TimeLimit(draw(st.integers(0, top)), p_unit)
    body = ImplementingBody(draw(text.filter(str.strip)), draw(usccs()))
    suffix = draw(st.from_regex(r"[0-9]{2}", fullmatch=True))

    @st.composite
    def material(draw2) -> Material:
        shareable = draw2(st.booleans())
        return Material(
            draw2(text.filter(str.strip)),
            draw2(text.filter(str.strip)),
            draw2(st.booleans()),
            draw2(st.sampled_from(list(MaterialForm))),
            shareable,
            draw2(text) if shareable else draw2(optional(text)),
            draw2(optional(enum("certificate_type"))) if shareable else None,
        )

    fee = st.builds(Fee, text.filter(str.strip), st.integers(0, 10**9), text.filter(str.strip))
    valid_from = draw(dates)
    valid_to = draw(optional(st.dates(min_value=valid_from, max_value=date(2099, 12, 31))))
    m = Matter(
        basic_code=basic,
        name=draw(text.filter(str.strip)),
        matter_type=mtype,
        legal_time_limit=legal,
        promised_time_limit=promised,
        online_depth=draw(st.sampled_from(list(OnlineDepth))),
        min_assurance=draw(st.sampled_from(list(AssuranceLevel))),
        version=draw(text.filter(str.strip)),
        valid_from=valid_from,
        region=draw(st.sampled_from(REGIONS)),
        materials=tuple(draw(st.lists(material(), max_size=4, unique_by=lambda x: x.material_id))),
        fees=tuple(draw(st.lists(fee, max_size=3))),
        handling_modes=tuple(draw(st.lists(st.sampled_from(list(HandlingMode)), unique=True))),
        implementing_body=body,
        implementation_code=body.uscc + basic + suffix,
        local_code=draw(optional(text)),
        valid_to=valid_to,
    )
    return m.to_dict()


def payloads(kind: str, codec: Codec, *, working_days_only: bool = False):
    codes = matter_codes(codec)
    if kind == "matter.lookup":
        return st.fixed_dictionaries({"matter_code": codes})
    if kind == "matter":
        return matters(working_days_only)
    if kind == "case.submit":
        return st.fixed_dictionaries(
            {
                "case_id": text,
                "matter_code": codes,
                "applicant": st.fixed_dictionaries(
                    {"person_key": person_keys, "masked_name": masked_names}
                ),
                "handling_mode": enum("handling_mode"),
                "materials": st.lists(
                    st.fixed_dictionaries(
                        {"material_id": text, "name": text, "digest_sm3": digests}
                    ),
                    max_size=4,
                ),
                "receiving_city": text,
                "submitted_at": datetimes,
            }
        )
    if kind == "case.status":
        return st.fixed_dictionaries(
            {
                "case_id": text,
                "status": enum("case_status"),
                "time": datetimes,
                "note": optional(text),
            }
        )
    if kind == "evidence.request":
        uscc_first = st.booleans()
        return uscc_first.flatmap(
            lambda by_uscc: st.fixed_dictionaries(
                {
                    "request_id": text,
                    "certificate_type": enum("certificate_type"),
                    "subject_uscc": usccs() if by_uscc else st.none(),
                    "subject_person_key": st.none() if by_uscc else person_keys,
                    "purpose": text,
                    "requester": text,
                }
            )
        )
    if kind == "evidence.response":
        return st.fixed_dictionaries(
            {
                "request_id": text,
                "certificate_type": enum("certificate_type"),
                "certificate_number": text,
                "holder": text,
                "issued_date": dates.map(date.isoformat),
                "digest_sm3": digests,
                "content_base64": st.binary(min_size=1, max_size=64).map(
                    lambda b: base64.b64encode(b).decode()
                ),
                "licence": st.none()
                | st.binary(min_size=1, max_size=64).map(lambda b: base64.b64encode(b).decode()),
            }
        )
    if kind == "error":
        return st.fixed_dictionaries({"code": text, "message": text, "field": optional(text)})
    raise AssertionError(kind)
