"""The role × route matrix (issue 12, item 8), generated from the URL conf.

Every route is walked (includes and the API router too); for each HTTP method its view
accepts, the permission is read from the code itself: ``RoleRequiredMixin.permission``
on pages (and the ``forms`` map of a page that picks the permission by the posted
``action``), ``RolePermission`` with the view's ``role_permissions`` on the API. The
roles that may pass come from ``clinic.roles.PERMISSIONS``. A route that names no
permission must be on ``ALLOWLIST`` (with why), or the build breaks.

Each (route, method, role, channel) is then called for real: a session log-in for every
route, a knox token as well for the API, and once anonymously. Refused: a 403 (JSON on
the API, the HTML page elsewhere) that changes nothing. Allowed: anything but 401/403
(an empty body's 400/404/405/409 still proves the gate was passed), never a 5xx.
Anonymous: 401 from the API, the login page from the pages; public routes answer anyway.

Size when written (December 2026): 93 routes (the admin's index among them; its other
113 routes sit behind its own check), 162 route-methods, 834 calls, about 30 s on this
machine. The last test prints the current count (``-s``) and names it when it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client as BrowserClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.views import APIView

from clinic.permissions import RolePermission, RoleRequiredMixin
from clinic.roles import PERMISSION_WORDS, PERMISSIONS, Role, role_can
from clinic.tokens import token_issue
from protocols.models import Protocol
from sessions_app.links import link_token
from sessions_app.models import DayOff
from tests.factories import (
    ClearanceFactory,
    ClientFactory,
    ClosedDayFactory,
    DeviceFactory,
    PlanFactory,
    ReminderFactory,
    RoomFactory,
    SessionFactory,
    UserFactory,
    WorkingHoursFactory,
)

pytestmark = [
    pytest.mark.django_db,
    # An unordered list under pagination (UnorderedObjectListWarning) is a bug, not noise.
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER
ROLES = (FD, ES, MG)
METHODS = ("get", "post", "put", "patch", "delete")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Gate:
    """Who gets through: ``label`` says why (a permission, or an allowlist kind)."""

    label: str
    roles: frozenset[str]
    anonymous: bool = False


def permission_gate(permission: str) -> Gate:
    return Gate(permission, frozenset(r for r in ROLES if role_can(r, permission)))


PUBLIC = Gate("public", frozenset(ROLES), anonymous=True)
STAFF = Gate("any member of staff", frozenset(ROLES))
CLOSED = Gate("closed to everyone", frozenset())
MANAGERS = Gate("the admin's own check: managers", frozenset({MG}))

# Routes that deliberately name no permission (by route name; "admin:" is the namespace).
ALLOWLIST: dict[str, Gate] = {
    # The log-in page: strangers must reach it to sign in.
    "login": PUBLIC,
    # Django's POST-only log-out: signing out needs no permission (a stranger is sent to
    # the log-in page as LOGOUT_REDIRECT_URL, not bounced there with ?next=).
    "logout": PUBLIC,
    # For the load balancer (issue 12): no login, nothing secret in the answer.
    "health": PUBLIC,
    # The clients' email links: clients never log in, the signed token is the credential.
    "links:boost": PUBLIC,
    "links:boost-screening": PUBLIC,
    "links:screening": PUBLIC,
    "links:client-page": PUBLIC,
    "links:action": PUBLIC,
    # Asking for an API token with a username and password (throttled; axes locks out).
    "api-token": PUBLIC,
    # "/" only sends each member of staff to their start page: login, no permission.
    "home": STAFF,
    # The OpenAPI schema and its docs page: for logged-in staff, any role (issue 12,
    # item 8). The schema is an API view (IsAuthenticated: a stranger gets 401); the docs
    # page is a browser page (clinic.api_docs, LoginRequiredMixin: the log-in page).
    "schema": STAFF,
    "api-docs": STAFF,
    # DefaultRouter's index of endpoints: it has no role_permissions, so RolePermission
    # refuses it to everyone.
    "api-root": CLOSED,
    # The Django admin (~100 routes): clinic.admin_site lets managers in, answers other
    # staff 403 and strangers the log-in page; only its index is called here.
    "admin:": MANAGERS,
    # Static files have no route: WhiteNoise serves them in the middleware.
}
ADMIN_CALLED = {"admin:index"}

# The object a URL's ``pk`` is about: the path segment before it says which.
SEGMENT_KIND = {
    "clients": "client",
    "clearances": "clearance",
    "sessions": "session",
    "plans": "plan",
    "reminders": "reminder",
    "rooms": "room",
    "devices": "device",
    "hours": "working_hours",
    "working-hours": "working_hours",
    "closed-days": "closed_day",
    "days-off": "day_off",
    "protocols": "protocol",
    "staff": "staff",
    "revoke": "client",  # /e/revoke/<pk>/: every link emailed to this client
}
# The subject of a signed client link, by its action (sessions_app.link_views).
LINK_SUBJECT = {
    "confirm": "session",
    "cancel": "session",
    "unsubscribe": "client",
    "boost": "client",
    "screening": "client",
    "client": "client",
}
GENERIC_LINK_ACTION = "confirm"  # for /e/<action>/<token>/
PLACEHOLDER_PK = 987654321
# Stand-ins to reverse a route without objects: for its name in test ids, and for pk_kind.
PLACEHOLDERS = {"pk": PLACEHOLDER_PK, "token": "TOKENX", "action": "ACTIONX"}


# Walking the URL conf ------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, as reverse() takes it
    namespace: str
    pattern: str  # as written in the URL conf, for messages
    callback: object = field(compare=False)
    kwargs: tuple[str, ...]
    defaults: tuple[tuple[str, object], ...]


def _kwarg_names(pattern) -> list[str]:
    # path("<int:pk>/") compiles to a regex with named groups too, as re_path and the
    # router's routes are.
    return list(pattern.regex.groupindex)


def walk(patterns, prefix="", namespace="", kwargs=()) -> Iterator[Route]:
    for entry in patterns:
        names = (*kwargs, *_kwarg_names(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner, names)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(
                name=name or "",
                namespace=namespace,
                pattern=prefix + str(entry.pattern),
                callback=entry.callback,
                kwargs=names,
                defaults=tuple(sorted(entry.default_args.items())),
            )


def allowlisted(route: Route) -> Gate | None:
    if route.name in ALLOWLIST:
        return ALLOWLIST[route.name]
    return ALLOWLIST.get(f"{route.namespace}:") if route.namespace else None


# What the code requires ----------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One route and method (and, for a page that picks the permission by the posted
    ``action`` field, that action), with the gate the code puts in front of it."""

    route: Route
    method: str
    gate: Gate
    api: bool
    posted_action: str = ""

    @property
    def name(self) -> str:
        """``GET /clients/<pk>/`` (``[action=cancel]`` after the method when posted)."""
        path = reverse(self.route.name, kwargs={k: PLACEHOLDERS[k] for k in self.route.kwargs})
        for kwarg, value in PLACEHOLDERS.items():
            path = path.replace(str(value), f"<{kwarg}>")
        action = f"[action={self.posted_action}]" if self.posted_action else ""
        return f"{self.method.upper()}{action} {path}"


