"""Finding 9: sign-in has a lockout per account and per client address (real ``yrdgw serve``).

Before: 40 wrong passwords in under 7 s, then the right one was accepted.
"""

from __future__ import annotations

import pytest

from tests.adversarial.webclient import PASSWORD, make_accounts, sign_in


@pytest.fixture
def gateway(serve):
    make_accounts(serve.root)
    return serve.start().wait_ready(timeout=120)


def test_forty_wrong_passwords_lock_the_account_and_the_right_one_is_refused(gateway):
    base = gateway.http_url
    statuses = [sign_in(base, "suzhou", f"wrong-{n}").status_code for n in range(40)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    refused = sign_in(base, "suzhou", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "token" not in refused.text
    # the lock is the account's: another account from the same address still signs in
    assert sign_in(base, "auditor", PASSWORD).status_code == 200


def test_an_address_spraying_many_usernames_is_locked(gateway):
    base = gateway.http_url
    statuses = [sign_in(base, f"guess-{n:03d}", "123456").status_code for n in range(25)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    # unknown names are throttled like known ones; now the address is locked for everyone
    refused = sign_in(base, "suzhou", PASSWORD)
    assert refused.status_code == 429
    assert "该地址已暂时锁定" in refused.json()["error"]["message"]
    assert gateway.healthz() == 200
