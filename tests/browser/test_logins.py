"""Issue 12, item 3: a member of staff locked out after too many wrong passwords reads why
and for how long; a manager unlocks them from "Log-in lockouts" (behind a proxy that says
who is who in X-Forwarded-For, as in production)."""

import pytest
from playwright.sync_api import expect

from clinic.roles import Role
from tests.browser.conftest import PASSWORD, Visit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def from_address(browser, live_server, address):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        extra_http_headers={"X-Forwarded-For": address},
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, Visit(page, live_server.url)


def test_locked_out_staff_read_why_and_a_manager_unlocks_them(browser, live_server, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="frontdesk", first_name="Fay", last_name="Desk", role=Role.FRONT_DESK)
    UserFactory(username="boss", first_name="Mia", last_name="Manager", role=Role.MANAGER)
    desk_context, desk = from_address(browser, live_server, "10.0.0.5")
    boss_context, boss = from_address(browser, live_server, "10.0.0.6")

    desk.go("/accounts/login/")
    for _ in range(5):
        desk.page.get_by_label("Username").fill("frontdesk")
        desk.page.get_by_label("Password").fill("not-the-password")
        desk.page.get_by_role("button", name="Log in").click()
        desk.page.wait_for_load_state()
    desk.landed("login-locked-out")
    alert = desk.page.get_by_role("alert")
    expect(alert).to_contain_text("locked after 5 failed attempts")
    expect(alert).to_contain_text("Try again in 15 minutes, or ask a manager to unlock it now.")

    boss.login("boss")
    boss.page.get_by_role("link", name="Clinic set-up").click()
    boss.page.get_by_role("link", name="Log-in lockouts and API tokens").click()
    boss.landed("manager-login-lockouts")
    row = boss.page.get_by_role("row", name="Username frontdesk")
    expect(row).to_contain_text("5")
    row.get_by_role("button", name="Unlock").click()
    boss.landed()
    expect(boss.page.get_by_role("status")).to_contain_text("Unlocked the username frontdesk")
    expect(boss.page.get_by_text("Nobody is locked out.")).to_be_visible()

    desk.page.get_by_label("Username").fill("frontdesk")
    desk.page.get_by_label("Password").fill(PASSWORD)
    desk.page.get_by_role("button", name="Log in").click()
    desk.landed()
    expect(desk.page.get_by_role("link", name="My account")).to_be_visible()
    desk_context.close()
    boss_context.close()
