"""Issue 13, items 5 to 7 in Chromium (axe and the CSP on every page): a duplicate client
is shown and asked about before another is registered (or a client edited into another
saved); cancelling asks first; a treatment
record is corrected with its history shown; a failed submit puts the focus on the error
summary; the hours table shows all seven days at 1280 px."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Client
from clinic.roles import Role
from sessions_app.availability import local_datetime
from sessions_app.models import Session, TreatmentRecord, WorkingHours
from tests.factories import ClientFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def focused_class(page) -> str:
    return page.evaluate("document.activeElement.className")


def test_a_duplicate_client_is_shown_and_registered_only_on_confirm(visit, page):
    UserFactory(username="desk", role=Role.FRONT_DESK)
    ana = ClientFactory(
        first_name="Ana",
        last_name="Lopez",
        email="ana.lopez@example.com",
        date_of_birth=date(1985, 6, 15),
    )
    visit.login("desk")
    visit.go("/clients/new/")

    # A failed submit: the focus moves to the error summary, which links to the field.
    page.get_by_label("First name").fill("ana")
    page.get_by_role("button", name="Register and screen").click()
    visit.landed()
    assert "error-summary" in focused_class(page)
    page.locator(".error-summary").get_by_role("link", name="Last name").click()
    expect(page.get_by_label("Last name")).to_be_focused()

    # Same name and date of birth as Ana, another email: Ana is shown, nothing registered.
    page.get_by_label("Last name").fill("LOPEZ")
    page.get_by_label("Email").fill("ana.l@example.org")
    page.get_by_label("Date of birth").fill("1985-06-15")
    page.get_by_role("button", name="Register and screen").click()
    visit.landed("register-duplicate-asked")
    banner = page.locator(".duplicate-check")
    expect(banner).to_contain_text("This client may already be registered")
    expect(banner).to_contain_text("Ana Lopez, born Jun 15, 1985")
    expect(banner).to_contain_text("Same name and date of birth")
    assert "duplicate-check" in focused_class(page)
    assert Client.objects.count() == 1

    # Enter (the first button, "Check again") only asks again.
    page.get_by_label("Email").press("Enter")
    visit.landed()
    expect(page.locator(".duplicate-check")).to_be_visible()
    assert Client.objects.count() == 1

    # A different person: registered on confirmation, and on to the screening.
    page.get_by_role("button", name="Register a new client anyway").click()
    visit.landed()
    expect(page.get_by_role("heading", level=1)).to_contain_text("screening for ana LOPEZ")
    assert Client.objects.count() == 2
    assert Client.objects.exclude(pk=ana.pk).get().email == "ana.l@example.org"


def test_editing_a_client_into_another_asks_before_saving(visit, page):
    UserFactory(username="desk", role=Role.FRONT_DESK)
    ana = ClientFactory(first_name="Ana", last_name="Lopez", email="ana.lopez@example.com")
    mia = ClientFactory(first_name="Mia", last_name="Chen", email="mia@example.com")
    visit.login("desk")
    visit.go(f"/clients/{mia.pk}/edit/")

    # Mia's email typed as Ana's: Ana is shown, nothing saved, the focus on the question.
    page.get_by_label("Email").fill("Ana.Lopez@example.com")
    page.get_by_role("button", name="Save changes").click()
    visit.landed()
    banner = page.locator(".duplicate-check")
    expect(banner).to_contain_text("Another client has these details")
    expect(banner).to_contain_text("Ana Lopez")
    expect(banner).to_contain_text("Same email")
    expect(banner).to_contain_text("Nothing is saved yet.")
    assert "duplicate-check" in focused_class(page)
    mia.refresh_from_db()
    assert mia.email == "mia@example.com"

    # Enter checks again; "Save changes anyway" saves.
    page.get_by_label("Email").press("Enter")
    visit.landed()
    expect(page.locator(".duplicate-check")).to_be_visible()
    page.get_by_role("button", name="Save changes anyway").click()
    visit.landed()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mia Chen")
    mia.refresh_from_db()
    assert mia.email == "Ana.Lopez@example.com"
    assert Client.objects.get(pk=ana.pk).email == "ana.lopez@example.com"


def test_cancelling_asks_first_and_keeps_the_reason(visit, page):
    UserFactory(username="desk", role=Role.FRONT_DESK)
    session = SessionFactory(client__first_name="Bea", client__last_name="Ng")
    visit.login("desk")
    visit.go(f"/sessions/{session.pk}/")

    page.get_by_label("Reason (optional)").fill("Flu")
    page.get_by_role("button", name="Cancel session…").click()
    visit.landed("cancel-confirm")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel Bea Ng's session?")
    page.get_by_role("link", name="No, keep it").click()
    visit.landed()
    session.refresh_from_db()
    assert session.status == Session.Status.BOOKED

    page.get_by_label("Reason (optional)").fill("Flu")
    page.get_by_role("button", name="Cancel session…").click()
    visit.landed()
    expect(page.get_by_label("Reason (optional)")).to_have_value("Flu")
    page.get_by_role("button", name="Yes, cancel the session").click()
    visit.landed()
    expect(page.get_by_text("Session cancelled; the slot is free again.")).to_be_visible()
    expect(page.locator(".history")).to_contain_text("reason: Flu")
    session.refresh_from_db()
    assert (session.status, session.cancel_reason) == (Session.Status.CANCELLED, "Flu")


def test_the_author_corrects_a_treatment_record_and_sees_what_changed(visit, page):
    esme = UserFactory(
        username="esme", role=Role.ESTHETICIAN, first_name="Esme", last_name="Carter"
    )
    for weekday in range(7):
        WorkingHours.objects.create(
            esthetician=esme, weekday=weekday, starts_at=time(8), ends_at=time(20)
        )
    start = local_datetime(timezone.localdate() - timedelta(days=1), time(10))
    session = SessionFactory(
        esthetician=esme,
        start=start,
        end=start + timedelta(minutes=45),
        status=Session.Status.COMPLETED,
        client__first_name="Ava",
        client__last_name="Nguyen",
    )
    TreatmentRecord.objects.create(
        session=session,
        modality="dynamic",
        intensity_microamps=240,
        frequency_hz=Decimal("1.20"),
        duration_minutes=40,
        areas=["jawline"],
        add_ons=["led"],
        recorded_by=esme,
    )
    visit.login("esme")
    visit.go(f"/sessions/{session.pk}/")
    treatment = page.locator(
        "section", has=page.get_by_role("heading", name="Treatment", exact=True)
    )
    expect(treatment).to_contain_text("LED")
    expect(treatment).to_contain_text("Jawline")

    page.get_by_role("link", name="Correct this record").click()
    visit.landed()
    expect(page.get_by_label("Intensity")).to_have_value("240")
    page.get_by_label("Intensity").fill("420")
    page.get_by_role("button", name="Save the correction").click()
    visit.landed("treatment-correct-refused")
    assert "error-summary" in focused_class(page)
    expect(
        page.locator(".error-summary").get_by_role("link", name="Why the correction")
    ).to_be_visible()
    expect(page.get_by_label("Intensity")).to_have_value("420")

    page.get_by_label("Why the correction").fill("Typed 240 instead of 420")
    page.get_by_role("button", name="Save the correction").click()
    visit.landed("treatment-corrected")
    expect(page.get_by_text("Treatment record corrected.")).to_be_visible()
    corrections = page.locator("ul.history").last
    expect(corrections).to_contain_text("Corrected by Esme Carter")
    expect(corrections).to_contain_text("reason: Typed 240 instead of 420")
    expect(corrections).to_contain_text("Intensity: 240 µA → 420 µA")
    assert TreatmentRecord.objects.get(session=session).intensity_microamps == 420


def test_the_hours_table_shows_all_seven_days_at_1280_px(visit, page):
    UserFactory(username="boss", role=Role.MANAGER)
    for n in range(3):
        person = UserFactory(
            username=f"est{n}",
            role=Role.ESTHETICIAN,
            first_name="Alexandra",
            last_name=f"Montgomery-{n}",
        )
        for weekday in range(7):
            WorkingHours.objects.create(
                esthetician=person, weekday=weekday, starts_at=time(9), ends_at=time(13)
            )
            WorkingHours.objects.create(
                esthetician=person, weekday=weekday, starts_at=time(14), ends_at=time(18, 30)
            )
    assert page.viewport_size["width"] == 1280
    visit.login("boss")
    visit.go("/manage/")
    table = page.locator(".hours-grid")
    expect(table.get_by_role("columnheader", name="Sun")).to_be_in_viewport()
    fits = page.evaluate(
        "() => { const s = document.querySelector('.hours-grid').closest('.table-scroll');"
        " return [s.scrollWidth, s.clientWidth]; }"
    )
    assert fits[0] <= fits[1], f"the hours table scrolls sideways at 1280 px: {fits}"
    sunday = table.locator("thead th").last.bounding_box()
    assert sunday["x"] + sunday["width"] <= 1280
