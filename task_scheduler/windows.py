"""Run windows: the hours of the week the queue may start tasks, in a form a person writes.

``"Mon-Fri 23:00-07:30; Sat,Sun 00:00-24:00"``: rules separated by ``;`` (or new lines), each a
list of days (``Mon``..``Sun``, ranges like ``Fri-Mon``, ``daily``) and one or more time ranges
(``HH:MM-HH:MM``, comma-separated). A range whose end is not after its start runs past midnight
into the next day (``Mon 23:00-07:30`` ends Tuesday 07:30). Times are the WebUI machine's wall
clock in ``tz`` (None: the system's local time), daylight-saving changes included.

Why windows are resolved into concrete instants (epoch seconds) instead of compared by wall time:
on the autumn night the clock shows 02:00-03:00 twice, a window ``01:00-04:00`` must stay open
throughout, and on the spring night a window opening at 02:30 (a time that does not exist that
day) opens when the clock jumps to 03:00. Each window of each day is one interval
``[start, end)``; overlapping and touching intervals merge, so ``Sat,Sun 00:00-24:00`` is one
48-hour stretch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Optional

from .errors import InvalidTaskData

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ALIASES = {
    "daily": tuple(range(7)),
    "every day": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}
_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
#: how far ahead :meth:`RunWindows.next_change` looks (a week of rules repeats; DST adds a day)
_HORIZON_DAYS = 9


@dataclass(frozen=True)
class Rule:
    """One window: on ``days`` (0 = Monday), from ``start`` to ``end`` minutes after midnight."""

    days: tuple[int, ...]
    start: int
    end: int

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


def _minutes(hours: str, minutes: str, where: str) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m):
        raise InvalidTaskData(where, f"{hours}:{minutes} is not a time of day (00:00 to 24:00)")
    return h * 60 + m


def _day(name: str, where: str) -> int:
    word = name.strip().lower()
    key = word[:3]
    if key not in DAYS or not _FULL[DAYS.index(key)].startswith(word):
        raise InvalidTaskData(where, f"{name.strip()!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
    return DAYS.index(key)


def _days(text: str, where: str) -> tuple[int, ...]:
    text = text.strip()
    if text.lower() in _DAY_ALIASES:
        return _DAY_ALIASES[text.lower()]
    chosen: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part:
            first, last = (_day(x, where) for x in part.split("-", 1))
            span = (last - first) % 7
            chosen.extend((first + i) % 7 for i in range(span + 1))
        else:
            chosen.append(_day(part, where))
    if not chosen:
        raise InvalidTaskData(where, "names no day (e.g. 'Mon-Fri 23:00-07:30')")
    return tuple(sorted(set(chosen)))


def parse(text: str) -> list[Rule]:
    """The rules written in ``text``; an empty text has none (no windows: always open).

    Raises :class:`InvalidTaskData` naming the rule and what is wrong with it.
    """
    rules: list[Rule] = []
    parts = [p.strip() for p in re.split(r"[;\n]", text or "") if p.strip()]
    for number, part in enumerate(parts, 1):
        where = f"windows rule {number} ({part!r})"
        match = re.match(r"^(.*?)\s*((?:\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*,?\s*)+)$", part)
        if match is None:
            raise InvalidTaskData(where, "must be days then times, e.g. 'Mon-Fri 23:00-07:30'")
        days_text, times_text = match.group(1), match.group(2)
        days = _days(days_text, where) if days_text.strip() else _DAY_ALIASES["daily"]
        for span in filter(None, (s.strip() for s in times_text.split(","))):
            found = _TIME_RANGE.match(span)
            if found is None:
                raise InvalidTaskData(where, f"{span!r} is not a time range like 23:00-07:30")
            start = _minutes(found.group(1), found.group(2), where)
            end = _minutes(found.group(3), found.group(4), where)
            if start == 1440:
                raise InvalidTaskData(where, "a window cannot start at 24:00")
            if start == end:
                raise InvalidTaskData(where, f"{span!r} is empty (use 00:00-24:00 for a whole day)")
            rules.append(Rule(days, start, end))
    return rules


def describe(rules: list[Rule]) -> str:
    """The rules written back in the form :func:`parse` reads (days grouped, ranges merged)."""
    grouped: dict[tuple[int, ...], list[str]] = {}
    for rule in rules:
        grouped.setdefault(rule.days, []).append(f"{_hhmm(rule.start)}-{_hhmm(rule.end)}")
    return "; ".join(f"{_day_list(days)} {', '.join(spans)}" for days, spans in grouped.items())


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_list(days: tuple[int, ...]) -> str:
    if days == tuple(range(7)):
        return "Daily"
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    names = [d.capitalize() for d in DAYS]
    return ",".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}-{names[r[-1]]}" for r in runs)


def resolve_tz(name: str | None) -> Optional[tzinfo]:
    """The time zone called ``name`` (IANA, e.g. ``Europe/Berlin``); None or "" for local time."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTaskData("timezone", f"{name!r} is not a known time zone (e.g. Europe/Berlin)") from None


