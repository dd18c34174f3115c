"""The Django admin is for managers; its protocol form keeps the age-band rule."""

import pytest
from django.urls import reverse

from clinic.roles import Role
from protocols.models import Protocol

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["clients_client", "protocols_protocol", "sessions_app_session", "clinic_user"]
)
def test_manager_can_open_admin_lists(page_as, model):
    response = page_as(Role.MANAGER).get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


def test_admin_protocol_edit_that_leaves_a_gap_is_refused(page_as):
    band = Protocol.objects.get(name="35 to 50")
    response = page_as(Role.MANAGER).post(
        reverse("admin:protocols_protocol_change", args=[band.pk]),
        {
            "name": band.name,
            "min_age": 36,
            "max_age": 50,
            "sessions_min": 10,
            "sessions_max": 15,
            "weeks_min": 4,
            "weeks_max": 7,
            "session_minutes": 45,
            "default_modality": "static",
        },
    )
    assert response.status_code == 200
    assert "No band covers ages 35 to 35" in response.content.decode()
    band.refresh_from_db()
    assert band.min_age == 35


def test_admin_protocol_edit_within_the_rules_saves(page_as):
    band = Protocol.objects.get(name="35 to 50")
    response = page_as(Role.MANAGER).post(
        reverse("admin:protocols_protocol_change", args=[band.pk]),
        {
            "name": band.name,
            "min_age": 35,
            "max_age": 50,
            "sessions_min": 12,
            "sessions_max": 15,
            "weeks_min": 4,
            "weeks_max": 7,
            "session_minutes": 50,
            "default_modality": "dynamic",
        },
    )
    assert response.status_code == 302
    band.refresh_from_db()
    assert (band.sessions_min, band.session_minutes) == (12, 50)


def test_admin_shows_plans_but_cannot_add_move_or_cancel_them(page_as, a_client, manager):
    """Plans are made and cancelled through sessions_app.plans (one active plan per
    client; cancelling tells the client), never around it in the admin."""
    from datetime import date

    from tests.factories import PlanFactory

    plan = PlanFactory(client=a_client, start_date=date(2027, 3, 1), created_by=manager)
    admin = page_as(Role.MANAGER)

    assert admin.get(reverse("admin:protocols_plan_change", args=[plan.pk])).status_code == 200
    assert admin.get(reverse("admin:protocols_plan_add")).status_code == 403
    admin.post(
        reverse("admin:protocols_plan_change", args=[plan.pk]),
        {"start_date": "2027-06-01", "cancelled_at_0": "2027-01-01", "cancelled_at_1": "10:00"},
    )
    plan.refresh_from_db()
    assert (plan.start_date, plan.cancelled_at) == (date(2027, 3, 1), None)
