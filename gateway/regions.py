"""The consortium's regions: ids, Chinese names, the protobuf enum, and their order.

The Yangtze River Delta's "three provinces and one city": Shanghai (the home side, whose
format is canonical), Jiangsu, Zhejiang and Anhui. :class:`Region` values are the trust
registry's codes and the suffixes of ``yrd.v1.Region`` (``REGION_SH`` ...); ``REGIONS`` is
the order used everywhere a list of regions is shown or iterated (home side first).
Business dates are read in :data:`TIME_ZONE` (Beijing time).

This module imports nothing from other gateway packages (only the generated protobuf code).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from gateway.pb.yrd.v1 import common_pb2
from gateway.times import BEIJING

__all__ = [
    "FROM_PB",
    "NAMES",
    "REGIONS",
    "TIME_ZONE",
    "TO_PB",
    "Region",
    "from_pb",
    "region_name",
    "to_pb",
]


class Region(StrEnum):
    """The consortium's regions; values are the registry's codes (and yrd.v1.Region names)."""

    SH = "SH"  # Shanghai
    JS = "JS"  # Jiangsu
    ZJ = "ZJ"  # Zhejiang
    AH = "AH"  # Anhui


REGIONS: tuple[Region, ...] = (Region.SH, Region.JS, Region.ZJ, Region.AH)
"""Every region, home side first: the one order for lists, pages and dev environments."""

NAMES: Mapping[Region, str] = MappingProxyType(
    {Region.SH: "上海", Region.JS: "江苏", Region.ZJ: "浙江", Region.AH: "安徽"}
)
"""The short Chinese name of each region, as shown to windows and applicants."""

TIME_ZONE = BEIJING
"""The business time zone of every region (UTC+8): deadlines and stamps are read in it."""

TO_PB: Mapping[str, common_pb2.Region] = MappingProxyType(
    {
        Region.SH: common_pb2.REGION_SH,
        Region.JS: common_pb2.REGION_JS,
        Region.ZJ: common_pb2.REGION_ZJ,
        Region.AH: common_pb2.REGION_AH,
    }
)
FROM_PB: Mapping[int, Region] = MappingProxyType({v: Region(k) for k, v in TO_PB.items()})
"""``yrd.v1.Region`` value -> region (``REGION_UNSPECIFIED`` is absent)."""


def to_pb(region: str) -> common_pb2.Region:
    """The ``yrd.v1.Region`` value of ``region`` (a :class:`Region` or its code).

    Raises ``ValueError`` for a code that is not a region.
    """
    return TO_PB[Region(region)]


def from_pb(value: int) -> Region | None:
    """The region of a ``yrd.v1.Region`` value; ``None`` for ``REGION_UNSPECIFIED`` or a
    value this gateway does not know (callers refuse with their own message)."""
    return FROM_PB.get(value)


def region_name(region: str) -> str:
    """The Chinese name of ``region``; raises ``ValueError`` for a code that is not a region."""
    return NAMES[Region(region)]