class RunWindows:
    """The windows as intervals of real time: open or not at an instant, and until when."""

    def __init__(self, rules: list[Rule], tz: Optional[tzinfo] = None) -> None:
        self.rules = list(rules)
        self.tz = tz

    @classmethod
    def from_text(cls, text: str, tz_name: str | None = None) -> RunWindows:
        return cls(parse(text), resolve_tz(tz_name))

    @property
    def always_open(self) -> bool:
        return not self.rules

    # -- wall clock <-> instants --------------------------------------------------------------

    def local(self, ts: float) -> datetime:
        """``ts`` as the wall clock shows it (naive local time when no zone is set)."""
        if self.tz is None:
            return datetime.fromtimestamp(ts)
        return datetime.fromtimestamp(ts, self.tz)

    def _instant(self, wall: datetime, first: bool) -> float:
        """The instant the wall clock shows ``wall`` (a naive datetime).

        Shown twice (autumn): the first time when ``first``, else the second. Never shown
        (spring): when the clock jumps past it.
        """
        a = self._epoch(wall, 0)
        b = self._epoch(wall, 1)
        if a == b:
            return a
        low, high = min(a, b), max(a, b)
        if self._wall(low) == wall and self._wall(high) == wall:  # shown twice
            return low if first else high
        # in a gap: the first instant whose wall time is not before ``wall``
        lo, hi = int(low), int(high) + 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._wall(mid) >= wall:
                hi = mid
            else:
                lo = mid
        return float(hi)

    def _epoch(self, wall: datetime, fold: int) -> float:
        if self.tz is None:
            return wall.replace(fold=fold).timestamp()
        return wall.replace(tzinfo=self.tz, fold=fold).timestamp()

    def _wall(self, ts: float) -> datetime:
        return self.local(ts).replace(tzinfo=None, fold=0)

    def _at(self, day: date, minutes: int, first: bool) -> float:
        wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
        return self._instant(wall, first)

    # -- intervals ----------------------------------------------------------------------------

    def intervals(
        self, around: float, days_before: int = 2, days_after: int = _HORIZON_DAYS
    ) -> list[tuple[float, float]]:
        """Merged ``(start, end)`` intervals of the windows from a few days before ``around`` on."""
        today = self.local(around).date()
        spans: list[tuple[float, float]] = []
        for offset in range(-days_before, days_after + 1):
            day = today + timedelta(days=offset)
            for rule in self.rules:
                if day.weekday() not in rule.days:
                    continue
                start = self._at(day, rule.start, first=True)
                end_day = day + timedelta(days=1) if rule.overnight and rule.end != 0 else day
                end_minutes = rule.end if rule.end else 1440
                end = self._at(end_day, end_minutes, first=False)
                if end > start:
                    spans.append((start, end))
        spans.sort()
        merged: list[tuple[float, float]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def is_open(self, ts: float) -> bool:
        if self.always_open:
            return True
        return any(start <= ts < end for start, end in self.intervals(ts, days_after=1))

    def next_change(self, ts: float) -> float | None:
        """When the window next opens (now closed) or closes (now open); None: never (no rules)."""
        if self.always_open:
            return None
        for start, end in self.intervals(ts):
            if start <= ts < end:
                return end
            if start > ts:
                return start
        return None
