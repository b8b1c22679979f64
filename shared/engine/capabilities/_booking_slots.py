"""Sample slots: where sample bookings go when a limit also counts those bookings ("one firing per kiln a day", "at
most 3 court bookings a week"), so that the limit refuses none that a test or criterion means to accept.

One scheduler serves every place that books samples:
* the generated app's booking tests put their later bookings whole periods of the limit apart (`later_day`);
* the `booking.no_overlap` criterion, whose second booking of a resource starts when the first ends, moves its
  clock 12 hours on under a daily limit per resource (10:00-12:00 becomes 22:00-00:00), so that the second falls
  on the next day (`overlap_at`, `overlap_clock`; its sentence says the moved times);
* the limit criteria, filling a limit with bookings, give each row a half-hour slot of its own so that no two
  overlap as bookings (`limit_row_slot`).

A booking of a stated length ("book 90-minute slots": `slot_minutes`) refuses any other length, so every sample
booking lasts `sample_minutes` (the stated length, else two hours) and the criteria's times follow from it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

#: days between two periods of a limit (a month: 31, so the next booking falls in the next calendar month)
PERIOD_DAYS = {"day": 1, "week": 7, "month": 31, "year": 366}
#: the generated booking tests' first day (a Monday)
FIRST_DAY = date(2030, 1, 7)
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def length_words(minutes: int) -> str:
    """90 -> "90 minutes", 60 -> "1 hour", 120 -> "2 hours", 1440 -> "1 day"."""
    if minutes == 1440:
        return "1 day"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    return f"{minutes} minutes"


def sample_minutes(cap) -> int:
    """How long the sample bookings of a booking capability last, in minutes: its exact length when it states one,
    two hours (or its longest, when shorter) otherwise."""
    if getattr(cap, "slot_minutes", None):
        return cap.slot_minutes
    return min(120, getattr(cap, "max_minutes", None) or 120)


class SampleSlots:
    """The sample slots of the bookings of `entity` in `spec` (the limits that count them read once)."""

    def __init__(self, spec, entity: str):
        self.spec, self.entity = spec, entity
        self.limits = [c for c in spec.capabilities if c.kind == "limit" and c.entity == entity]
        self.booking = next((c for c in spec.capabilities if c.kind == "booking" and c.entity == entity), None)
        #: how long one sample booking lasts (the booking's stated length, else two hours)
        self.minutes = sample_minutes(self.booking) if self.booking is not None else 120

    @property
    def limited(self) -> bool:
        """Does a limit count these bookings?"""
        return bool(self.limits)

    @property
    def gap_days(self) -> int:
        """Days between two periods of the longest limit on these bookings (1 with none, or none per period)."""
        return max((PERIOD_DAYS.get(c.period, 1) for c in self.limits), default=1)

    def later_day(self, n: int) -> str:
        """The day (YYYY-MM-DD) of the generated tests' n-th later booking: `n` periods of the limit after the first
        day (the same calendar day `n` months on for a monthly one), or the first day itself with no limit."""
        if not self.limited:
            return FIRST_DAY.isoformat()
        if self.gap_days >= 365:
            return FIRST_DAY.replace(year=FIRST_DAY.year + n).isoformat()
        if self.gap_days >= 28:
            return FIRST_DAY.replace(month=FIRST_DAY.month + n).isoformat()
        return (FIRST_DAY + timedelta(days=n * self.gap_days)).isoformat()

    def overlap_shift(self, resource_field: str) -> timedelta:
        """How far the overlap criterion's clock moves: under a limit of bookings per resource a day, so far that
        the first booking (from 10:00, one sample length) ends at midnight and the booking starting when it ends
        falls on the next day (12 hours for two-hour bookings)."""
        per_day = any(c.period == "day" and c.parent_field == resource_field for c in self.limits)
        return timedelta(hours=14) - timedelta(minutes=self.minutes) if per_day else timedelta(0)

    def after(self, hhmm: str, minutes: int) -> str:
        """The clock time `minutes` after `hhmm` (HH:MM; hours past 23 are the next day's, before 00 the day
        before's: the day is the caller's to move)."""
        h, m = (int(x) for x in hhmm.split(":"))
        total = h * 60 + m + minutes
        return f"{total // 60:02d}:{total % 60:02d}" if total >= 0 else f"-{-total // 60:02d}:{-total % 60:02d}"

    def overlap_at(self, day: datetime, resource_field: str, hhmm: str) -> str:
        """The overlap criterion's moment `hhmm` of `day` (ISO, UTC), moved by `overlap_shift`."""
        sign = -1 if hhmm.startswith("-") else 1  # hours past 23 are the next day's, "-01:30" the day before's
        h, m = (int(x) for x in hhmm.lstrip("-").split(":"))
        when = day.replace(hour=0, minute=0, second=0, microsecond=0) + sign * timedelta(hours=h, minutes=m)
        return (when + self.overlap_shift(resource_field)).strftime(_ISO)

    def overlap_clock(self, resource_field: str, hhmm: str) -> str:
        """The clock time (HH:MM) the overlap criterion books for `hhmm`, on whatever day: what its sentence says."""
        return self.overlap_at(datetime(2000, 1, 1), resource_field, hhmm)[11:16]

    def limit_row_slot(self, date_field: str | None):
        """slot(body): when `date_field` is the start of a booking of these rows, give each row its own half-hour
        slot (start moved by 30 minutes per row, end 25 minutes after it), so that rows counted against a limit
        never overlap one another as bookings; other rows are left as they are."""
        booking = self.booking if self.booking is not None and self.booking.start_field == date_field else None
        count = [0]
        # a booking of a stated length lasts it; else 25 minutes (or its longest, when shorter)
        length = self.minutes if booking is not None and booking.slot_minutes else min(25, self.minutes)
        step = max(30, length + 5)

        def slot(body: dict) -> dict:
            if booking is None or not isinstance(body.get(date_field), str) or "T" not in body[date_field]:
                return body
            start = datetime.fromisoformat(body[date_field].replace("Z", "+00:00")) + timedelta(minutes=step * count[0])
            count[0] += 1
            end = start + timedelta(minutes=length)
            return {**body, date_field: start.strftime(_ISO), booking.end_field: end.strftime(_ISO)}

        return slot
