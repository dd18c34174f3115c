"""Issue 12, item 4: a manager reads who looked at a client's health data, from the
client's page, filters by staff member with the keyboard alone, and finds every row
saying who, when, what and from where."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from clinic.roles import Role
from tests.factories import ClearanceFactory, ClientFactory, ScreeningFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_manager_reads_the_access_log_of_a_client(visit, page):
    UserFactory(username="maya", role=Role.MANAGER, first_name="Maya", last_name="Ross")
    rosa = UserFactory(username="rosa", role=Role.FRONT_DESK, first_name="Rosa", last_name="Diaz")
    ava = ClientFactory(first_name="Ava", last_name="Nguyen")
    ScreeningFactory(client=ava, recorded_by=rosa)
    clearance = ClearanceFactory(
        client=ava,
        recorded_by=rosa,
        document=SimpleUploadedFile("letter.pdf", PDF),
        document_content_type="application/pdf",
    )

    # Rosa opens Ava's page and her letter.
    visit.login("rosa")
    visit.go(f"/clients/{ava.pk}/")
    page.request.get(visit.base + f"/clients/clearances/{clearance.pk}/document/")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()

    visit.login("maya")
    visit.go(f"/clients/{ava.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Access log for this client").click()
    visit.landed("access-log-client")
    expect(page.get_by_role("heading", level=1)).to_have_text("Access log: Ava Nguyen")
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name="Clearance letter")).to_have_count(1)
    letter = table.get_by_role("row", name="Clearance letter")
    expect(letter).to_contain_text("Rosa Diaz")
    expect(letter).to_contain_text("Read")
    expect(letter).to_contain_text("127.0.0.1")
    expect(letter).to_contain_text(f"/clients/clearances/{clearance.pk}/document/")
    # Maya's own visit to the client page is in the log too.
    expect(table.get_by_role("row").filter(has_text="Maya Ross")).not_to_have_count(0)

    # The keyboard alone: choose "Rosa Diaz" in "Who" and submit.
    page.get_by_label("Who").focus()
    page.get_by_label("Who").select_option(label="Rosa Diaz (Front desk)")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Filter")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.landed("access-log-filtered")
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).not_to_have_count(0)
    for row in rows.all():
        expect(row).to_contain_text("Rosa Diaz")
    expect(page.get_by_role("table")).not_to_contain_text("Maya Ross")

    # A name search lists the clients it found to pick from.
    ClientFactory(first_name="Bo", last_name="Nguyen")
    with page.expect_navigation():
        page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Client").fill("nguyen")
    with page.expect_navigation():
        page.get_by_label("Client").press("Enter")
    visit.landed("access-log-search")
    picker = page.get_by_role("region", name="Clients matching “nguyen”")
    expect(picker.get_by_role("link", name="Nguyen, Bo")).to_be_visible()
    with page.expect_navigation():
        picker.get_by_role("link", name="Nguyen, Ava").click()
    visit.landed()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access log: Ava Nguyen")
