"""Working-day calendar: public holidays and adjusted working days (放假调休).

Government-service time limits are mostly counted in working days (工作日; the
Administrative Licensing Law, art. 82, counts its limits in working days, excluding
statutory holidays). A working day is a day that is

1. a make-up working day (调休上班日, a Saturday or Sunday announced as a working day), or
2. not a public holiday and not a weekend day (Saturday, Sunday).

The schedule is data: ``gateway/matters/data/calendar_cn.json`` holds the State Council
General Office notices for 2025 and 2026, each with its source; a deployment adds the next
year's notice in ``<data_dir>/calendar.json`` (``CalendarFile`` reloads it without a restart;
the format is in ``docs/calendar.md``). Outside the years a calendar covers only the weekend
rule applies, and that is a guess: ``missing_years()`` names the years a count runs through
without data, so that callers mark what they computed from it as provisional.

Counting convention (the same as for deadlines: a limit runs from the day after intake):

- ``add_working_days(start, n)`` is the n-th working day after ``start`` (``start`` itself
  is not counted; ``n == 0`` gives ``start``; negative ``n`` counts backwards).
- ``working_days_between(a, b)`` counts the working days ``d`` with ``a < d <= b``
  (negative when ``b < a``), so ``add_working_days(a, working_days_between(a, b)) <= b``.
- ``natural_to_working_days(start, n)`` is the number of working days among the ``n``
  natural days after ``start``: ``working_days_between(start, start + n days)``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.errors import Code, Error
from ledger import boundedjson

__all__ = [
    "CalendarError",
    "CalendarFile",
    "WorkdayCalendar",
    "add_working_days",
    "bundled_data",
    "default_calendar",
    "is_working_day",
    "natural_to_working_days",
    "overlay",
    "read_data",
    "working_days_between",
    "working_to_natural_days",
]

log = logging.getLogger("gateway.workdays")

_DEFAULT_DATA = ("gateway.matters.data", "calendar_cn.json")
_FORMAT = "yrd-workday-calendar/1"
_TOP_KEYS = {"format", "title", "sources", "weekend", "years"}
_YEAR = re.compile(r"(19|20|21)[0-9]{2}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_BYTES = 1 << 20
_MAX_HOLIDAY_DAYS = 15  # the longest break so far is 9 days (Spring Festival 2026)
_NEAR = timedelta(days=31)  # a make-up day may fall just outside its notice's year


class CalendarError(Error, ValueError):
    """The calendar data is malformed or inconsistent (the message names the entry)."""

    code = Code.CALENDAR


@dataclass(frozen=True)
class WorkdayCalendar:
    """An immutable working-day calendar.

    ``holidays`` maps each public holiday to its name; ``makeup_workdays`` maps each
    make-up working day to the holiday it compensates; ``years`` are the years whose
    official schedule is included; ``weekend`` holds ``date.weekday()`` numbers (5, 6).
    """

    holidays: Mapping[date, str] = field(default_factory=dict)
    makeup_workdays: Mapping[date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    weekend: frozenset[int] = frozenset({5, 6})

    def __post_init__(self) -> None:
        both = sorted(set(self.holidays) & set(self.makeup_workdays))
        if both:
            raise CalendarError(f"date is both a holiday and a make-up workday: {both[0]}")

    # -- loading -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkdayCalendar:
        """Build a calendar from the ``yrd-workday-calendar/1`` structure (``docs/calendar.md``).

        Checked strictly: unknown keys, a malformed date, a range out of order or off its
        year, a date listed twice, a make-up day that is not a weekend day or names no holiday
        of its year are each refused with a :class:`CalendarError` naming the entry.
        """
        return _parse(data)

    @classmethod
    def load(cls, path: str | Path | None = None) -> WorkdayCalendar:
        """Load a calendar file; without ``path``, the bundled 2025-2026 PRC schedule."""
        if path is None:
            return cls.from_dict(bundled_data())
        return cls.from_dict(read_data(Path(path)))

    # -- queries -------------------------------------------------------------------

    def covers(self, day: date) -> bool:
        """True if the official schedule for ``day``'s year is in this calendar."""
        return day.year in self.years

    def missing_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years from ``first`` to ``last`` (inclusive) with no schedule in this calendar:
        a count over those days is a guess on weekends only."""
        if last < first:
            first, last = last, first
        return tuple(y for y in range(first.year, last.year + 1) if y not in self.years)

    def holiday_name(self, day: date) -> str | None:
        return self.holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (before it if ``n < 0``)."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days ``d`` with ``a < d <= b``; the negated count if ``b < a``."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for d in _days(a + timedelta(days=1), b) if self.is_working_day(d))

    def natural_to_working_days(self, start: date, natural_days: int) -> int:
        """How many working days the ``natural_days`` days after ``start`` contain."""
        if natural_days < 0:
            raise CalendarError(f"natural days must be >= 0, got {natural_days}")
        return self.working_days_between(start, start + timedelta(days=natural_days))

    def working_to_natural_days(self, start: date, working_days: int) -> int:
        """Natural days from ``start`` to the ``working_days``-th working day after it."""
        if working_days < 0:
            raise CalendarError(f"working days must be >= 0, got {working_days}")
        return (self.add_working_days(start, working_days) - start).days


def bundled_data() -> dict[str, Any]:
    """The bundled ``yrd-workday-calendar/1`` document (the notices this release knows)."""
    text = resources.files(_DEFAULT_DATA[0]).joinpath(_DEFAULT_DATA[1]).read_text("utf-8")
    return _json(text.encode("utf-8"), _DEFAULT_DATA[1])


def read_data(path: str | Path) -> dict[str, Any]:
    """A calendar file's JSON document; :class:`CalendarError` if it is not one."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CalendarError(f"calendar file {path.name}: cannot read: {exc.strerror}") from exc
    return _json(raw, path.name)


