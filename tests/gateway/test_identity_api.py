"""Public surface of gateway.identity and gateway.ops.privacy: honest __all__, no import cycles."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import subprocess
import sys

import pytest

import gateway.identity as identity
import gateway.ops.privacy as privacy
from gateway.identity import errors

_MISSING = object()

MODULES = [
    "gateway.identity",
    "gateway.identity.assertion",
    "gateway.identity.errors",
    "gateway.identity.levels",
    "gateway.identity.model",
    "gateway.identity.pseudonym",
    "gateway.identity.validation",
    "gateway.ops.privacy",
]


def _isort_key(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions: the order ruff's RUF022 keeps."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_honest(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=_isort_key)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"


def test_package_reexports_resolve_to_their_modules():
    """Every name the package exports is the very object one of its submodules defines (no
    stale copy or shadowing alias in ``__init__``)."""
    submodules = [
        importlib.import_module(f"gateway.identity.{info.name}")
        for info in pkgutil.iter_modules(identity.__path__)
    ]
    for attr in identity.__all__:
        value = getattr(identity, attr)
        homes = [m.__name__ for m in submodules if m.__dict__.get(attr, _MISSING) is value]
        assert homes, f"gateway.identity.{attr} is not the object of any submodule"


@pytest.mark.parametrize("first", ["gateway.ops.privacy", "gateway.identity", *MODULES[1:-1]])
def test_each_module_imports_first_in_a_fresh_interpreter(first):
    """Catches cycles between gateway.ops.privacy and gateway.identity."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {first}; import gateway.identity, gateway.ops.privacy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_error_tree():
    assert issubclass(errors.IdentityError, ValueError)
    for leaf in (errors.InvalidIdNumber, errors.InvalidCreditCode, errors.AssertionRejected):
        assert issubclass(leaf, errors.IdentityError)
    assert errors.REJECTION_REASONS == {
        "replay",
        "revoked",
        "wrong_subject_kind",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "level_too_low",
        "invalid_id_number",
        "unknown_issuer",
        "malformed",
    }
    with pytest.raises(ValueError, match="unknown rejection reason"):
        errors.AssertionRejected("because", "x")


def test_assertion_rejected_pickles_with_its_reason():
    exc = errors.AssertionRejected("expired", "assertion expired: exp 1, now 2")
    again = pickle.loads(pickle.dumps(exc))
    assert (again.reason, str(again)) == ("expired", "assertion expired: exp 1, now 2")


def test_privacy_exports():
    assert set(privacy.__all__) == {
        "MaskingFilter",
        "contains_raw_credit_code",
        "contains_raw_id_number",
        "mask_id_number",
        "mask_name",
        "mask_phone",
        "mask_uscc",
        "scrub",
    }
