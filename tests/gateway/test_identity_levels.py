"""Level policy: default mapping, combinations, check_level refusals."""

from __future__ import annotations

import pytest

from gateway.identity import (
    DEFAULT_POLICY,
    AssertionRejected,
    AssuranceLevel,
    AuthMethod,
    IdentityError,
    LevelPolicy,
    assess_level,
    check_level,
)

L, S, H = AssuranceLevel.LOW, AssuranceLevel.SUBSTANTIAL, AssuranceLevel.HIGH


@pytest.mark.parametrize(
    ("methods", "level"),
    [
        (["password"], L),
        (["sms_otp"], L),
        (["face_recognition"], S),
        (["electronic_id_card"], H),
        (["usb_key"], H),
        (["password", "sms_otp"], S),
        ([AuthMethod.PASSWORD, AuthMethod.SMS_OTP, AuthMethod.USB_KEY], H),
        (["password", "face_recognition"], S),
        (["app_qr_scan"], L),
    ],
)
def test_default_policy(methods, level):
    assert assess_level(methods) is level


def test_every_canonical_method_has_a_default_level():
    assert set(DEFAULT_POLICY.methods) == set(AuthMethod)


def test_custom_policy_and_unknown_methods():
    policy = LevelPolicy({AuthMethod.PASSWORD: L})
    assert assess_level(["password"], policy) is L
    with pytest.raises(IdentityError, match="without a level in the policy: got sms_otp"):
        assess_level(["password", "sms_otp"], policy)
    with pytest.raises(IdentityError, match="authentication method"):
        assess_level(["telepathy"])
    with pytest.raises(IdentityError, match="at least one"):
        assess_level([])


def test_check_level():
    check_level(H, S)
    check_level("substantial", "substantial")
    with pytest.raises(AssertionRejected) as info:
        check_level(L, "high")
    assert info.value.reason == "level_too_low"
    assert str(info.value) == "assurance level too low: expected at least high, got low"
    with pytest.raises(IdentityError, match="required level: expected one of"):
        check_level(L, "extreme")