def overlay(base: Mapping[str, Any], extra: Mapping[str, Any]) -> WorkdayCalendar:
    """``base`` with the years of ``extra`` added (a year in both is taken from ``extra``).

    ``extra`` is checked on its own first, so its errors name its own entries; its
    ``weekend``, if given, replaces the base's.
    """
    _parse(extra)
    merged = dict(base)
    merged["years"] = {**base.get("years", {}), **extra["years"]}
    if "weekend" in extra:
        merged["weekend"] = extra["weekend"]
    return _parse(merged)


def _json(raw: bytes, name: str) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise CalendarError(f"calendar file {name}: key {key!r} appears twice")
            out[key] = value
        return out

    try:
        data = boundedjson.loads(raw, max_bytes=_MAX_BYTES, object_pairs_hook=no_duplicates)
    except boundedjson.JsonLimitError as exc:
        raise CalendarError(f"calendar file {name}: {exc}") from exc
    if not isinstance(data, dict):
        raise CalendarError(f"calendar file {name}: expected a json object")
    return data


def _parse(data: Mapping[str, Any]) -> WorkdayCalendar:
    """The strict reading of a ``yrd-workday-calendar/1`` document (see ``from_dict``).

    (1) the envelope: format, known keys, weekend;
    (2) each year: its holidays, expanded day by day, no day twice;
    (3) each year: its make-up working days, weekend days named after a holiday of the year.
    """
    # (1): the envelope
    if not isinstance(data, Mapping):
        raise CalendarError("calendar: expected a json object")
    if data.get("format") != _FORMAT:
        raise CalendarError(f"calendar format: expected {_FORMAT!r}, got {data.get('format')!r}")
    _keys(data, "calendar", required={"format", "years"}, allowed=_TOP_KEYS)
    weekend_raw = data.get("weekend", [5, 6])
    if (
        not isinstance(weekend_raw, list)
        or not all(type(x) is int and 0 <= x <= 6 for x in weekend_raw)
        or len(set(weekend_raw)) != len(weekend_raw)
    ):
        raise CalendarError(f"weekend: expected distinct weekday numbers 0-6, got {weekend_raw!r}")
    weekend = frozenset(weekend_raw)
    years_raw = data["years"]
    if not isinstance(years_raw, Mapping) or not years_raw:
        raise CalendarError("years: expected a non-empty object of years")
    holidays: dict[date, str] = {}
    makeups: dict[date, str] = {}
    where: dict[date, str] = {}  # the entry that listed each day, for messages
    years: set[int] = set()
    for year_text, spec in years_raw.items():
        if not (isinstance(year_text, str) and _YEAR.fullmatch(year_text)):
            raise CalendarError(f"years.{year_text}: expected a four-digit year 1900-2199")
        year = int(year_text)
        years.add(year)
        entry = f"years.{year}"
        if not isinstance(spec, Mapping):
            raise CalendarError(f"{entry}: expected an object")
        _keys(spec, entry, required={"holidays"}, allowed={"holidays", "makeup_workdays"})
        # (2): holidays
        items = spec["holidays"]
        if not isinstance(items, list) or not items:
            raise CalendarError(f"{entry}.holidays: expected a non-empty list")
        names: set[str] = set()
        for i, h in enumerate(items):
            at = f"{entry}.holidays[{i}]"
            _keys(h, at, required={"name", "from", "to"}, allowed={"name", "from", "to"})
            name = _name(h["name"], at)
            at = f"{at} ({name})"
            first, last = _date(h["from"], f"{at}.from"), _date(h["to"], f"{at}.to")
            if last < first:
                raise CalendarError(f"{at}: bad range: from {first} is after to {last}")
            if year not in (first.year, last.year) or (last - first).days >= _MAX_HOLIDAY_DAYS:
                raise CalendarError(
                    f"{at}: bad range {first}..{last}: must touch {year} and last under "
                    f"{_MAX_HOLIDAY_DAYS} days"
                )
            names.add(name)
            for d in _days(first, last):
                if d in where:
                    raise CalendarError(f"{at}: {d} is already listed by {where[d]}")
                holidays[d], where[d] = name, at
        # (3): make-up working days
        items = spec.get("makeup_workdays", [])
        if not isinstance(items, list):
            raise CalendarError(f"{entry}.makeup_workdays: expected a list")
        for i, m in enumerate(items):
            at = f"{entry}.makeup_workdays[{i}]"
            _keys(m, at, required={"name", "date"}, allowed={"name", "date"})
            name = _name(m["name"], at)
            at = f"{at} ({name})"
            d = _date(m["date"], f"{at}.date")
            if not date(year, 1, 1) - _NEAR <= d <= date(year, 12, 31) + _NEAR:
                raise CalendarError(f"{at}: {d} is not in or next to {year}")
            if d.weekday() not in weekend:
                raise CalendarError(f"{at}: {d} is a {d:%A}, not a weekend day")
            if name not in names:
                raise CalendarError(f"{at}: names no holiday of {year}")
            if d in where:
                kind = "a holiday and a make-up workday" if d in holidays else "listed twice"
                raise CalendarError(f"{at}: date is both {kind}: {d} (see {where[d]})")
            makeups[d], where[d] = name, at
    return WorkdayCalendar(holidays, makeups, frozenset(years), weekend)


