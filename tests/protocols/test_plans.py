"""Plans: the protocol follows the client's age on the plan's start date, and the plan
keeps the protocol's numbers as they were when it was made."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.errors import RuleViolation
from clinic.roles import Role
from protocols.models import Plan, Protocol
from protocols.services import protocol_for_age, protocol_update
from sessions_app.plans import plan_create
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def make_plan(api_as):
    api = api_as(Role.ESTHETICIAN)

    def post(born: date, start: date):
        client = ClientFactory(date_of_birth=born)
        return api.post(
            "/api/plans/", {"client": client.pk, "start_date": start.isoformat()}, format="json"
        )

    return post


# Age bands at the edges --------------------------------------------------------------

TURNS_35 = date(1992, 3, 10)  # 35 on 2027-03-10
TURNS_51 = date(1976, 3, 10)  # 51 on 2027-03-10
BIRTHDAY = date(2027, 3, 10)
DAY = timedelta(days=1)

# (born, plan start, age on the start date, protocol); the id says when the birthday falls.
EDGES = [
    pytest.param(TURNS_35, BIRTHDAY - DAY, 34, "Under 35", id="35th-the-day-after-start"),
    pytest.param(TURNS_35, BIRTHDAY, 35, "35 to 50", id="35th-on-start"),
    pytest.param(TURNS_35, BIRTHDAY + DAY, 35, "35 to 50", id="35th-the-day-before-start"),
    pytest.param(TURNS_51, BIRTHDAY - DAY, 50, "35 to 50", id="51st-the-day-after-start"),
    pytest.param(TURNS_51, BIRTHDAY, 51, "Over 50", id="51st-on-start"),
    pytest.param(TURNS_51, BIRTHDAY + DAY, 51, "Over 50", id="51st-the-day-before-start"),
]


@pytest.mark.parametrize(("born", "start", "age", "protocol"), EDGES)
def test_plan_protocol_follows_age_on_the_start_date(make_plan, born, start, age, protocol):
    response = make_plan(born, start)

    assert response.status_code == 201, response.json()
    assert (response.json()["age_at_start"], response.json()["protocol"]) == (age, protocol)


@pytest.mark.parametrize(
    ("start", "age", "protocol"),
    [
        pytest.param(date(2035, 2, 28), 34, "Under 35", id="28-feb"),
        pytest.param(date(2035, 3, 1), 35, "35 to 50", id="1-mar"),
    ],
)
def test_plan_for_a_29_february_birthday_changes_protocol_on_1_march(
    make_plan, start, age, protocol
):
    response = make_plan(date(2000, 2, 29), start)

    assert response.status_code == 201, response.json()
    assert (response.json()["age_at_start"], response.json()["protocol"]) == (age, protocol)


@pytest.mark.parametrize(
    ("born", "numbers"),
    [
        pytest.param(date(2000, 1, 1), (5, 5, 2, 3), id="under-35"),
        pytest.param(date(1985, 6, 15), (10, 15, 4, 7), id="35-to-50"),
        pytest.param(date(1960, 1, 1), (15, 15, 5, 7), id="over-50"),
    ],
)
def test_plan_answers_the_protocols_session_and_week_ranges(make_plan, born, numbers):
    body = make_plan(born, date(2027, 2, 1)).json()

    assert (body["sessions_min"], body["sessions_max"], body["weeks_min"], body["weeks_max"]) == (
        numbers
    )


def test_plan_starting_in_the_past_is_refused(make_plan):
    response = make_plan(date(1985, 6, 15), date(2027, 1, 3))

    assert response.status_code == 400
    assert "past" in response.json()["start_date"][0]
    assert not Plan.objects.exists()


def test_plan_may_start_today(make_plan):
    response = make_plan(date(1985, 6, 15), NOW.date())

    assert response.status_code == 201


def test_protocol_for_an_age_no_band_covers_is_a_rule_violation():
    Protocol.objects.filter(name="Over 50").delete()

    with pytest.raises(RuleViolation, match="No protocol covers age 60"):
        protocol_for_age(60)


# The snapshot ----------------------------------------------------------------------------


@pytest.fixture
def plan(esthetician):
    client = ClientFactory(date_of_birth=date(1985, 6, 15))  # 41: "35 to 50"
    return plan_create(client=client, start_date=date(2027, 2, 1), by=esthetician)


def test_plan_copies_the_protocols_numbers(plan):
    assert (
        plan.sessions_min,
        plan.sessions_max,
        plan.weeks_min,
        plan.weeks_max,
        plan.session_minutes,
        plan.modality,
    ) == (10, 15, 4, 7, 45, "static")


def test_editing_a_protocol_does_not_change_a_plan_already_made(plan):
    protocol_update(
        protocol=plan.protocol,
        sessions_min=12,
        sessions_max=14,
        weeks_min=5,
        weeks_max=6,
        session_minutes=60,
        default_modality="dynamic",
    )

    plan.refresh_from_db()
    assert (
        plan.sessions_min,
        plan.sessions_max,
        plan.weeks_min,
        plan.weeks_max,
        plan.session_minutes,
        plan.modality,
    ) == (10, 15, 4, 7, 45, "static")


def test_plan_api_still_answers_the_numbers_it_was_made_with(plan, api_as):
    protocol_update(protocol=plan.protocol, sessions_min=12, weeks_max=6)

    body = api_as(Role.ESTHETICIAN).get(f"/api/plans/{plan.pk}/").json()

    assert (body["sessions_min"], body["weeks_max"]) == (10, 7)


def test_a_plan_made_after_the_edit_takes_the_new_numbers(plan, esthetician):
    protocol_update(protocol=plan.protocol, sessions_min=12, weeks_max=6)

    # After the first plan's window (7 weeks from Feb 1): one active plan at a time.
    later = plan_create(client=plan.client, start_date=date(2027, 4, 5), by=esthetician)

    assert (later.sessions_min, later.weeks_max) == (12, 6)
