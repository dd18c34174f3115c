"""Issue 12, item 7: ``seed_demo`` fills an empty database and can run again (``make run``
is repeatable), refuses one that holds a clinic's real data unless told to, and never
changes an existing account, its password least of all."""

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from clients.models import Client
from clinic.models import DemoData, User
from clinic.roles import Role
from sessions_app.management.commands.seed_demo import DEMO_PASSWORD, STAFF
from sessions_app.models import Session
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
