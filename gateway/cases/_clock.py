"""Business time of cases: Beijing time (UTC+8), in which every stamp and deadline is kept.

One place for it, so that every case module dates and stamps a moment the same way.
"""

from __future__ import annotations

from datetime import date, datetime

from gateway.times import BEIJING

__all__ = ["BEIJING", "business_day", "now", "stamp"]


def now() -> datetime:
    return datetime.now(BEIJING)


def stamp(moment: datetime) -> str:
    """``moment`` in Beijing time to the second, ISO 8601 (``2024-05-06T09:30:00+08:00``)."""
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


def business_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in Beijing, the day deadlines are counted from."""
    return moment.astimezone(BEIJING).date()
