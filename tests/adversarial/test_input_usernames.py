"""Finding 7 for accounts: a username pattern anchored with ``$`` let a trailing newline in."""

from __future__ import annotations

import pytest

from gateway.cases.accounts import Accounts, Role
from gateway.cases.errors import CaseInvalid
from gateway.cases.store import CaseStore


@pytest.mark.parametrize("name", ["suzhou\n", "suzhou\r\n", "\nsuzhou", "su zhou", "SUZHOU"])
def test_usernames_are_matched_whole(case_database, name):
    store = CaseStore(case_database)
    try:
        accounts = Accounts(store)
        with pytest.raises(CaseInvalid) as info:
            accounts.create(name, "long enough password", role=Role.AUDITOR, display_name="a")
        assert info.value.field == "username"
        accounts.create("suzhou", "long enough password", role=Role.AUDITOR, display_name="a")
    finally:
        store.close()
