"""The HTML pages: they render for each role, forms show their errors, and a list or
client page costs the same number of queries however many rows it shows."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients.models import Clearance, Client, Screening
from clinic.roles import Role
from tests.factories import ClearanceFactory, ClientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NO = {
    "pacemaker": "no",
    "pregnant": "no",
    "neurological_disorder": "no",
    "recent_surgery": "no",
    "cancer_treatment": "no",
    "implanted_defibrillator": "no",
}


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def make_clients_in_every_state(n: int) -> None:
    for i in range(n):
        client = ClientFactory()
        kind = i % 4
        if kind == 0:
            ScreeningFactory(client=client)
        elif kind == 1:
            ScreeningFactory(
                client=client,
                recent_surgery=True,
                outcome="needs_clearance",
                flagged=["recent_surgery"],
            )
            ClearanceFactory(client=client)
        elif kind == 2:
            ScreeningFactory(
                client=client, pacemaker=True, outcome="ineligible", flagged=["pacemaker"]
            )


@pytest.mark.parametrize("role", list(Role))
def test_client_list_renders_for_every_role(page_as, role, a_client):
    response = page_as(role).get(reverse("clients:list"))
    assert response.status_code == 200
    assert "Lopez, Ana" in response.content.decode()


def test_client_list_searches_by_name(page_as, a_client):
    ClientFactory(first_name="Bea", last_name="Quinn")
    response = page_as(Role.FRONT_DESK).get(reverse("clients:list"), {"q": "lopez"})
    body = response.content.decode()
    assert "Lopez, Ana" in body
    assert "Quinn" not in body


def test_search_with_no_match_offers_to_register(page_as, a_client):
    response = page_as(Role.FRONT_DESK).get(reverse("clients:list"), {"q": "Zebedee"})
    body = response.content.decode()
    assert "No client matches" in body
    assert reverse("clients:create") in body


def test_client_list_queries_do_not_grow_with_rows(page_as):
    browser = page_as(Role.FRONT_DESK)
    make_clients_in_every_state(5)
    few = count_queries(browser, reverse("clients:list"))
    make_clients_in_every_state(45)
    many = count_queries(browser, reverse("clients:list"))
    assert Client.objects.count() == 50
    assert few == many


def test_client_page_queries_do_not_grow_with_history(page_as, a_client, front_desk):
    browser = page_as(Role.FRONT_DESK)
    url = reverse("clients:detail", args=[a_client.pk])
    ScreeningFactory(client=a_client)
    ClearanceFactory(client=a_client)
    browser.get(url)  # once first: the process looks up the access log's content types
    few = count_queries(browser, url)
    for _ in range(20):
        ScreeningFactory(client=a_client)
        ClearanceFactory(client=a_client, document=SimpleUploadedFile("a.pdf", PDF))
        a_client.notes += "x"
        a_client._history_user = front_desk
        a_client.save()
    many = count_queries(browser, url)
    assert few == many


@pytest.mark.parametrize(
    ("screening", "clearance", "banner", "text"),
    [
        (None, False, "banner-screening_required", "Screening required"),
        ({}, False, "banner-eligible", "Eligible for treatment"),
        ({"recent_surgery": True}, False, "banner-needs_clearance", "Needs a doctor"),
        ({"recent_surgery": True}, True, "banner-eligible", "cleared by Dr. Ada Park"),
        ({"pregnant": True}, False, "banner-ineligible", "Ineligible"),
    ],
)
def test_client_page_banner_shows_eligibility(
    page_as, a_client, screening, clearance, banner, text
):
    if screening is not None:
        flagged = ["recent_surgery"] if screening.get("recent_surgery") else []
        flagged += ["pregnancy"] if screening.get("pregnant") else []
        ScreeningFactory(client=a_client, flagged=flagged, **screening)
    if clearance:
        ClearanceFactory(client=a_client, conditions=["recent_surgery"])
    response = page_as(Role.ESTHETICIAN).get(reverse("clients:detail", args=[a_client.pk]))
    body = response.content.decode()
    assert banner in body
    assert text in body


def test_needs_clearance_banner_names_missing_clearance(page_as, a_client):
    ScreeningFactory(client=a_client, cancer_treatment=True, flagged=["cancer_treatment"])
    response = page_as(Role.FRONT_DESK).get(reverse("clients:detail", args=[a_client.pk]))
    assert "Missing clearance:</strong> Current or recent cancer treatment" in (
        response.content.decode()
    )


def test_register_client_form_shows_errors_and_keeps_input(page_as):
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:create"),
        {
            "first_name": "Rosa",
            "last_name": "Diaz",
            "email": "not-an-email",
            "phone": "12",
            "date_of_birth": future,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in body
    assert "Date of birth cannot be in the future." in body
    assert "Enter a valid phone number" in body
    assert 'value="Rosa"' in body
    assert not Client.objects.exists()


def test_register_client_then_goes_to_screening(page_as):
    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:create"),
        {
            "first_name": "Rosa",
            "last_name": "Diaz",
            "email": "rosa@example.com",
            "phone": "(415) 555-0134",
            "date_of_birth": "1980-02-29",
        },
    )
    client = Client.objects.get(email="rosa@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:screening", args=[client.pk])
    assert str(client.phone) == "+14155550134"


def test_edit_client_records_who_changed_what(page_as, a_client, front_desk):
    page_as(Role.FRONT_DESK).post(
        reverse("clients:edit", args=[a_client.pk]),
        {
            "first_name": "Ana",
            "last_name": "López",
            "email": a_client.email,
            "phone": "",
            "date_of_birth": a_client.date_of_birth.isoformat(),
        },
    )
    record = a_client.history.latest()
    assert record.last_name == "López"
    assert record.history_user == front_desk
    page = page_as(Role.FRONT_DESK).get(reverse("clients:detail", args=[a_client.pk]))
    assert "Lopez → López" in page.content.decode()


def test_screening_form_requires_every_answer(page_as, a_client):
    answers = {**NO}
    del answers["pregnant"]
    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:screening", args=[a_client.pk]), answers
    )
    assert response.status_code == 200
    assert "A missing answer is never read as No." in response.content.decode()
    assert not Screening.objects.exists()


def test_screening_form_wording_shows_recent_windows(page_as, a_client, settings):
    settings.SCREENING_RECENT_SURGERY_MONTHS = 4
    settings.SCREENING_CANCER_TREATMENT_MONTHS = 18
    body = (
        page_as(Role.FRONT_DESK)
        .get(reverse("clients:screening", args=[a_client.pk]))
        .content.decode()
    )
    assert "surgery in the last 4 months" in body
    assert "in the last 18 months" in body


def test_screening_with_recent_surgery_makes_banner_amber(page_as, a_client):
    browser = page_as(Role.FRONT_DESK)
    response = browser.post(
        reverse("clients:screening", args=[a_client.pk]), {**NO, "recent_surgery": "yes"}
    )
    assert response.status_code == 302
    page = browser.get(reverse("clients:detail", args=[a_client.pk])).content.decode()
    assert "banner-needs_clearance" in page
    assert "Recent surgery" in page


def test_clearance_form_with_pdf_turns_banner_green(page_as, a_client):
    ScreeningFactory(
        client=a_client, recent_surgery=True, flagged=["recent_surgery"], outcome="needs_clearance"
    )
    browser = page_as(Role.FRONT_DESK)
    form_page = browser.get(reverse("clients:clearance", args=[a_client.pk])).content.decode()
    assert 'value="recent_surgery" checked' in form_page.replace('id="id_conditions_1" ', "")
    response = browser.post(
        reverse("clients:clearance", args=[a_client.pk]),
        {
            "physician": "Dr. Ada Park",
            "issued_on": timezone.localdate().isoformat(),
            "conditions": ["recent_surgery"],
            "document": SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302
    page = browser.get(reverse("clients:detail", args=[a_client.pk])).content.decode()
    assert "banner-eligible" in page
    clearance = Clearance.objects.get()
    assert reverse("clients:clearance-document", args=[clearance.pk]) in page
    document = browser.get(reverse("clients:clearance-document", args=[clearance.pk]))
    assert document["Content-Type"] == "application/pdf"
    assert b"".join(document.streaming_content) == PDF


def test_clearance_form_refuses_a_fake_pdf(page_as, a_client):
    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:clearance", args=[a_client.pk]),
        {
            "physician": "Dr. Ada Park",
            "issued_on": timezone.localdate().isoformat(),
            "conditions": ["recent_surgery"],
            "document": SimpleUploadedFile(
                "letter.pdf", b"just text", content_type="application/pdf"
            ),
        },
    )
    assert response.status_code == 200
    assert "The document must be a PDF, JPEG or PNG file." in response.content.decode()
    assert not Clearance.objects.exists()


def test_clearance_form_refuses_expiry_before_issue(page_as, a_client):
    today = timezone.localdate()
    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:clearance", args=[a_client.pk]),
        {
            "physician": "Dr. Ada Park",
            "issued_on": today.isoformat(),
            "expires_on": (today - timedelta(days=1)).isoformat(),
            "conditions": ["recent_surgery"],
        },
    )
    assert "The expiry date must be on or after the issue date." in response.content.decode()


def test_login_page_logs_staff_in(client, front_desk):
    response = client.post(
        reverse("login"), {"username": "fd", "password": "a-long-test-password-1"}
    )
    assert response.status_code == 302
    assert client.get(reverse("clients:list")).status_code == 200


def test_pages_need_login(client, a_client):
    response = client.get(reverse("clients:detail", args=[a_client.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_forbidden_page_is_a_friendly_403(page_as, a_client):
    response = page_as(Role.ESTHETICIAN).get(reverse("clients:create"))
    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


def test_unknown_client_page_is_404(page_as):
    response = page_as(Role.FRONT_DESK).get(reverse("clients:detail", args=[999999]))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_api_docs_and_schema_render_for_staff(page_as):
    staff = page_as(Role.FRONT_DESK)
    assert staff.get("/api/schema/").status_code == 200
    assert staff.get("/api/docs/").status_code == 200


def test_client_page_renders_for_a_client_without_history(page_as):
    # Clients loaded in bulk (an import) have no history rows.
    (client,) = Client.objects.bulk_create(
        [
            Client(
                first_name="Bulk",
                last_name="Import",
                email="b@example.com",
                date_of_birth="1980-01-01",
            )
        ]
    )
    response = page_as(Role.FRONT_DESK).get(reverse("clients:detail", args=[client.pk]))
    assert response.status_code == 200
    assert "No recorded changes." in response.content.decode()
