"""Journey 1: the front desk registers, screens and clears a new client."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Client
from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_front_desk_registers_screens_and_clears_a_client(visit, page):
    UserFactory(username="desk", role=Role.FRONT_DESK, first_name="Fiona")
    visit.login("desk")

    # Search for someone who is not there yet.
    visit.go("/clients/")
    page.get_by_label("Search by name, email or phone").fill("Rosa Diaz")
    page.get_by_role("button", name="Search").click()
    visit.landed()
    expect(page.get_by_text("No client matches")).to_be_visible()
    page.get_by_role("link", name="Register a new client").click()
    visit.landed()

    # One field wrong: the error shows and nothing typed is lost.
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Diaz")
    page.get_by_label("Email").fill("rosa@")
    page.get_by_label("Phone").fill("(415) 555-0134")
    page.get_by_label("Date of birth").fill("1988-04-12")
    page.get_by_role("button", name="Register and screen").click()
    visit.landed("front-desk-register-error")
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Rosa")
    expect(page.get_by_label("Phone")).to_have_value("(415) 555-0134")
    expect(page.get_by_label("Date of birth")).to_have_value("1988-04-12")
    assert not Client.objects.exists()

    # Fix it: registered, and on to the screening.
    page.get_by_label("Email").fill("rosa.diaz@example.com")
    page.get_by_role("button", name="Register and screen").click()
    visit.landed()
    expect(page.get_by_role("heading", level=1)).to_contain_text("screening for Rosa Diaz")

    # Screen with "recent surgery" answered yes.
    for question in page.get_by_role("group").all():
        answer = "Yes" if "surgery" in question.inner_text() else "No"
        question.get_by_label(answer, exact=True).check()
    visit.landed("front-desk-screening")
    page.get_by_role("button", name="Save screening").click()
    visit.landed("front-desk-needs-clearance")
    banner = page.locator(".banner")
    expect(banner).to_contain_text("Needs a doctor's clearance")
    expect(banner).to_contain_text("Missing clearance: Recent surgery")

    # Record the clearance with the scanned letter: the banner turns green.
    page.get_by_role("link", name="Record a clearance").click()
    visit.landed()
    page.get_by_label("Physician").fill("Dr. Helen Marsh")
    page.get_by_label("Issued on").fill(timezone.localdate().isoformat())
    expect(page.get_by_label("Recent surgery")).to_be_checked()
    page.get_by_label("Scanned letter").set_input_files(
        {"name": "clearance.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Save clearance").click()
    visit.landed("front-desk-eligible")
    expect(page.locator(".banner")).to_contain_text("Eligible for treatment")
    expect(page.get_by_role("link", name="View letter")).to_be_visible()
