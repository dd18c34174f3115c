"""The slot guard: one path for every write that takes or moves a slot (a single
booking, a whole series, a reschedule). SPEC: double booking of an esthetician, a
room, a device or a client is impossible, and a clash answers 409 naming what clashed.

Each writer builds one ``SlotGuard`` over the span it touches, asks ``check`` (400 for a
slot that cannot be booked whatever else is booked, 409 for a clash), then hands its
insert or update to ``write``. On PostgreSQL the exclusion constraints refuse an
overlap that a concurrent booking committed after our check; ``write`` turns that
constraint error into the same clash list. On SQLite the IMMEDIATE write lock taken at
``BEGIN`` serialises writers, so the check itself holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, OperationalError, transaction

from clinic.errors import BookingClash, RuleViolation
from sessions_app.availability import Clash, Diary
from sessions_app.db import resource_of_constraint

T = TypeVar("T")

# PostgreSQL's deadlock_detected. Two bookings inserting into one slot at the same
# instant can each wait, in the exclusion check, on the other's uncommitted row; the
# database aborts one. Tried again in a fresh savepoint, it waits for the other to end
# and then meets the constraint (a 409) or the free slot, instead of answering 503.
DEADLOCK = "40P01"
DEADLOCK_TRIES = 3


def _retrying_deadlocks(do: Callable[[], T]) -> T:
    for attempt in range(1, DEADLOCK_TRIES + 1):
        try:
            with transaction.atomic():
                return do()
        except OperationalError as exc:
            cause = exc.__cause__
            code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
            if code != DEADLOCK or attempt == DEADLOCK_TRIES:
                raise
    raise AssertionError("unreachable")


def clash_error(clashes: Sequence[Clash]) -> BookingClash:
    what = " ".join(c.message for c in clashes)
    return BookingClash(f"The slot is taken: {what}", [c.as_dict() for c in clashes])


class SlotGuard:
    """The diary of one client, esthetician, room and device over a span, and the
    guarded write that takes slots in it."""

    def __init__(
        self,
        *,
        client,
        esthetician,
        room,
        device,
        span_start: datetime,
        span_end: datetime,
        exclude: Iterable[int] = (),
    ):
        self._args = dict(
            client=client,
            esthetician=esthetician,
            room=room,
            device=device,
            span_start=span_start,
            span_end=span_end,
            exclude=tuple(exclude),
        )
        self.diary = Diary(**self._args)

    def check(
        self,
        start: datetime,
        end: datetime,
        *,
        now: datetime,
        one_per_day: bool = False,
        field: str = "start",
    ) -> None:
        """Raise ``RuleViolation`` (400, on ``field``) for a slot that is impossible
        (past, closed, outside hours) or ``BookingClash`` (409) for one that is taken."""
        problems = self.diary.problems(start, end, now=now)
        if problems:
            raise RuleViolation(" ".join(problems), field=field)
        clashes = self.diary.clashes(start, end, one_per_day=one_per_day)
        if clashes:
            raise clash_error(clashes)

    def write(
        self,
        do: Callable[[], T],
        *,
        slots: Sequence[tuple[datetime, datetime]],
        one_per_day: bool = False,
    ) -> T:
        """Run ``do`` (the insert or update) under the database's own guard. Someone
        who took one of ``slots`` since our check gets named, from a fresh diary."""
        try:
            return _retrying_deadlocks(do)
        except IntegrityError as exc:
            resource = resource_of_constraint(
                getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            )
            if resource is None:
                raise
            fresh = Diary(**self._args)
            clashes = [
                c
                for start, end in slots
                for c in fresh.clashes(start, end, one_per_day=one_per_day)
            ]
            if clashes:
                raise clash_error(clashes) from exc
            raise BookingClash(
                f"The {resource} was booked by someone else at the same moment. "
                "Nothing was booked.",
                [{"resource": resource, "session": None, "message": "Booked concurrently."}],
            ) from exc