def _initkwarg(callback, name, default=None):
    """A view attribute as the route sets it: ``as_view(**initkwargs)`` (and a router
    action's own kwargs) win over the class's."""
    initkwargs = getattr(callback, "initkwargs", {}) or {}
    return initkwargs.get(name, getattr(callback.cls, name, default))


def api_methods(route: Route) -> dict[str, str | None]:
    """method -> viewset action (None on a plain API view), for what the view accepts."""
    callback, cls = route.callback, route.callback.cls
    allowed = _initkwarg(callback, "http_method_names", cls.http_method_names)
    actions = getattr(callback, "actions", None)
    if actions:
        return {m: a for m, a in actions.items() if m in METHODS and m in allowed}
    return {m: None for m in METHODS if m in allowed and hasattr(cls, m)}


def api_checks(route: Route) -> tuple[list[Check], list[str]]:
    callback = route.callback
    checks, holes = [], []
    listed = allowlisted(route)
    permission_classes = _initkwarg(callback, "permission_classes", [])
    gated = any(issubclass(p, RolePermission) for p in permission_classes)
    mapping = _initkwarg(callback, "role_permissions", {}) or {}
    for method, action in api_methods(route).items():
        if action:
            permission = mapping.get(f"{action}:{method}") or mapping.get(action)
        else:
            permission = mapping.get(method)
        if gated and permission:
            if listed is not None:
                holes.append(f"{method.upper()} /{route.pattern}: has {permission}, unlist it")
            elif permission not in PERMISSIONS:
                holes.append(f"{method.upper()} /{route.pattern}: unknown permission {permission}")
            else:
                checks.append(Check(route, method, permission_gate(permission), api=True))
        elif listed is not None:
            checks.append(Check(route, method, listed, api=True))
        elif not gated:
            names = [p.__name__ for p in permission_classes]
            holes.append(
                f"{method.upper()} /{route.pattern}: API view without RolePermission {names}"
            )
        else:
            holes.append(
                f"{method.upper()} /{route.pattern}: no role_permissions entry for "
                f"{action or method!r} (closed to all; name a permission or allowlist it)"
            )
    return checks, holes


