"""A protocol's numbers have bounds, kept in one place (issue 9, rule 6): a session length
of 15 to 180 minutes, at least one session and one week, the most never below the
fewest. The API (JSON and form-encoded) and the edit page refuse the same input with the
same message, naming the field; nothing is saved.

Before this, ``PATCH /api/protocols/{id}/`` with ``session_minutes: 0`` was accepted and a
plan made from the band then broke booking with a 500."""

from urllib.parse import urlencode

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from clinic.errors import RuleViolation
from clinic.roles import Role
from protocols.models import Protocol
from protocols.rules import SESSION_MINUTES
from protocols.services import protocol_update

pytestmark = pytest.mark.django_db

LENGTH = "A session lasts from 15 to 180 minutes."
SESSIONS = "A series has from 1 to 100 sessions."
WEEKS = "A series runs over 1 to 52 weeks."
AGE = "An age is a whole number of years from 0 to 150."
MOST_WEEKS = "The most weeks must be at least the fewest."
MOST_SESSIONS = "The most sessions must be at least the fewest."

# (changes to "35 to 50", the field named, its message)
REFUSED = [
    pytest.param({"session_minutes": 0}, "session_minutes", LENGTH, id="session_minutes-0"),
    pytest.param({"session_minutes": 14}, "session_minutes", LENGTH, id="session_minutes-14"),
    pytest.param({"session_minutes": 181}, "session_minutes", LENGTH, id="session_minutes-181"),
    pytest.param({"session_minutes": -5}, "session_minutes", LENGTH, id="session_minutes-neg"),
    pytest.param({"sessions_min": 0}, "sessions_min", SESSIONS, id="sessions_min-0"),
    pytest.param({"sessions_min": -1}, "sessions_min", SESSIONS, id="sessions_min-neg"),
    pytest.param({"sessions_max": 101}, "sessions_max", SESSIONS, id="sessions_max-101"),
    pytest.param({"weeks_min": 0}, "weeks_min", WEEKS, id="weeks_min-0"),
    pytest.param({"weeks_max": 53}, "weeks_max", WEEKS, id="weeks_max-53"),
    pytest.param({"weeks_min": 6, "weeks_max": 5}, "weeks_max", MOST_WEEKS, id="weeks-max<min"),
    pytest.param(
        {"sessions_min": 12, "sessions_max": 11}, "sessions_max", MOST_SESSIONS, id="sessions"
    ),
    pytest.param({"max_age": 151}, "max_age", AGE, id="max_age-151"),
    pytest.param({"min_age": 40000}, "min_age", AGE, id="min_age-huge"),
]


def band(name: str = "35 to 50") -> Protocol:
    return Protocol.objects.get(name=name)


def snapshot() -> list[tuple]:
    return list(
        Protocol.objects.order_by("pk").values_list(
            "name",
            "min_age",
            "max_age",
            "sessions_min",
            "sessions_max",
            "weeks_min",
            "weeks_max",
            "session_minutes",
        )
    )


def patch(api, protocol: Protocol, changes: dict, content: str):
    url = f"/api/protocols/{protocol.pk}/"
    if content == "json":
        return api.patch(url, changes, format="json")
    return api.patch(url, urlencode(changes), content_type="application/x-www-form-urlencoded")


def page_post(browser, protocol: Protocol, changes: dict):
    data = {
        "name": protocol.name,
        "min_age": protocol.min_age,
        "max_age": "" if protocol.max_age is None else protocol.max_age,
        "sessions_min": protocol.sessions_min,
        "sessions_max": protocol.sessions_max,
        "weeks_min": protocol.weeks_min,
        "weeks_max": protocol.weeks_max,
        "session_minutes": protocol.session_minutes,
        "default_modality": protocol.default_modality,
        **changes,
    }
    return browser.post(reverse("protocols:edit", kwargs={"pk": protocol.pk}), data)


@pytest.mark.parametrize("content", ["json", "form"])
@pytest.mark.parametrize(("changes", "field", "message"), REFUSED)
def test_the_api_refuses_a_number_out_of_bounds(api_as, content, changes, field, message):
    before = snapshot()

    response = patch(api_as(Role.MANAGER), band(), changes, content)

    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert snapshot() == before


@pytest.mark.parametrize(("changes", "field", "message"), REFUSED)
def test_the_edit_page_refuses_it_with_the_same_message(page_as, changes, field, message):
    before = snapshot()

    response = page_post(page_as(Role.MANAGER), band(), changes)

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assert snapshot() == before


@pytest.mark.parametrize(("changes", "field", "message"), REFUSED)
def test_the_service_refuses_it_with_the_same_message(changes, field, message):
    before = snapshot()

    with pytest.raises(RuleViolation) as caught:
        protocol_update(protocol=band(), **changes)

    assert (caught.value.field, caught.value.message) == (field, message)
    assert snapshot() == before


@pytest.mark.parametrize("minutes", [SESSION_MINUTES.low, SESSION_MINUTES.high])
def test_the_edges_of_the_session_length_are_saved(api_as, minutes):
    response = patch(api_as(Role.MANAGER), band(), {"session_minutes": minutes}, "json")

    assert response.status_code == 200, response.json()
    assert band().session_minutes == minutes


def test_one_session_over_one_week_is_a_valid_band(api_as):
    changes = {"sessions_min": 1, "sessions_max": 1, "weeks_min": 1, "weeks_max": 1}

    response = patch(api_as(Role.MANAGER), band(), changes, "form")

    assert response.status_code == 200, response.json()
    assert (band().sessions_min, band().weeks_max) == (1, 1)


def test_a_zero_session_length_can_no_longer_reach_a_plan(api_as, a_client):
    """The walk-through: PATCH session_minutes 0, then make a plan and book it (500)."""
    manager = api_as(Role.MANAGER)
    patch(manager, band("Under 35"), {"session_minutes": 0}, "json")
    patch(manager, band("35 to 50"), {"session_minutes": 0}, "form")
    patch(manager, band("Over 50"), {"session_minutes": 0}, "json")

    assert set(Protocol.objects.values_list("session_minutes", flat=True)) == {45}


def test_the_schema_states_the_bounds(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    for name in ("ProtocolRequest", "PatchedProtocolRequest"):
        properties = schema["components"]["schemas"][name]["properties"]
        minutes = properties["session_minutes"]
        assert (minutes["minimum"], minutes["maximum"]) == (15, 180)
        assert properties["sessions_min"]["minimum"] == 1
        assert properties["weeks_min"]["minimum"] == 1
        assert properties["max_age"]["nullable"] is True
