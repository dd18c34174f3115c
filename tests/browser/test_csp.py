"""Issue 12, item 6: every page works under the Content-Security-Policy. The journeys'
Visit fails on anything the policy refuses; these prove that check bites, and walk the
pages that are not ours (the admin, the API docs) under the policy."""

import pytest
from playwright.sync_api import expect

from clinic.roles import Role
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password-1"


@pytest.fixture
def manager(db):
    return UserFactory(username="mgr", role=Role.MANAGER, password=PASSWORD)


def test_an_inline_script_is_refused_and_the_journey_fails(visit, page, manager):
    visit.login("mgr")
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "document.title = 'pwned'";
            document.body.appendChild(s);
            const img = document.createElement("img");
            img.src = "http://tracker.invalid/pixel.png";
            img.alt = "";
            document.body.appendChild(img);
        }"""
    )
    page.wait_for_timeout(200)  # lets Chromium report the refusals on the console
    assert page.title() != "pwned"
    with pytest.raises(AssertionError, match="broke its policy") as refused:
        visit.check()
    assert "script-src" in str(refused.value)
    assert "img-src" in str(refused.value)


def test_the_admin_works_under_the_policy(visit, page, manager):
    ClientFactory(first_name="Ava", last_name="Nguyen")
    visit.login("mgr")
    visit.go("/admin/")
    visit.go("/admin/clients/client/")
    page.get_by_role("link", name="Nguyen", exact=True).click()
    visit.landed("admin-client-change")
    # The admin's own scripts ran: the "Save" row and the date widgets' shortcuts are there.
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Today").first).to_be_visible()


def test_the_api_docs_work_under_the_policy(visit, page, manager):
    visit.login("mgr")
    page.goto(visit.base + "/api/docs/")
    # Swagger UI is built by its scripts, all from this site: the operations appear.
    expect(page.get_by_text("/api/clients/", exact=True).first).to_be_visible(timeout=20_000)
    refused, visit.refused[:] = list(visit.refused), []
    assert not refused, refused
