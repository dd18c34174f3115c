"""Help and error texts are wired to their fields (issue 13, item 7): on every page with a
form, each ``aria-describedby`` names ids that exist, and after a failed submit the error
summary takes the focus (``tabindex="-1"`` and ``autofocus``, no script) and links to
fields that exist. The pages are found from the URL conf, as the route matrix finds them:
a new form page is checked without being listed here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client as BrowserClient
from django.utils import timezone

from clinic.roles import Role
from sessions_app import services
from sessions_app.models import Session
from tests.clinic.test_route_matrix import ROUTES, allowlisted, is_api, url_for
from tests.factories import ClientFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@dataclass
class Page(HTMLParser):
    """What the checks need of a page: its ids, who is described by what, its forms."""

    ids: set[str] = field(default_factory=set)
    described: list[tuple[str, str]] = field(default_factory=list)  # (tag#id, ids)
    links: list[str] = field(default_factory=list)  # in-page targets of summary links
    summaries: list[dict] = field(default_factory=list)
    texts: set[str] = field(default_factory=set)  # ids of help and error texts
    post_forms: list[str] = field(default_factory=list)  # their actions
    fields: int = 0
    _in_summary: int = 0

    def __post_init__(self):
        super().__init__()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if attrs.get("aria-describedby") is not None:
            self.described.append((f"{tag}#{attrs.get('id', '')}", attrs["aria-describedby"]))
        classes = (attrs.get("class") or "").split()
        if attrs.get("id") and {"help", "errors"} & set(classes):
            self.texts.add(attrs["id"])
        if tag == "div" and "error-summary" in classes:
            self.summaries.append(attrs)
            self._in_summary += 1
        elif tag == "div" and self._in_summary:
            self._in_summary += 1
        if tag == "a" and self._in_summary and (attrs.get("href") or "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.post_forms.append(attrs.get("action") or "")
        if tag in ("select", "textarea") or (
            tag == "input" and attrs.get("type") not in ("hidden", "submit")
        ):
            self.fields += 1

    def handle_endtag(self, tag):
        if tag == "div" and self._in_summary:
            self._in_summary -= 1


def parse(response) -> Page:
    page = Page()
    page.feed(response.content.decode())
    return page


def problems(page: Page, where: str) -> list[str]:
    found = []
    for element, names in page.described:
        missing = [name for name in names.split() if name not in page.ids]
        if not names.split() or missing:
            found.append(f"{where}: {element} aria-describedby={names!r} names no element")
    named = {name for _element, names in page.described for name in names.split()}
    for text in sorted(page.texts - named):
        found.append(f"{where}: #{text} (help or errors) is not named by its field")
    for target in page.links:
        if target not in page.ids:
            found.append(f"{where}: the error summary links to #{target}, which is not there")
    for summary in page.summaries:
        if summary.get("tabindex") != "-1" or "autofocus" not in summary:
            found.append(f"{where}: the error summary does not take the focus")
    return found


def form_pages() -> list:
    """Every page route (not the API's, not the admin's), with who may open it."""
    cases = []
    for route in ROUTES:
        if not route.name or route.namespace == "admin" or is_api(route):
            continue
        view = getattr(route.callback, "view_class", None)
        if view is None or "get" not in view.http_method_names or not hasattr(view, "get"):
            continue
        gate = allowlisted(route)
        anonymous = gate is not None and gate.anonymous
        if gate is not None and not anonymous and route.name != "home":
            continue
        cases.append(pytest.param(route, anonymous, id=route.name))
    return cases


@pytest.fixture
def manager_web(db):
    web = BrowserClient()
    web.force_login(UserFactory(username="wiring-mgr", role=Role.MANAGER))
    return web


def check_page(web, path: str) -> list[str]:
    """The page as it opens, then after a submit of nothing to each form that posts to it."""
    response = web.get(path)
    if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
        return []
    page = parse(response)
    found = problems(page, f"GET {path}")
    if page.fields and any(action in ("", path) for action in page.post_forms):
        failed = web.post(path, {})
        if failed.status_code == 200:
            found += problems(parse(failed), f"POST {path} (empty)")
    return found


@pytest.mark.parametrize(("route", "anonymous"), form_pages())
def test_every_form_page_wires_help_and_errors_to_ids_that_exist(manager_web, route, anonymous):
    path, _subject = url_for(route)
    web = BrowserClient() if anonymous else manager_web
    assert not check_page(web, path)


def test_the_pages_with_most_fields_wire_their_errors_too(manager_web):
    """Forms the walk above reaches only empty-handed: a failed completion of a session
    today, a failed correction of its record, and a registration that names a client
    already on file."""
    now = timezone.now()
    session = SessionFactory(
        start=now - timedelta(minutes=10),
        end=now + timedelta(minutes=35),
        status=Session.Status.CHECKED_IN,
    )
    detail = f"/sessions/{session.pk}/"
    bad_completion = {"action": "complete", "modality": "static", "intensity_microamps": "900"}
    response = manager_web.post(detail, bad_completion)
    page = parse(response)
    assert page.summaries, "a failed completion shows the error summary"
    found = problems(page, "POST complete")

    manager = UserFactory(username="wiring-mgr")
    services.session_complete(
        session=session,
        by=manager,
        modality="static",
        intensity_microamps=200,
        frequency_hz=Decimal("1.0"),
        duration_minutes=40,
    )
    correct = f"/sessions/{session.pk}/treatment/correct/"
    found += check_page(manager_web, correct)
    found += problems(parse(manager_web.post(correct, {"modality": "x"})), "POST correct")

    ana = ClientFactory(first_name="Ana", last_name="Lopez", email="ana@example.com")
    again = {
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": "ANA@example.com",
        "date_of_birth": ana.date_of_birth.isoformat(),
    }
    found += problems(parse(manager_web.post("/clients/new/", again)), "POST duplicate")
    assert not found
