"""Correcting a treatment record (issue 13, item 5): the author or a manager, others 403;
every version kept in the record's history and shown in words on the session page."""

import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Conflict, RuleViolation
from clinic.roles import Role
from sessions_app import services
from sessions_app.client_data import client_erase, client_export
from sessions_app.models import Session, TreatmentRecord
from sessions_app.treatment import MAY_NOT_CORRECT, treatment_correct, treatment_corrections
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

RECORDED = {
    "modality": "dynamic",
    "intensity_microamps": 240,
    "frequency_hz": Decimal("1.20"),
    "duration_minutes": 40,
    "areas": ["jawline"],
    "add_ons": ["led"],
    "notes": "Ana said the jaw felt tight.",
}


@pytest.fixture
def completed(esthetician):
    """Ana's session an hour ago, completed by ``esthetician`` through the service."""
    start = timezone.now() - timedelta(hours=1)
    session = SessionFactory(
        esthetician=esthetician,
        start=start,
        end=start + timedelta(minutes=45),
        status=Session.Status.CHECKED_IN,
        client__first_name="Ana",
        client__last_name="Lopez",
    )
    return services.session_complete(session=session, by=esthetician, **RECORDED)


@pytest.fixture
def colleague(db):
    return UserFactory(username="est-other", role=Role.ESTHETICIAN, first_name="Cleo")


def record_of(session) -> TreatmentRecord:
    return TreatmentRecord.objects.get(session=session)


def test_completing_a_session_keeps_the_first_version(completed, esthetician):
    versions = list(record_of(completed).history.all())
    assert [(v.history_type, v.history_user, v.intensity_microamps) for v in versions] == [
        ("+", esthetician, 240)
    ]


def test_the_author_corrects_and_the_history_keeps_who_when_why_and_what(completed, esthetician):
    treatment_correct(
        session=completed,
        by=esthetician,
        reason="Intensity typed wrong",
        intensity_microamps=260,
        add_ons=["led", "facial"],
    )

    record = record_of(completed)
    assert (record.intensity_microamps, record.add_ons) == (260, ["led", "facial"])
    assert record.modality == "dynamic"  # fields not sent stay as they were
    old, new = record.history.order_by("history_id")
    assert (old.intensity_microamps, old.add_ons) == (240, ["led"])
    assert (new.history_type, new.history_user, new.history_change_reason) == (
        "~",
        esthetician,
        "Intensity typed wrong",
    )
    [correction] = treatment_corrections(record=record)
    assert correction.reason == "Intensity typed wrong"
    assert correction.by == esthetician.get_full_name()
    assert correction.changes == [
        ("Intensity", "240 µA", "260 µA"),
        ("Add-on services", "LED", "LED, Facial"),
    ]


def test_a_manager_corrects_a_record_someone_else_made(completed, manager):
    treatment_correct(session=completed, by=manager, reason="Wrong area", areas=["neck"])
    assert record_of(completed).areas == ["neck"]
    assert record_of(completed).history.first().history_user == manager


@pytest.mark.parametrize("who", ["colleague", "front_desk"])
def test_anyone_else_may_not_correct_and_nothing_changes(request, completed, who):
    with pytest.raises(PermissionDenied, match=MAY_NOT_CORRECT):
        treatment_correct(
            session=completed, by=request.getfixturevalue(who), reason="x", notes="changed"
        )
    assert record_of(completed).notes == RECORDED["notes"]
    assert record_of(completed).history.count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"reason": "  ", "notes": "new"}, "reason", "Say why the record is corrected"),
        ({"reason": "x" * 101, "notes": "new"}, "reason", "at most 100 characters"),
        ({"reason": "typo", "intensity_microamps": 600}, "intensity_microamps", "10 and 500"),
        ({"reason": "typo", "add_ons": ["botox"]}, "add_ons", r"led \(LED\)"),
        ({"reason": "typo", "intensity_microamps": 240}, None, "changes nothing"),
    ],
)
def test_a_correction_that_breaks_a_rule_is_refused(completed, esthetician, fields, field, message):
    with pytest.raises(RuleViolation, match=message) as refused:
        treatment_correct(session=completed, by=esthetician, **fields)
    assert refused.value.field == field
    assert record_of(completed).history.count() == 1


def test_a_session_without_a_record_has_nothing_to_correct(esthetician):
    session = SessionFactory(esthetician=esthetician)
    with pytest.raises(Conflict, match="no treatment record yet"):
        treatment_correct(session=session, by=esthetician, reason="typo", notes="x")


# The pages ---------------------------------------------------------------------------


