"""Journey: a manager exports a client's data, then erases the client (issue 12)."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Client
from clinic.roles import Role
from sessions_app.models import Session
from tests.factories import ClientFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_manager_exports_then_erases_a_client(visit, page):
    UserFactory(username="maya", role=Role.MANAGER, first_name="Maya", last_name="Lind")
    ava = ClientFactory(first_name="Ava", last_name="Nguyen", email="ava.nguyen@example.com")
    ahead = SessionFactory(client=ava, start=timezone.now() + timedelta(days=3))
    visit.login("maya")
    visit.go(f"/clients/{ava.pk}/")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export data (ZIP)").click()
    assert download.value.suggested_filename.startswith(f"client-{ava.pk}-ava-nguyen-")
    with open(download.value.path(), "rb") as archive:
        names = zipfile.ZipFile(io.BytesIO(archive.read())).namelist()
    assert {"manifest.json", "profile.json", "sessions.json"} <= set(names)

    page.get_by_role("link", name="Erase client…").click()
    visit.landed("manager-client-erase-confirm")
    expect(page.get_by_text("Erasure cannot be undone")).to_be_visible()
    page.get_by_label("Type the client's full name to confirm").fill("Ava N")
    page.get_by_role("button", name="Erase this client").click()
    visit.landed()
    expect(page.get_by_text("That is not the client's name")).to_be_visible()
    page.get_by_label("Type the client's full name to confirm").fill("ava nguyen")
    page.get_by_role("button", name="Erase this client").click()

    visit.landed("manager-client-erased")
    expect(page.get_by_role("heading", name="This client's data was erased")).to_be_visible()
    expect(page.locator(".banner").get_by_text("by Maya Lind")).to_be_visible()
    expect(page.get_by_role("link", name="Book a series")).to_have_count(0)
    ava.refresh_from_db()
    assert ava.first_name == "Erased"
    assert Session.objects.get(pk=ahead.pk).status == Session.Status.CANCELLED
    assert Client.objects.count() == 1
