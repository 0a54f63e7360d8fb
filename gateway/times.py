"""Time helpers: the business time zone, the clock, and protobuf Timestamps as datetimes.

Every moment the gateway handles is an aware ``datetime``. Business dates (deadlines, case
stamps, dialect dates) are read in Beijing time (UTC+8, no daylight saving); instants on
the wire are ``google.protobuf.Timestamp`` (seconds and nanoseconds since the Unix epoch,
UTC). A Timestamp holds values that ``datetime`` cannot (seconds beyond years 1-9999, or
nanoseconds outside ``0..999_999_999``): :func:`from_timestamp` refuses those with
:class:`TimestampRangeError` instead of letting the protobuf runtime fail its own way.

This module imports nothing from other gateway packages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from gateway.errors import Code, Error

__all__ = [
    "BEIJING",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "TimestampRangeError",
    "check_timestamp",
    "from_timestamp",
    "timestamp_from_seconds",
    "to_timestamp",
    "utc_now",
]

BEIJING = timezone(timedelta(hours=8))
"""China Standard Time, UTC+8 all year: the time zone of every business date and stamp."""

# google.protobuf.Timestamp's valid range is also datetime's: 0001-01-01T00:00:00Z to
# 9999-12-31T23:59:59.999999999Z.
MIN_SECONDS = -62_135_596_800
MAX_SECONDS = 253_402_300_799
_MAX_NANOS = 999_999_999


class TimestampRangeError(Error, ValueError):
    """A protobuf Timestamp outside datetime's range (years 1-9999) or with bad nanoseconds.

    ``seconds`` and ``nanos`` are the values refused.
    """

    code = Code.TIMESTAMP_RANGE

    def __init__(self, seconds: int, nanos: int) -> None:
        self.seconds = seconds
        self.nanos = nanos
        super().__init__(
            f"timestamp ({seconds}s, {nanos}ns) is outside the protobuf Timestamp range: "
            f"expected seconds in [{MIN_SECONDS}, {MAX_SECONDS}] and nanos in [0, {_MAX_NANOS}]"
        )


def utc_now() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC)


def check_timestamp(ts: Timestamp) -> None:
    """Raise :class:`TimestampRangeError` unless ``ts`` is a datetime-representable instant."""
    if not (MIN_SECONDS <= ts.seconds <= MAX_SECONDS and 0 <= ts.nanos <= _MAX_NANOS):
        raise TimestampRangeError(ts.seconds, ts.nanos)


def from_timestamp(ts: Timestamp) -> datetime:
    """The aware UTC datetime of ``ts`` (microsecond precision: nanoseconds are truncated).

    Raises :class:`TimestampRangeError` when ``ts`` is outside the range (see module doc).
    """
    check_timestamp(ts)
    return ts.ToDatetime(tzinfo=UTC)


def to_timestamp(moment: datetime) -> Timestamp:
    """A Timestamp for ``moment``, to the microsecond.

    An aware datetime is converted from its own offset; a naive one is read as UTC, as the
    protobuf runtime's ``FromDatetime`` (and the partner client, since its first release)
    has always read it.
    """
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def timestamp_from_seconds(seconds: float) -> Timestamp:
    """A Timestamp for a Unix time in seconds (``time.time()``), to float precision."""
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts
