"""Which registered member a window acts as: the relying party of its identity checks.

A clerk is bound to a G60 city, the city to its region (``CITIES``). The window's member is
the registered member of that region holding the member key this gateway signs the region's
case exchanges with (``keys``, as ``gateway.cases.exchanges`` picks the sender), else the
region's first registered member.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.cases._signing import member_for_key
from gateway.cases.accounts import Account, Role
from gateway.cases.errors import CaseForbidden, CaseUnavailable
from gateway.cases.model import CITIES
from gateway.registry import TrustRegistry
from ledger.crypto import PrivateKey

__all__ = ["window_member"]


def window_member(
    registry: TrustRegistry | None, account: Account, keys: Mapping[str, PrivateKey]
) -> str:
    """The member id (text) ``account``'s window acts as; window staff only."""
    city = CITIES.get(account.city or "")
    if account.role is not Role.CLERK or city is None:
        raise CaseForbidden("forbidden", "身份核验仅限受理窗口工作人员")
    if registry is None:
        raise CaseUnavailable("no_member", "成员登记册暂不可用，不能核验")
    key = keys.get(city.region)
    member = member_for_key(registry.members, city.region, key) if key is not None else None
    if member is None:
        same = (str(m.id) for m in registry.members if str(m.id.region) == city.region)
        member = next(same, None)
    if member is None:
        raise CaseUnavailable("no_member", "本窗口所在省份没有已登记的成员，不能核验")
    return member
