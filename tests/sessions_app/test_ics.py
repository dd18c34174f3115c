"""The calendar file on confirmation emails, read back with the icalendar library from
the email as it goes out: one VEVENT per session at its clinic-local time across
daylight-saving changes (with the VTIMEZONE that says so), a stable UID per session
across emails, SEQUENCE rising on each change, and METHOD:CANCEL after a cancellation."""

from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy

import pytest
import time_machine
from django.core import mail
from icalendar import Calendar

from sessions_app.models import Session
from sessions_app.reminders import reminders_dispatch
from sessions_app.services import series_book, session_book, session_cancel, session_reschedule
from tests.factories import PlanFactory
from tests.sessions_app.helpers import LA, at, screen

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
SERIES_START = date(2027, 3, 1)  # clocks spring forward on Sunday 2027-03-14
MON, THU = 0, 3


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ours(clock, a_client, esthetician, working_hours, room, device):
    screen(a_client)
    return {"client": a_client, "esthetician": esthetician, "room": room, "device": device}


@pytest.fixture
def series(ours) -> list[Session]:
    """Ten sessions on Mondays and Thursdays at 10:00 from 2027-03-01, across DST."""
    plan = PlanFactory(
        client=ours["client"], start_date=SERIES_START, created_by=ours["esthetician"]
    )
    return series_book(
        plan=plan,
        esthetician=ours["esthetician"],
        room=ours["room"],
        device=ours["device"],
        at=time(10, 0),
        weekdays=[MON, THU],
        by=ours["esthetician"],
    )


def sent_calendars() -> list[tuple[str, Calendar]]:
    """Send what is due; each calendar attached to what went out, with the ``method``
    of its part's Content-Type, parsed from the email's bytes."""
    mail.outbox.clear()
    reminders_dispatch()
    found = []
    for message in mail.outbox:
        wire = message_from_bytes(message.message().as_bytes(), policy=policy.default)
        for part in wire.walk():
            if part.get_content_type() == "text/calendar":
                assert part.get_filename() == "sessions.ics"
                found.append(
                    (
                        part["Content-Type"].params["method"],
                        Calendar.from_ical(part.get_payload(decode=True)),
                    )
                )
    return found


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in events(calendar)}


def test_a_series_confirmation_has_one_event_per_session(series):
    ((method, calendar),) = sent_calendars()

    found = events(calendar)
    assert len(found) == len(series) == 10
    assert len(by_uid(calendar)) == 10
    assert [e.decoded("DTSTART") for e in found] == [s.start for s in series]
    assert [e.decoded("DTEND") - e.decoded("DTSTART") for e in found] == [
        timedelta(minutes=45)
    ] * 10
    assert str(calendar["METHOD"]) == "REQUEST"
    assert method == "REQUEST"
    assert {str(e["STATUS"]) for e in found} == {"CONFIRMED"}
    assert {e.decoded("SEQUENCE") for e in found} == {0}
    assert {str(e["LOCATION"]) for e in found} == {"210 Valencia Street, San Francisco, CA 94103"}
    # iTIP: a REQUEST names its organizer, so calendar programs accept updates from it.
    assert {str(e["ORGANIZER"]) for e in found} == {"mailto:clinic@example.com"}
    assert {e["ORGANIZER"].params["CN"] for e in found} == {"Lumen Microcurrent Studio"}


def test_event_times_are_clinic_local_across_spring_forward(series):
    ((_, calendar),) = sent_calendars()

    starts = [e["DTSTART"] for e in events(calendar)]
    assert {s.params["TZID"] for s in starts} == {"America/Los_Angeles"}
    assert {s.dt.time() for s in starts} == {time(10, 0)}
    # 10:00 PST is 18:00 UTC, 10:00 PDT is 17:00 UTC.
    utc_hours = {s.dt.date(): s.dt.astimezone(UTC).hour for s in starts}
    assert {h for d, h in utc_hours.items() if d < date(2027, 3, 14)} == {18}
    assert {h for d, h in utc_hours.items() if d > date(2027, 3, 14)} == {17}


def test_the_vtimezone_carries_the_clinics_daylight_saving_rules(series):
    """A calendar app that knows no zone names still places each session right."""
    ((_, calendar),) = sent_calendars()

    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "America/Los_Angeles"
    assert {c.name for c in vtimezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    zone_from_file = vtimezone.to_tz(lookup_tzid=False)
    for event, session in zip(events(calendar), series, strict=True):
        wall_clock = event["DTSTART"].dt.replace(tzinfo=None)
        assert wall_clock.replace(tzinfo=zone_from_file) == session.start


@pytest.mark.parametrize(
    ("start", "utc_hour"),
    [
        pytest.param(datetime(2026, 10, 29, 10, 0, tzinfo=LA), 17, id="thursday-before-fall-back"),
        pytest.param(datetime(2026, 11, 2, 10, 0, tzinfo=LA), 18, id="monday-after-fall-back"),
    ],
)
def test_a_single_session_across_fall_back_keeps_its_local_time(
    clock, a_client, esthetician, working_hours, room, device, start, utc_hour
):
    clock.move_to(datetime(2026, 10, 20, 9, 0, tzinfo=LA))
    screen(a_client)
    session = session_book(
        client=a_client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=start,
        by=esthetician,
    )

    ((_, calendar),) = sent_calendars()

    (event,) = events(calendar)
    assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert event["DTSTART"].dt.time() == time(10, 0)
    assert event["DTSTART"].dt.astimezone(UTC).hour == utc_hour
    assert event.decoded("DTSTART") == session.start
    assert str(event["UID"]).startswith(f"session-{session.pk}@")
    assert calendar.walk("VTIMEZONE")


def test_uid_stays_and_sequence_rises_across_emails_until_cancel(clock, ours, series):
    moved = series[2]
    ((_, booked),) = sent_calendars()
    uid = str(events(booked)[2]["UID"])
    clock.shift(timedelta(hours=1))

    session_reschedule(
        session=moved, start=at(moved.start.astimezone(LA).date(), "14:00"), by=ours["esthetician"]
    )
    ((rescheduled_method, rescheduled),) = sent_calendars()
    clock.shift(timedelta(hours=1))
    moved.refresh_from_db()
    session_cancel(session=moved, by=ours["esthetician"])
    ((cancelled_method, cancelled),) = sent_calendars()

    (after_move,) = events(rescheduled)
    (after_cancel,) = events(cancelled)
    assert str(after_move["UID"]) == str(after_cancel["UID"]) == uid
    assert [e.decoded("SEQUENCE") for e in (events(booked)[2], after_move, after_cancel)] == [
        0,
        1,
        2,
    ]
    assert after_move["DTSTART"].dt.time() == time(14, 0)
    assert (str(rescheduled["METHOD"]), str(after_move["STATUS"])) == ("REQUEST", "CONFIRMED")
    assert (str(cancelled["METHOD"]), str(after_cancel["STATUS"])) == ("CANCEL", "CANCELLED")
    assert rescheduled_method == "REQUEST"
    assert cancelled_method == "CANCEL"