def _keys(obj: Any, at: str, *, required: set[str], allowed: set[str]) -> None:
    if not isinstance(obj, Mapping):
        raise CalendarError(f"{at}: expected an object")
    missing = sorted(required - set(obj))
    if missing:
        raise CalendarError(f"{at}: missing {', '.join(missing)}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise CalendarError(f"{at}: unknown key {unknown[0]!r}")


def _name(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise CalendarError(f"{at}.name: expected a holiday name (1-40 characters)")
    return value


def _date(value: Any, at: str) -> date:
    if not (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        raise CalendarError(f"{at}: expected a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CalendarError(f"{at}: no such day {value!r}") from None


def _days(first: date, last: date) -> Iterable[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


@cache
def default_calendar() -> WorkdayCalendar:
    """The bundled PRC calendar (2025-2026), loaded once."""
    return WorkdayCalendar.load()


def is_working_day(day: date) -> bool:
    return default_calendar().is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    return default_calendar().add_working_days(start, n)


def working_days_between(a: date, b: date) -> int:
    return default_calendar().working_days_between(a, b)


def natural_to_working_days(start: date, natural_days: int) -> int:
    return default_calendar().natural_to_working_days(start, natural_days)


def working_to_natural_days(start: date, working_days: int) -> int:
    return default_calendar().working_to_natural_days(start, working_days)


class CalendarFile:
    """The calendar in use: the bundled notices overlaid by a deployment's file, reloaded
    whenever that file changes (``<data_dir>/calendar.json``, see ``docs/calendar.md``).

    :meth:`check` costs one ``stat`` when nothing changed. A file that fails the checks is
    refused with an error log naming the entry, and the calendar in use is kept; ``error``
    holds the refusal until a good file replaces it. A removed file falls back to the
    bundled notices, as a restart would.
    """

    def __init__(self, path: Path, base: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self._base = dict(base) if base is not None else bundled_data()
        self.current = _parse(self._base)
        self.error: str | None = None
        self._seen: tuple[int, int, int] | None = None
        self.check()

    def check(self) -> bool:
        """Reload the file if it changed; True if the calendar in use was replaced."""
        try:
            st = self.path.stat()
            seen: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            seen = None
        if seen == self._seen:
            return False
        self._seen = seen
        if seen is None:
            self.current, self.error = _parse(self._base), None
            log.warning("calendar file %s removed: using the bundled calendar", self.path)
            return True
        try:
            calendar = overlay(self._base, read_data(self.path))
        except CalendarError as exc:
            self.error = str(exc)
            log.error("calendar file %s refused, the calendar in use is kept: %s", self.path, exc)
            return False
        self.current, self.error = calendar, None
        log.info(
            "calendar file %s loaded: years %s",
            self.path, ", ".join(str(y) for y in sorted(calendar.years)),
        )  # fmt: skip
        return True
