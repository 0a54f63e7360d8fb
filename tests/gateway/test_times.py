"""gateway.times: the business time zone and protobuf Timestamps as aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.times import (
    BEIJING,
    MAX_SECONDS,
    MIN_SECONDS,
    TimestampRangeError,
    from_timestamp,
    timestamp_from_seconds,
    to_timestamp,
    utc_now,
)


def test_beijing_is_utc_plus_8_all_year():
    for month in (1, 7):
        moment = datetime(2026, month, 1, tzinfo=BEIJING)
        assert moment.utcoffset() == timedelta(hours=8)
    assert datetime(2026, 1, 1, tzinfo=BEIJING).isoformat() == "2026-01-01T00:00:00+08:00"


def test_utc_now_is_aware_utc():
    before = datetime.now(UTC)
    now = utc_now()
    assert now.utcoffset() == timedelta(0) and before <= now <= datetime.now(UTC)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 5, 1, 8, 30, 15, 123456, tzinfo=BEIJING),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # negative seconds
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=["beijing", "before-epoch", "min", "max"],
)
def test_round_trip_keeps_the_instant(moment):
    ts = to_timestamp(moment)
    back = from_timestamp(ts)
    assert back == moment and back.tzinfo is UTC


def test_the_timestamp_counts_from_the_epoch_in_utc():
    ts = to_timestamp(datetime(2025, 1, 1, 8, tzinfo=BEIJING))
    assert (ts.seconds, ts.nanos) == (1_735_689_600, 0)
    # naive is read as UTC, as the protobuf runtime (and the partner client) always did
    assert to_timestamp(datetime(2025, 1, 1)) == ts


def test_timestamp_from_seconds_keeps_the_fraction():
    ts = timestamp_from_seconds(1_700_000_000.5)
    assert (ts.seconds, ts.nanos) == (1_700_000_000, 500_000_000)


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (MAX_SECONDS + 1, 0),
        (MIN_SECONDS - 1, 0),
        (0, -1),
        (0, 1_000_000_000),
        (2**62, 0),
    ],
    ids=["after-9999", "before-year-1", "negative-nanos", "nanos-overflow", "huge"],
)
def test_out_of_range_timestamp_is_refused_precisely(seconds, nanos):
    with pytest.raises(TimestampRangeError) as info:
        from_timestamp(Timestamp(seconds=seconds, nanos=nanos))
    assert (info.value.seconds, info.value.nanos) == (seconds, nanos)
    assert f"timestamp ({seconds}s, {nanos}ns) is outside" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_the_range_edges_are_accepted():
    assert from_timestamp(Timestamp(seconds=MIN_SECONDS)) == datetime(1, 1, 1, tzinfo=UTC)
    top = from_timestamp(Timestamp(seconds=MAX_SECONDS, nanos=999_999_999))
    assert top == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
