"""Words and access (issue 13, item 7): staff read about the client in the third person,
labels never codes, no internal ids in messages, and a 403 that says once, in words,
what the role may not do."""

import re

import pytest
from django.urls import reverse

from clients.rules import ELIGIBLE_REASON, REASONS
from clinic.roles import PERMISSION_WORDS, PERMISSIONS, Role, role_refusal
from sessions_app.booking import plan_label
from tests.factories import PlanFactory, ReminderFactory

SECOND_PERSON = re.compile(r"\b(you|your|yours|we|us|our)\b", re.IGNORECASE)


@pytest.mark.parametrize("reason", [*REASONS.values(), ELIGIBLE_REASON])
def test_eligibility_reasons_speak_of_the_client_not_to_them(reason):
    assert not SECOND_PERSON.search(reason), reason
    assert "client" in reason


def test_every_permission_says_in_words_what_it_allows():
    assert set(PERMISSION_WORDS) == set(PERMISSIONS)
    for permission, words in PERMISSION_WORDS.items():
        assert not re.search(r"[._]", words), permission


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "path", "permission"),
    [
        (Role.FRONT_DESK, "/manage/", "resources.manage"),
        (Role.ESTHETICIAN, "/clients/new/", "clients.edit"),
        (Role.FRONT_DESK, "/reminders/", "reminders.view"),
    ],
)
def test_the_403_page_says_once_in_words_what_the_role_may_not_do(page_as, role, path, permission):
    response = page_as(role).get(path)
    assert response.status_code == 403
    html = response.content.decode()
    sentence = role_refusal(Role(role).label, permission)
    assert html.count("may not") == 1
    assert sentence.replace("'", "&#x27;") in html
    assert permission not in html


@pytest.mark.django_db
def test_a_plan_is_named_by_its_start_and_band_not_its_id():
    plan = PlanFactory(pk=7311)
    label = plan_label(plan)
    assert "7311" not in label
    assert plan.protocol.name in label


@pytest.mark.django_db
def test_the_reminder_list_captions_its_filters_in_words(page_as):
    ReminderFactory(kind="booking_confirmation", status="failed")
    response = page_as(Role.MANAGER).get(
        reverse("sessions:reminders"), {"kind": "booking_confirmation", "status": "failed"}
    )
    html = response.content.decode()
    assert "Reminder emails, Failed, Booking confirmation</caption>" in html
    assert 'aria-label="Emails by status (Booking confirmation)"' in html