def page_checks(route: Route) -> tuple[list[Check], list[str]]:
    view = getattr(route.callback, "view_class", None)
    listed = allowlisted(route)
    if view is None:  # a function view
        if listed is not None:
            return [Check(route, "get", listed, api=False)], []
        return [], [f"/{route.pattern}: function view with no permission (use RoleRequiredMixin)"]
    methods = [m for m in METHODS if m in view.http_method_names and hasattr(view, m)]
    permission = getattr(view, "permission", "") if issubclass(view, RoleRequiredMixin) else ""
    if listed is not None:
        if permission:
            return [], [f"/{route.pattern}: has {permission}, take it off the allowlist"]
        return [Check(route, m, listed, api=False) for m in methods], []
    if not permission:
        guarded = (
            "login-protected" if issubclass(view, LoginRequiredMixin) else "NOT login-protected"
        )
        return [], [f"/{route.pattern}: {view.__name__} has no permission ({guarded})"]
    if permission not in PERMISSIONS:
        return [], [f"/{route.pattern}: unknown permission {permission}"]
    checks = [Check(route, m, permission_gate(permission), api=False) for m in methods]
    # A page whose POST picks the permission by the posted ``action`` (the session page).
    forms = getattr(view, "forms", None)
    if "post" in methods and isinstance(forms, dict):
        for action, entry in forms.items():
            needed = entry[1] if isinstance(entry, tuple) and len(entry) == 2 else None
            if needed not in PERMISSIONS:
                return [], [f"/{route.pattern}: action {action}: unknown permission {needed}"]
            checks.append(Check(route, "post", permission_gate(needed), False, action))
    return checks, []


def is_api(route: Route) -> bool:
    """A DRF view, unless Django's log-in check runs before DRF's (a browser page such
    as the API docs): then it is a page, and a token alone does not open it."""
    cls = getattr(route.callback, "cls", None)
    return (
        isinstance(cls, type)
        and issubclass(cls, APIView)
        and not issubclass(cls, LoginRequiredMixin)
    )


def build_matrix() -> tuple[list[Route], list[Check], list[str]]:
    routes = list(walk(get_resolver().url_patterns))
    checks, holes = [], []
    for route in routes:
        if route.namespace == "admin" and route.name not in ADMIN_CALLED:
            continue  # behind the admin's own check (ALLOWLIST)
        if not route.name:
            holes.append(f"/{route.pattern}: unnamed route (name it so it can be reversed)")
            continue
        found, problems = (api_checks if is_api(route) else page_checks)(route)
        checks += found
        holes += problems
    return routes, checks, holes


ROUTES, CHECKS, HOLES = build_matrix()