def test_the_author_corrects_from_the_page_and_the_session_page_shows_it(
    client, completed, esthetician
):
    client.force_login(esthetician)
    detail = reverse("sessions:detail", args=[completed.pk])
    page = client.get(detail).content.decode()
    assert "Correct this record" in page
    assert "Jawline" in page
    assert ">LED<" in page.replace("<dd>", ">").replace("</dd>", "<")

    url = reverse("sessions:treatment-correct", args=[completed.pk])
    form = client.get(url).content.decode()
    assert 'value="240"' in form
    data = {**RECORDED, "intensity_microamps": "260", "reason": "Intensity typed wrong"}
    response = client.post(url, data, follow=True)

    assert response.redirect_chain[-1][0] == f"{detail}#treatment-heading"
    assert record_of(completed).intensity_microamps == 260
    html = response.content.decode()
    assert "Treatment record corrected" in html
    assert "Corrections" in html
    assert "Intensity: 240 µA → 260 µA" in html
    assert "reason: Intensity typed wrong" in html


def test_a_correction_without_a_reason_is_shown_beside_the_field(client, completed, esthetician):
    client.force_login(esthetician)
    url = reverse("sessions:treatment-correct", args=[completed.pk])
    response = client.post(url, {**RECORDED, "intensity_microamps": "260"})
    assert response.status_code == 200
    assert 'id="id_reason_error"' in response.content.decode()
    assert record_of(completed).intensity_microamps == 240


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("colleague", MAY_NOT_CORRECT),
        ("front_desk", "may not check clients in or record treatments"),
    ],
)
def test_others_get_a_403_page_saying_why(request, client, completed, who, says):
    client.force_login(request.getfixturevalue(who))
    url = reverse("sessions:treatment-correct", args=[completed.pk])
    for response in (client.get(url), client.post(url, {**RECORDED, "reason": "x"})):
        assert response.status_code == 403
        assert says in response.content.decode()
    assert record_of(completed).history.count() == 1
    detail = client.get(reverse("sessions:detail", args=[completed.pk])).content.decode()
    assert "Correct this record" not in detail


# The API -----------------------------------------------------------------------------


def correct_url(session) -> str:
    return f"/api/sessions/{session.pk}/correct-treatment/"


def test_the_api_corrects_for_the_author(api, completed, esthetician):
    api.force_authenticate(esthetician)
    response = api.post(
        correct_url(completed), {"notes": "", "reason": "Wrong client's note"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["treatment"]["notes"] == ""
    assert record_of(completed).history.first().history_change_reason == "Wrong client's note"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"notes": "x"}, 400, "reason"),
        ({"intensity_microamps": 9, "reason": "typo"}, 400, "intensity_microamps"),
        ({"areas": ["knee"], "reason": "typo"}, 400, "areas"),
    ],
)
def test_the_api_names_the_field_at_fault(api, completed, esthetician, body, status, field):
    api.force_authenticate(esthetician)
    response = api.post(correct_url(completed), body, format="json")
    assert response.status_code == status
    assert field in response.json()
    assert record_of(completed).history.count() == 1


def test_the_api_refuses_another_esthetician_with_a_403(api, completed, colleague):
    api.force_authenticate(colleague)
    response = api.post(correct_url(completed), {"notes": "x", "reason": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == MAY_NOT_CORRECT
    assert record_of(completed).notes == RECORDED["notes"]


def test_the_api_answers_409_for_a_session_not_yet_treated(api, esthetician):
    api.force_authenticate(esthetician)
    session = SessionFactory(esthetician=esthetician)
    response = api.post(correct_url(session), {"notes": "x", "reason": "x"}, format="json")
    assert response.status_code == 409
    assert "no treatment record yet" in response.json()["status"][0]


# Erasure -----------------------------------------------------------------------------


def test_erasing_the_client_empties_notes_and_reasons_in_every_version(
    completed, esthetician, manager
):
    treatment_correct(
        session=completed, by=esthetician, reason="Ana Lopez asked", notes="Ana Lopez, neck"
    )
    client_erase(client=completed.client, by=manager)
    versions = record_of(completed).history.all()
    assert [(v.notes, v.history_change_reason or "") for v in versions] == [("", ""), ("", "")]


def test_the_clients_export_holds_every_earlier_version(completed, esthetician, manager):
    treatment_correct(session=completed, by=esthetician, reason="Typo", intensity_microamps=250)
    export = client_export(client=completed.client, by=manager)
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        [session] = json.loads(archive.read("sessions.json"))
    treatment = session["treatment"]
    assert treatment["intensity_microamps"] == 250
    [earlier] = treatment["earlier_versions"]
    assert (earlier["intensity_microamps"], earlier["reason"]) == (240, "Typo")
    assert earlier["changed_by"]["username"] == esthetician.username
