"""Editing the age bands: the seeded protocols, the rules an edit must keep (no gap, no
overlap, sensible ranges), and who may edit them through the API."""

import pytest

from clinic.errors import RuleViolation
from clinic.roles import Role
from protocols.models import Protocol
from protocols.services import protocol_update

pytestmark = pytest.mark.django_db


def band(name: str) -> Protocol:
    return Protocol.objects.get(name=name)


def test_migration_seeds_the_three_age_bands_from_the_spec():
    rows = Protocol.objects.values_list(
        "name", "min_age", "max_age", "sessions_min", "sessions_max", "weeks_min", "weeks_max"
    )

    assert list(rows) == [
        ("Under 35", 0, 34, 5, 5, 2, 3),
        ("35 to 50", 35, 50, 10, 15, 4, 7),
        ("Over 50", 51, None, 15, 15, 5, 7),
    ]


def test_everyone_reads_the_protocols_with_the_contract_fields(api_as):
    response = api_as(Role.FRONT_DESK).get("/api/protocols/")

    assert response.status_code == 200
    first = response.json()[0]
    assert {"name", "min_age", "max_age", "sessions_min", "sessions_max"} <= first.keys()
    assert {"weeks_min", "weeks_max"} <= first.keys()
    assert [p["name"] for p in response.json()] == ["Under 35", "35 to 50", "Over 50"]


# The service -------------------------------------------------------------------------


def test_protocol_update_saves_a_valid_edit():
    protocol_update(protocol=band("35 to 50"), sessions_max=14, session_minutes=50)

    edited = band("35 to 50")
    assert (edited.sessions_max, edited.session_minutes) == (14, 50)


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        pytest.param("35 to 50", {"min_age": 34}, "Under 35 and 35 to 50 overlap.", id="overlap"),
        pytest.param("Under 35", {"max_age": 40}, "Under 35 and 35 to 50 overlap.", id="overlap-2"),
        pytest.param(
            "35 to 50",
            {"min_age": 36},
            "No band covers ages 35 to 35 (between Under 35 and 35 to 50).",
            id="gap",
        ),
        pytest.param(
            "35 to 50",
            {"max_age": 49},
            "No band covers ages 50 to 50 (between 35 to 50 and Over 50).",
            id="gap-2",
        ),
        pytest.param("Under 35", {"min_age": 18}, "No band covers ages 0 to 17.", id="gap-below"),
        pytest.param("Over 50", {"max_age": 90}, "No band covers ages above 90.", id="closed-top"),
    ],
)
def test_protocol_update_refuses_overlaps_and_gaps(name, change, problem):
    with pytest.raises(RuleViolation) as caught:
        protocol_update(protocol=band(name), **change)

    assert problem in caught.value.message
    assert caught.value.field == "min_age"


def test_refused_protocol_update_changes_nothing():
    with pytest.raises(RuleViolation):
        protocol_update(protocol=band("35 to 50"), min_age=34, sessions_max=12)

    unchanged = band("35 to 50")
    assert (unchanged.min_age, unchanged.sessions_max) == (35, 15)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"sessions_min": 12, "sessions_max": 11}, "sessions_max", id="sessions"),
        pytest.param({"weeks_min": 6, "weeks_max": 5}, "weeks_max", id="weeks"),
        pytest.param({"sessions_max": 50, "weeks_max": 7}, "sessions_max", id="too-many-a-day"),
    ],
)
def test_protocol_update_refuses_ranges_that_make_no_sense(change, field):
    with pytest.raises(RuleViolation) as caught:
        protocol_update(protocol=band("35 to 50"), **change)

    assert caught.value.field == field


# The API ------------------------------------------------------------------------------------


def test_manager_edits_a_protocol(api_as):
    protocol = band("35 to 50")

    response = api_as(Role.MANAGER).patch(
        f"/api/protocols/{protocol.pk}/", {"sessions_max": 14}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["sessions_max"] == 14
    assert band("35 to 50").sessions_max == 14


@pytest.mark.parametrize("role", [Role.ESTHETICIAN, Role.FRONT_DESK])
def test_only_managers_may_edit_a_protocol(api_as, role):
    protocol = band("35 to 50")

    response = api_as(role).patch(
        f"/api/protocols/{protocol.pk}/", {"sessions_max": 14}, format="json"
    )

    assert response.status_code == 403
    assert band("35 to 50").sessions_max == 15


def test_protocol_edit_that_leaves_a_gap_is_a_400(api_as):
    protocol = band("35 to 50")

    response = api_as(Role.MANAGER).patch(
        f"/api/protocols/{protocol.pk}/", {"min_age": 36}, format="json"
    )

    assert response.status_code == 400
    assert "No band covers ages 35 to 35" in response.json()["min_age"][0]
    assert band("35 to 50").min_age == 35


def test_protocol_edit_that_overlaps_is_a_400(api_as):
    protocol = band("Over 50")

    response = api_as(Role.MANAGER).patch(
        f"/api/protocols/{protocol.pk}/", {"min_age": 45}, format="json"
    )

    assert response.status_code == 400
    assert "overlap" in response.json()["min_age"][0]
    assert band("Over 50").min_age == 51


def test_protocol_edit_with_fewer_most_sessions_than_fewest_is_a_400(api_as):
    protocol = band("35 to 50")

    response = api_as(Role.MANAGER).patch(
        f"/api/protocols/{protocol.pk}/", {"sessions_max": 9}, format="json"
    )

    assert response.status_code == 400
    assert "sessions_max" in response.json()