def _cases():
    staff, anonymous = [], []
    for check in CHECKS:
        channels = ("session", "token") if check.api else ("session",)
        for role in ROLES:
            for channel in channels:
                case_id = f"{check.name} {role} {channel}"
                staff.append(pytest.param(check, role, channel, id=case_id))
        anonymous.append(pytest.param(check, id=f"{check.name} anonymous"))
    return staff, anonymous


STAFF_CASES, ANONYMOUS_CASES = _cases()


# The objects the URLs are about --------------------------------------------------------


def make_object(kind: str):
    if kind == "client":
        return ClientFactory()
    if kind == "clearance":
        return ClearanceFactory(
            document=ContentFile(PDF, name="letter.pdf"), document_content_type="application/pdf"
        )
    if kind == "session":
        return SessionFactory()
    if kind == "plan":
        return PlanFactory()
    if kind == "reminder":
        return ReminderFactory(status="failed", attempts=6, last_error="SMTP gone")
    if kind == "room":
        return RoomFactory()
    if kind == "device":
        return DeviceFactory()
    if kind == "working_hours":
        return WorkingHoursFactory()
    if kind == "closed_day":
        return ClosedDayFactory()
    if kind == "day_off":
        return DayOff.objects.create(
            esthetician=UserFactory(role=ES), date=timezone.localdate(), reason="Training"
        )
    if kind == "protocol":
        return Protocol.objects.order_by("min_age").first()
    if kind == "staff":
        return UserFactory(username="someone", role=ES)
    raise AssertionError(f"no factory for {kind!r}")


def pk_kind(route: Route) -> str:
    """Which kind of object ``pk`` is, from the path segment before it."""
    path = reverse(route.name, kwargs={"pk": PLACEHOLDER_PK})
    segments = path.strip("/").split("/")
    before = segments[segments.index(str(PLACEHOLDER_PK)) - 1]
    assert before in SEGMENT_KIND, f"/{route.pattern}: add {before!r} to SEGMENT_KIND"
    return SEGMENT_KIND[before]


def url_for(route: Route) -> tuple[str, object | None]:
    """The route's address with real objects in its kwargs, and the object it is about."""
    kwargs, subject = {}, None
    for name in route.kwargs:
        if name == "pk":
            subject = make_object(pk_kind(route))
            kwargs["pk"] = subject.pk
        elif name == "action":
            kwargs["action"] = GENERIC_LINK_ACTION
        elif name != "token":
            raise AssertionError(f"/{route.pattern}: no value for the URL kwarg {name!r}")
    if "token" in route.kwargs:
        action = kwargs.get("action") or dict(route.defaults)["action"]
        subject = make_object(LINK_SUBJECT[action])
        kwargs["token"] = link_token(action, subject.pk)
    return reverse(route.name, kwargs=kwargs), subject


# Calling -------------------------------------------------------------------------------


@pytest.fixture
def web():
    """Django's test client: a browser for the pages, any HTTP client for the API. (Not
    named ``browser``: pytest-playwright's fixture of that name would parametrize these.)"""
    return BrowserClient()


@pytest.fixture(autouse=True)
def _no_throttles(settings):
    """Hundreds of calls in a row: the rates would get in the way, not the gate."""
    settings.API_THROTTLE_ANON = "100000/minute"
    settings.API_THROTTLE_USER = "100000/minute"
    settings.API_THROTTLE_TOKEN = "100000/minute"


def call(web: BrowserClient, check: Check, path: str, headers=None):
    method = check.method.upper()
    if check.api:
        body = "{}" if method in ("POST", "PUT", "PATCH") else ""
        return web.generic(method, path, body, "application/json", headers=headers)
    if method == "GET":
        return web.get(path)
    data = f"action={check.posted_action}" if check.posted_action else ""
    return web.generic(method, path, data, "application/x-www-form-urlencoded")


