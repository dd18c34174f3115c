"""Browser journeys: real headless Chromium (Debian's) driven by Playwright against
pytest-django's live server on PostgreSQL, with axe-core on every page visited."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

# The live server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "a-long-test-password-1"
_axe = Axe()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright's own browser download cannot work here: use Debian's Chromium.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(autouse=True)
def _site_url(settings, live_server):
    settings.SITE_URL = live_server.url


def check_accessibility(page) -> None:
    """No serious or critical axe-core violations, one h1, and a title."""
    results = _axe.run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in bad
    )
    assert page.locator("h1").count() == 1, f"{page.url} has {page.locator('h1').count()} h1"
    assert page.title(), f"{page.url} has no title"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def csp_violation(message) -> bool:
    """Chromium reports each thing the Content-Security-Policy refused on the console."""
    return "Content Security Policy" in message.text


class Visit:
    """A page object: go somewhere or do something, then check the page it lands on:
    axe, and nothing the page asked for refused by the Content-Security-Policy."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base = base_url
        self.refused: list[str] = []
        page.on("console", lambda m: csp_violation(m) and self.refused.append(m.text))

    def check(self) -> None:
        refused, self.refused[:] = list(self.refused), []
        assert not refused, f"{self.page.url}: the page broke its policy: {refused}"
        check_accessibility(self.page)
        # axe-core itself applies inline styles while it measures some pages (the policy
        # refuses them, as it should): what it caused is the tool's, not the page's. A
        # round trip delivers every console message it raised before they are dropped.
        self.page.evaluate("0")
        self.refused.clear()

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        self.check()
        return response

    def landed(self, name: str | None = None):
        self.page.wait_for_load_state()
        self.check()
        if name:
            shot(self.page, name)

    def login(self, username: str):
        self.go("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.landed()


@pytest.fixture
def visit(page, live_server):
    page.set_default_timeout(10_000)
    return Visit(page, live_server.url)
