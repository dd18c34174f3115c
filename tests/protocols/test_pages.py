"""The protocol pages: everyone reads the age bands; managers edit them, and the
service's refusals (gaps, overlaps, bad ranges) show on the form with nothing saved."""

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from protocols.models import Protocol
from tests.factories import ClientFactory, PlanFactory

pytestmark = pytest.mark.django_db

LIST = reverse("protocols:list")


def band(name: str) -> Protocol:
    return Protocol.objects.get(name=name)


def edit_url(protocol: Protocol) -> str:
    return reverse("protocols:edit", kwargs={"pk": protocol.pk})


def form_data(protocol: Protocol, **changes) -> dict:
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
    }
    return {**data, **changes}


def snapshot() -> list[tuple]:
    return list(
        Protocol.objects.order_by("pk").values_list(
            "name", "min_age", "max_age", "sessions_min", "sessions_max", "weeks_min", "weeks_max"
        )
    )


def body(response) -> str:
    return response.content.decode()


# The list ---------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_age_bands_and_their_numbers(page_as, role):
    response = page_as(role).get(LIST)
    assert response.status_code == 200
    html = body(response)
    assert html.count("<h1") == 1
    assert "<title>Treatment protocols" in html
    for row in [
        ("Under 35", "0 to 34", "5 sessions", "2–3 weeks"),
        ("35 to 50", "35 to 50", "10–15 sessions", "4–7 weeks"),
        ("Over 50", "51 and over", "15 sessions", "5–7 weeks"),
    ]:
        for cell in row:
            assert cell in html
    assert "45 minutes" in html
    assert "Static (electrodes stay in place)" in html
    assert "A plan copies these numbers when it is made" in html


def test_only_managers_see_edit_links(page_as):
    under_35 = edit_url(band("Under 35"))
    assert under_35 in body(page_as(Role.MANAGER).get(LIST))
    for role in (Role.FRONT_DESK, Role.ESTHETICIAN):
        html = body(page_as(role).get(LIST))
        assert under_35 not in html
        assert "Only a manager can change the bands." in html


def test_the_list_costs_the_same_queries_however_many_bands(page_as):
    browser = page_as(Role.ESTHETICIAN)
    with CaptureQueriesContext(connection) as few:
        browser.get(LIST)
    # Extra rows straight into the table: the page only reads them.
    for n in range(10):
        Protocol.objects.create(
            name=f"Extra {n}", min_age=100 + n, max_age=100 + n, sessions_min=1,
            sessions_max=1, weeks_min=1, weeks_max=1,
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        response = browser.get(LIST)
    assert "Extra 9" in body(response)
    assert len(many.captured_queries) == len(few.captured_queries)


# The edit page ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_only_managers_may_edit(page_as, role):
    protocol = band("35 to 50")
    browser = page_as(role)
    assert browser.get(edit_url(protocol)).status_code == 403
    before = snapshot()
    response = browser.post(edit_url(protocol), form_data(protocol, sessions_max=12))
    assert response.status_code == 403
    assert snapshot() == before


def test_the_edit_page_shows_the_band_and_its_neighbours(page_as):
    protocol = band("35 to 50")
    response = page_as(Role.MANAGER).get(edit_url(protocol))
    assert response.status_code == 200
    html = body(response)
    assert html.count("<h1") == 1
    assert "<title>Edit the 35 to 50 protocol" in html
    assert f'href="{LIST}"' in html
    assert 'value="35 to 50"' in html
    assert 'name="sessions_max" value="15"' in html
    assert "Under 35 (0 to 34); Over 50 (51 and over)" in html
    for label in ["From age", "To age (inclusive)", "Fewest sessions", "Most weeks"]:
        assert f">{label}" in html


def test_a_manager_saves_a_change_and_returns_to_the_list(page_as):
    protocol = band("35 to 50")
    browser = page_as(Role.MANAGER)
    data = form_data(protocol, sessions_max=12, session_minutes=50, default_modality="dynamic")
    response = browser.post(edit_url(protocol), data)
    assert response.status_code == 302
    assert response["Location"] == LIST
    protocol.refresh_from_db()
    assert (protocol.sessions_max, protocol.session_minutes) == (12, 50)
    assert protocol.default_modality == "dynamic"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("Saved 35 to 50 (ages 35 to 50).") for m in messages)
    assert "10–12 sessions" in body(browser.get(LIST))


def test_plans_already_made_keep_their_numbers_after_an_edit(page_as):
    plan = PlanFactory(client=ClientFactory(date_of_birth=date(1985, 6, 15)))
    assert plan.protocol.name == "35 to 50"
    data = form_data(plan.protocol, sessions_min=8, sessions_max=9)
    page_as(Role.MANAGER).post(edit_url(plan.protocol), data)
    plan.refresh_from_db()
    plan.protocol.refresh_from_db()
    assert (plan.protocol.sessions_min, plan.protocol.sessions_max) == (8, 9)
    assert (plan.sessions_min, plan.sessions_max) == (10, 15)


@pytest.mark.parametrize(
    ("name", "changes", "field", "message"),
    [
        (
            "Under 35",
            {"max_age": 30},
            "min_age",
            "No band covers ages 31 to 34 (between Under 35 and 35 to 50).",
        ),
        ("Under 35", {"max_age": 40}, "min_age", "Under 35 and 35 to 50 overlap."),
        ("Over 50", {"max_age": 90}, "min_age", "No band covers ages above 90."),
        (
            "35 to 50",
            {"sessions_min": 12, "sessions_max": 10},
            "sessions_max",
            "The most sessions must be at least the fewest.",
        ),
        (
            "35 to 50",
            {"weeks_min": 6, "weeks_max": 4},
            "weeks_max",
            "The most weeks must be at least the fewest.",
        ),
        (
            "Under 35",
            {"sessions_min": 20, "sessions_max": 30},
            "sessions_max",
            "that many sessions do not fit in the weeks",
        ),
    ],
)
def test_a_refused_edit_shows_the_reason_and_saves_nothing(page_as, name, changes, field, message):
    protocol = band(name)
    before = snapshot()
    response = page_as(Role.MANAGER).post(edit_url(protocol), form_data(protocol, **changes))
    assert response.status_code == 200
    html = body(response)
    assert "Please correct the error below." in html
    errors = html.split(f'id="id_{field}_error"')[1].split("</ul>")[0]
    assert message in errors
    assert snapshot() == before


def test_a_refused_edit_keeps_what_was_typed(page_as):
    protocol = band("Under 35")
    response = page_as(Role.MANAGER).post(edit_url(protocol), form_data(protocol, max_age=30))
    html = body(response)
    assert 'name="max_age" value="30"' in html
    assert "<h1>Edit the Under 35 protocol</h1>" in html


def test_a_name_another_band_has_is_refused(page_as):
    protocol = band("Under 35")
    before = snapshot()
    response = page_as(Role.MANAGER).post(edit_url(protocol), form_data(protocol, name="Over 50"))
    assert response.status_code == 200
    assert "Protocol with this Name already exists." in body(response)
    assert snapshot() == before


def test_missing_numbers_are_form_errors(page_as):
    protocol = band("Under 35")
    response = page_as(Role.MANAGER).post(edit_url(protocol), form_data(protocol, weeks_min=""))
    assert response.status_code == 200
    assert "This field is required." in body(response)


def test_an_unknown_protocol_is_404(page_as):
    url = reverse("protocols:edit", kwargs={"pk": 9999})
    assert page_as(Role.MANAGER).get(url).status_code == 404
