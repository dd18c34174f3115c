"""Issue 12, item 6: no health data in any cache, letters only as downloads, and one
Content-Security-Policy for every page (the browser journeys fail on any violation of it,
tests/browser/conftest.py)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from clinic.roles import Role
from sessions_app.links import link_url
from tests.factories import ClearanceFactory, ReminderFactory, SessionFactory

pytestmark = pytest.mark.django_db

FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def no_store(response) -> bool:
    return "no-store" in {v.strip() for v in response.get("Cache-Control", "").split(",")}


@pytest.fixture
def letter(a_client):
    return ClearanceFactory(
        client=a_client,
        document=ContentFile(PDF, name="letter.pdf"),
        document_content_type="application/pdf",
    )


@pytest.mark.parametrize(
    ("name", "about"),
    [
        ("sessions:schedule", None),
        ("clients:detail", "client"),
        ("sessions:reminders", None),
        ("clients:access-log", None),
        ("account-tokens", None),
    ],
)
def test_every_authenticated_page_is_no_store(page_as, a_client, name, about):
    response = page_as(MG).get(reverse(name, args=[a_client.pk] if about else []))
    assert response.status_code == 200
    assert no_store(response), response.get("Cache-Control")
    assert "private" in response["Cache-Control"]


def test_api_answers_and_their_errors_are_no_store(api_as, a_client):
    api = api_as(FD)
    for response in (
        api.get(reverse("client-detail", args=[a_client.pk])),
        api.get(reverse("client-eligibility", args=[a_client.pk])),
        api.post(reverse("client-list"), {"first_name": ""}, format="json"),  # 400
        api.get("/api/no-such-thing/"),  # 404
    ):
        assert no_store(response), (response.status_code, response.get("Cache-Control"))
    refused = api_as(ES).post(reverse("client-list"), {}, format="json")
    assert refused.status_code == 403
    assert no_store(refused)


def test_a_clients_email_link_is_no_store(client, a_client):
    response = client.get(link_url("client", a_client.pk))
    assert response.status_code == 200
    assert no_store(response)


def test_the_login_page_and_a_403_are_no_store(client, page_as):
    assert no_store(client.get(reverse("login")))
    forbidden = page_as(ES).get(reverse("clients:access-log"))
    assert forbidden.status_code == 403
    assert no_store(forbidden)


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert not no_store(response)


@pytest.mark.parametrize("channel", ["page", "api"])
def test_a_letter_is_a_download_never_a_page(page_as, api_as, letter, channel):
    if channel == "page":
        response = page_as(ES).get(reverse("clients:clearance-document", args=[letter.pk]))
    else:
        response = api_as(ES).get(reverse("api-clearance-document", args=[letter.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="clearance-{letter.pk}.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert no_store(response)
    assert b"".join(response.streaming_content) == PDF


def test_pages_run_no_inline_script_or_style_and_are_framed_by_no_one(page_as, a_client):
    response = page_as(FD).get(reverse("clients:detail", args=[a_client.pk]))
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_email_preview_frames_the_email_under_a_policy_of_its_own(page_as, a_client):
    reminder = ReminderFactory(session=SessionFactory(client=a_client))
    manager = page_as(MG)
    page = manager.get(reverse("sessions:reminder-preview", args=[reminder.pk]))
    frame_url = reverse("sessions:reminder-preview-html", args=[reminder.pk])
    assert f'src="{frame_url}"' in page.content.decode()
    assert "srcdoc" not in page.content.decode()

    frame = manager.get(frame_url)
    assert frame.status_code == 200
    assert frame["Content-Type"] == "text/html; charset=utf-8"
    body = frame.content.decode()
    assert a_client.first_name in body
    assert "style=" in body
    policy = directives(frame)
    assert policy["default-src"] == ["'none'"]  # no script, no fetch
    assert policy["style-src"] == ["'unsafe-inline'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert "script-src" not in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert no_store(frame)


@pytest.mark.parametrize("role", [FD, ES])
def test_the_email_frame_is_for_those_who_may_preview(page_as, a_client, role):
    reminder = ReminderFactory(session=SessionFactory(client=a_client))
    response = page_as(role).get(reverse("sessions:reminder-preview-html", args=[reminder.pk]))
    assert response.status_code == 403


def test_the_api_docs_load_their_script_from_this_site(page_as):
    docs = page_as(FD).get(reverse("api-docs"))
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "<script>" not in html  # no inline script: the setup script has its own URL
    assert "?script" in html
    script = page_as(FD).get(reverse("api-docs") + "?script")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "SwaggerUIBundle" in script.content.decode()
    policy = directives(docs)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]  # Swagger UI's own <style> block