TABLES = (
    "clients_client",
    "clients_screening",
    "clients_clearance",
    "clients_healthchange",
    "clinic_user",
    "protocols_protocol",
    "protocols_plan",
    "sessions_app_session",
    "sessions_app_treatmentrecord",
    "sessions_app_reminder",
    "sessions_app_room",
    "sessions_app_device",
    "sessions_app_workinghours",
    "sessions_app_closedday",
    "sessions_app_dayoff",
    "knox_authtoken",
    # A refused request reads no health data, so it logs no access either.
    "auditlog_logentry",
)


def snapshot(subject) -> tuple:
    """Row counts of the clinic's tables (one query) and the subject's own row."""
    # The table names are the constants above, not input.
    counts = ", ".join(f"(SELECT count(*) FROM {table})" for table in TABLES)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    own = None
    if subject is not None:
        own = type(subject).objects.filter(pk=subject.pk).values().first()
    return row, own


def is_login_bounce(response, path: str) -> bool:
    location = unquote(response.get("Location", ""))
    return response.status_code == 302 and location.startswith(f"{reverse('login')}?next={path}")


def assert_allowed(response, check: Check, path: str):
    assert response.status_code not in (401, 403), response.content[:300]
    assert response.status_code < 500 or (
        check.route.name == "health" and response.status_code == 503  # broker down: 503
    ), response.content[:300]
    assert not is_login_bounce(response, path), response["Location"]


def assert_refused(response, check: Check):
    assert response.status_code == 403, response.content[:300]
    if check.api:
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"]
    else:
        assert response["Content-Type"].startswith("text/html")
        if check.gate.label in PERMISSIONS:  # the page says, in words, what the role may not do
            page = response.content.decode()
            assert escape(PERMISSION_WORDS[check.gate.label]) in page
            assert check.gate.label not in page  # never the permission's code


# The matrix ----------------------------------------------------------------------------


def test_every_route_names_a_permission_or_is_allowlisted():
    assert not HOLES, "Routes with no permission and not on ALLOWLIST:\n" + "\n".join(HOLES)


def test_the_allowlist_names_only_routes_that_exist():
    names = {route.name for route in ROUTES} | {f"{route.namespace}:" for route in ROUTES}
    stale = [key for key in ALLOWLIST if key not in names]
    assert not stale


@pytest.mark.parametrize(("check", "role", "channel"), STAFF_CASES)
def test_staff_get_what_their_role_allows(web, check, role, channel):
    user = UserFactory(username=f"matrix-{role}", role=role)
    headers = None
    if channel == "token":
        _instance, token = token_issue(user=user)
        headers = {"Authorization": f"Token {token}"}
    else:
        web.force_login(user)
    path, subject = url_for(check.route)
    before = snapshot(subject)

    response = call(web, check, path, headers)

    if role in check.gate.roles:
        assert_allowed(response, check, path)
    else:
        assert_refused(response, check)
        assert snapshot(subject) == before


@pytest.mark.parametrize("check", ANONYMOUS_CASES)
def test_strangers_are_refused_unless_the_route_is_public(web, check):
    path, subject = url_for(check.route)
    before = snapshot(subject)

    response = call(web, check, path)

    if check.gate.anonymous:
        assert_allowed(response, check, path)
        return
    if check.api:
        assert response.status_code == 401, response.content[:300]
        # DRF's challenge (the body is in the view's own format: YAML for the schema).
        assert response["WWW-Authenticate"] == "Token"
    else:
        assert is_login_bounce(response, path), (response.status_code, response.get("Location"))
    assert snapshot(subject) == before


def test_the_matrix_reaches_every_route():
    """No route falls out of the matrix (a view whose methods came out empty, say)."""
    checked = {check.route.name for check in CHECKS}
    gated = [r.name for r in ROUTES if r.namespace != "admin" or r.name in ADMIN_CALLED]
    missing = sorted(set(gated) - checked)
    calls = len(STAFF_CASES) + len(ANONYMOUS_CASES)
    summary = f"{len(checked)} routes, {len(CHECKS)} route-methods, {calls} calls"
    assert not missing, f"{summary}; not in the matrix: {missing}"
    print(summary)  # shown with -s
