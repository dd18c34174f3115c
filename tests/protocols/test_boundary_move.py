"""Managers move the age boundary two bands share in one step (no gap, no overlap)."""

import pytest
from django.urls import reverse

from clinic.errors import RuleViolation
from clinic.roles import Role
from protocols.models import Protocol
from protocols.services import protocol_move_start

pytestmark = pytest.mark.django_db


def band(name: str) -> Protocol:
    return Protocol.objects.get(name=name)


def ages() -> list[tuple[int, int | None]]:
    return list(Protocol.objects.order_by("min_age").values_list("min_age", "max_age"))


def test_moving_a_start_moves_the_end_of_the_band_below():
    protocol_move_start(protocol=band("35 to 50"), min_age=40)
    assert ages() == [(0, 39), (40, 50), (51, None)]


def test_moving_a_start_down_shrinks_the_band_below():
    protocol_move_start(protocol=band("Over 50"), min_age=46)
    assert ages() == [(0, 34), (35, 45), (46, None)]


@pytest.mark.parametrize(
    ("name", "min_age", "message"),
    [
        pytest.param("Under 35", 5, "youngest band always starts at age 0", id="youngest"),
        pytest.param("35 to 50", 0, "Under 35 would have no ages left", id="swallows-below"),
        pytest.param("35 to 50", 60, "35 to 50: the maximum age is below", id="passes-own-end"),
    ],
)
def test_a_move_that_would_empty_a_band_is_refused(name, min_age, message):
    with pytest.raises(RuleViolation) as caught:
        protocol_move_start(protocol=band(name), min_age=min_age)
    assert message in caught.value.message
    assert ages() == [(0, 34), (35, 50), (51, None)]


def test_manager_moves_a_boundary_through_the_api(api_as):
    response = api_as(Role.MANAGER).post(
        f"/api/protocols/{band('Over 50').pk}/move-start/", {"min_age": 55}, format="json"
    )
    assert response.status_code == 200
    assert [(p["min_age"], p["max_age"]) for p in response.json()] == [
        (0, 34),
        (35, 54),
        (55, None),
    ]


def test_a_refused_move_through_the_api_is_a_400_naming_min_age(api_as):
    response = api_as(Role.MANAGER).post(
        f"/api/protocols/{band('Under 35').pk}/move-start/", {"min_age": 3}, format="json"
    )
    assert response.status_code == 400
    assert "youngest band" in response.json()["min_age"][0]


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_only_managers_move_boundaries(api_as, page_as, role):
    pk = band("35 to 50").pk
    assert api_as(role).post(f"/api/protocols/{pk}/move-start/", {"min_age": 40}).status_code == 403
    assert (
        page_as(role).post(reverse("protocols:move-start", args=[pk]), {"min_age": 40}).status_code
        == 403
    )
    assert ages() == [(0, 34), (35, 50), (51, None)]


def test_manager_moves_a_boundary_from_the_protocols_page(page_as):
    browser = page_as(Role.MANAGER)
    page = browser.get(reverse("protocols:list")).content.decode()
    assert "35 to 50 starts at age" in page
    assert "Under 35 starts at age" not in page
    response = browser.post(
        reverse("protocols:move-start", args=[band("35 to 50").pk]), {"min_age": 36}, follow=True
    )
    assert "35 to 50 now starts at age 36" in response.content.decode()
    assert ages() == [(0, 35), (36, 50), (51, None)]
