"""Journey 5: staff who open another role's page by its address get a clear 403 page."""

import pytest
from playwright.sync_api import expect

from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

FORBIDDEN = {
    Role.FRONT_DESK: ["/manage/", "/manage/rooms/add/", "/protocols/1/edit/", "/admin/"],
    Role.ESTHETICIAN: ["/clients/new/", "/manage/", "/reminders/", "/admin/"],
}


@pytest.mark.parametrize("role", list(FORBIDDEN))
def test_other_roles_pages_answer_403_with_a_way_back(visit, page, role):
    UserFactory(username="someone", role=role)
    visit.login("someone")
    for path in FORBIDDEN[role]:
        response = visit.go(path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "You don't have access to this page"
        )
        expect(page.get_by_role("link", name="Back to the start page")).to_be_visible()
    page.get_by_role("link", name="Back to the start page").click()
    visit.landed()
    # The start page: an esthetician's own day (``/calendar/?view=day``), or the schedule.
    assert page.url.split("?")[0].rstrip("/").endswith(("/calendar", "/schedule"))
