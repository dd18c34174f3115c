"""Issue 12, item 7: ``seed_demo`` fills an empty database and can run again (``make run``
is repeatable), refuses one that holds a clinic's real data unless told to, and never
changes an existing account, its password least of all."""

import importlib
from datetime import date, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command

from clients.models import Client
from clinic.clinic_time import local, local_datetime
from clinic.models import DemoData, User
from clinic.roles import Role
from sessions_app.availability import fits_a_shift
from sessions_app.management.commands.seed_demo import DEMO_PASSWORD, STAFF
from sessions_app.models import DayOff, Session, TreatmentRecord, WorkingHours
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = {username for username, *_ in STAFF}


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Client.objects.count(), Session.objects.count()


def test_an_empty_database_gets_the_demo_and_its_logins_work():
    output = seed()
    assert DemoData.objects.count() == 1
    assert set(User.objects.values_list("username", flat=True)) == DEMO_USERNAMES
    assert Client.objects.count() == 30
    assert Session.objects.exists()
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.username
    assert f"password for all: {DEMO_PASSWORD}" in output
    assert "left as it is" not in output


def test_running_it_again_changes_nothing():
    seed()
    before = counts()
    output = seed()
    assert counts() == before
    assert DemoData.objects.count() == 1
    assert "left as it is" not in output


def test_an_existing_accounts_password_and_state_are_never_reset():
    seed()
    manager = User.objects.get(username="manager")
    manager.set_password("the-managers-own-secret-9")
    manager.first_name = "Mira"
    manager.save()
    User.objects.filter(username="frontdesk").update(is_active=False)

    output = seed()

    manager.refresh_from_db()
    assert manager.check_password("the-managers-own-secret-9")
    assert not manager.check_password(DEMO_PASSWORD)
    assert manager.first_name == "Mira"
    assert not User.objects.get(username="frontdesk").is_active
    assert "manager        Manager (its own password, not this one: left as it is)" in output


def test_a_database_with_real_data_is_refused_and_left_untouched():
    UserFactory(username="ops", role=Role.MANAGER)
    ClientFactory(first_name="Rhea", last_name="Stone")
    before = counts()

    with pytest.raises(CommandError) as refused:
        seed()

    assert "1 staff account and 1 client" in str(refused.value)
    assert "--allow-real-data" in str(refused.value)
    assert counts() == before
    assert not DemoData.objects.exists()
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()


def test_real_staff_alone_count_as_real_data():
    UserFactory(username="ops", role=Role.MANAGER)
    with pytest.raises(CommandError, match="1 staff account, not made by seed_demo"):
        seed()
    assert Client.objects.count() == 0


def test_told_to_it_mixes_the_demo_in_but_leaves_a_real_account_of_the_same_name():
    real = UserFactory(username="manager", role=Role.MANAGER, password="a-real-managers-pw-7")
    ClientFactory(first_name="Rhea", last_name="Stone")

    output = seed("--allow-real-data")

    real.refresh_from_db()
    assert real.check_password("a-real-managers-pw-7")
    assert "(its own password, not this one: left as it is)" in output
    assert Client.objects.filter(last_name="Stone").exists()
    assert Client.objects.count() == 31
    assert DemoData.objects.count() == 1
    before = counts()
    seed()  # now a demo database: again without the flag
    assert counts() == before


@pytest.mark.parametrize(
    ("usernames", "marked"),
    [
        ({"frontdesk", "esthetician", "esthetician2", "manager"}, True),
        ({"manager"}, True),
        ({"manager", "ops"}, False),
        (set(), False),
    ],
)
def test_a_database_seeded_before_the_mark_existed_is_marked_as_a_demo(usernames, marked):
    migration = importlib.import_module("clinic.migrations.0003_demo_data")
    for username in usernames:
        UserFactory(username=username)
    migration.mark_an_earlier_demo(apps, None)
    assert DemoData.objects.exists() is marked


def shifts_of(username: str) -> dict[int, list[tuple[time, time]]]:
    found: dict[int, list[tuple[time, time]]] = {}
    rows = WorkingHours.objects.filter(esthetician__username=username).order_by("starts_at")
    for row in rows:
        found.setdefault(row.weekday, []).append((row.starts_at, row.ends_at))
    return found


def test_the_demo_estheticians_have_a_lunch_break_on_each_working_day():
    seed()
    esme, noah = shifts_of("esthetician"), shifts_of("esthetician2")
    assert sorted(esme) == list(range(7))
    assert sorted(noah) == [1, 2, 3, 4, 5]
    for shifts in [*esme.values(), *noah.values()]:
        (_, lunch), (back, _) = shifts
        assert lunch < back  # two shifts with a break between
    assert esme[2] == [(time(9), time(12, 30)), (time(13, 30), time(18))]


# A week of seeding days (no closed day, no daylight-saving change near): whatever day
# the demo is loaded on, its sessions lie inside a shift, none in a lunch break.
@pytest.mark.parametrize("day", [date(2027, 5, 2) + timedelta(days=n) for n in range(7)])
def test_no_demo_session_falls_outside_its_estheticians_shifts(day):
    with time_machine.travel(local_datetime(day, time(8)), tick=False):
        seed()
    hours = {name: shifts_of(name) for name in ("esthetician", "esthetician2")}
    sessions = Session.objects.select_related("esthetician", "client")
    assert {local(s.start).date() for s in sessions} >= {day - timedelta(days=1), day}
    off = {(d.esthetician.username, d.date) for d in DayOff.objects.select_related("esthetician")}
    assert len(off) == 1
    for session in sessions:
        start, end = local(session.start), local(session.end)
        assert (session.esthetician.username, start.date()) not in off
        shifts = hours[session.esthetician.username].get(start.weekday(), [])
        assert fits_a_shift(start, end, shifts), f"{session.client} {start:%a %H:%M}-{end:%H:%M}"


def test_a_day_that_already_has_hours_keeps_them():
    """An earlier demo's one long shift (or a manager's hours) is never split or doubled."""
    seed()
    esme = User.objects.get(username="esthetician")
    WorkingHours.objects.filter(esthetician=esme, weekday=2).delete()
    WorkingHours.objects.create(esthetician=esme, weekday=2, starts_at=time(9), ends_at=time(18))
    WorkingHours.objects.filter(esthetician=esme, weekday=3).delete()
    seed()
    assert shifts_of("esthetician")[2] == [(time(9), time(18))]
    assert shifts_of("esthetician")[3] == [(time(9), time(12, 30)), (time(13, 30), time(18))]


def test_demo_treatment_records_are_recorded_when_their_session_ended():
    seed()
    records = TreatmentRecord.objects.select_related("session")
    assert records.exists()
    for record in records:
        assert record.recorded_at == record.session.completed_at
