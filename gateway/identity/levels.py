"""Level-of-assurance policy: which canonical authentication methods reach which level.

The default policy (:data:`DEFAULT_METHOD_LEVELS`, :data:`DEFAULT_COMBINATION_LEVELS`)
follows the eIDAS idea that a level reflects the strongest evidence presented:

============================  ===========
password, sms_otp             low
app_qr_scan                   low
face_recognition              substantial
digital_certificate           substantial
password + sms_otp            substantial
electronic_id_card            high
usb_key (enterprise CA)       high
e_business_licence            high
============================  ===========

The level of a set of methods is the highest of: each method's own level, and the level of
every listed combination contained in the set. The trust registry may carry its own mapping;
pass it as ``policy``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.identity._enums import AssuranceLevel, AuthMethod
from gateway.identity.errors import AssertionRejected, IdentityError

__all__ = [
    "DEFAULT_COMBINATION_LEVELS",
    "DEFAULT_METHOD_LEVELS",
    "DEFAULT_POLICY",
    "LevelPolicy",
    "assess_level",
    "check_level",
]

DEFAULT_METHOD_LEVELS: Mapping[AuthMethod, AssuranceLevel] = MappingProxyType(
    {
        AuthMethod.PASSWORD: AssuranceLevel.LOW,
        AuthMethod.SMS_OTP: AssuranceLevel.LOW,
        AuthMethod.APP_QR_SCAN: AssuranceLevel.LOW,
        AuthMethod.FACE_RECOGNITION: AssuranceLevel.SUBSTANTIAL,
        AuthMethod.DIGITAL_CERTIFICATE: AssuranceLevel.SUBSTANTIAL,
        AuthMethod.ELECTRONIC_ID_CARD: AssuranceLevel.HIGH,
        AuthMethod.USB_KEY: AssuranceLevel.HIGH,
        AuthMethod.E_BUSINESS_LICENCE: AssuranceLevel.HIGH,
    }
)

DEFAULT_COMBINATION_LEVELS: Mapping[frozenset[AuthMethod], AssuranceLevel] = MappingProxyType(
    {
        frozenset({AuthMethod.PASSWORD, AuthMethod.SMS_OTP}): AssuranceLevel.SUBSTANTIAL,
    }
)


@dataclass(frozen=True)
class LevelPolicy:
    """A mapping of methods and method combinations to levels.

    A method missing from ``methods`` has no level: :meth:`level_for` refuses it rather
    than guess.
    """

    methods: Mapping[AuthMethod, AssuranceLevel]
    combinations: Mapping[frozenset[AuthMethod], AssuranceLevel] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def level_for(self, methods: Iterable[AuthMethod | str]) -> AssuranceLevel:
        """The level reached by using all of ``methods`` together."""
        try:
            used = frozenset(AuthMethod(m) for m in methods)
        except ValueError as exc:
            raise IdentityError(f"authentication method: {exc}") from None
        if not used:
            raise IdentityError("authentication methods: expected at least one, got none")
        unknown = sorted(m.value for m in used if m not in self.methods)
        if unknown:
            raise IdentityError(
                f"authentication method without a level in the policy: got {', '.join(unknown)}"
            )
        levels = [self.methods[m] for m in used]
        levels += [lvl for combo, lvl in self.combinations.items() if combo <= used]
        return max(levels)


DEFAULT_POLICY = LevelPolicy(DEFAULT_METHOD_LEVELS, DEFAULT_COMBINATION_LEVELS)


def assess_level(
    methods: Iterable[AuthMethod | str], policy: LevelPolicy = DEFAULT_POLICY
) -> AssuranceLevel:
    """The level ``policy`` gives to ``methods`` used together (default: the YRD policy)."""
    return policy.level_for(methods)


def check_level(identity_level: AssuranceLevel | str, required_level: AssuranceLevel | str) -> None:
    """Refuse an identity below the level a matter requires.

    Raises :class:`AssertionRejected` with reason ``level_too_low`` when
    ``identity_level < required_level``; :class:`IdentityError` for an unknown level name.
    """
    have = _level(identity_level, "identity level")
    need = _level(required_level, "required level")
    if have < need:
        raise AssertionRejected(
            "level_too_low",
            f"assurance level too low: expected at least {need.value}, got {have.value}",
        )


def _level(value: AssuranceLevel | str, label: str) -> AssuranceLevel:
    try:
        return AssuranceLevel(value)
    except ValueError:
        allowed = ", ".join(lvl.value for lvl in AssuranceLevel)
        raise IdentityError(f"{label}: expected one of {allowed}, got {value!r}") from None
