"""Who may do what (``clinic.roles.PERMISSIONS``), row by row, on every endpoint and page.

Each row names a method, a route and the status each role gets. A write a role may not
make answers 403 and changes nothing; anonymous callers get 401 from the API and the
login page from the browser.
"""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from rest_framework.test import APIClient

from clients.models import Clearance, Client, Screening
from clinic.models import User
from clinic.roles import PERMISSIONS, Role, role_can
from protocols.models import Protocol
from sessions_app.models import ClosedDay, Device, Room, WorkingHours
from tests.factories import (
    PASSWORD,
    ClearanceFactory,
    DeviceFactory,
    ReminderFactory,
    RoomFactory,
    SessionFactory,
    UserFactory,
    screening_answers,
)

pytestmark = [
    pytest.mark.django_db,
    # An unordered list under pagination (UnorderedObjectListWarning) is a bug, not noise.
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

NEW_CLIENT = {
    "first_name": "Bea",
    "last_name": "Quinn",
    "email": "bea.quinn@example.com",
    "phone": "+14155550134",
    "date_of_birth": "1980-03-02",
}
CLEARANCE = {
    "physician": "Dr. Ada Park",
    "issued_on": "2026-01-05",
    "conditions": ["cancer_treatment"],
}
NEW_STAFF = {"username": "newbie", "password": PASSWORD, "role": "esthetician"}

# The table every role is held to: what each of them may do, in the clinic's words.
EXPECTED_PERMISSIONS = {
    "clients.view": {FD, ES, MG},
    "clients.edit": {FD, MG},
    "clients.revoke_links": {MG},
    "clients.export": {MG},
    "clients.erase": {MG},
    "audit.view": {MG},
    "screenings.record": {FD, ES, MG},
    "clearances.record": {FD, MG},
    "clearances.view_document": {FD, ES, MG},
    "protocols.view": {FD, ES, MG},
    "protocols.edit": {MG},
    "sessions.view": {FD, ES, MG},
    "sessions.book": {FD, ES, MG},
    "sessions.cancel": {FD, ES, MG},
    "sessions.no_show": {FD, ES, MG},
    "sessions.treat": {ES, MG},
    "treatments.correct_any": {MG},
    "plans.cancel": {FD, ES, MG},
    "reminders.view": {MG},
    "reminders.manage": {MG},
    "maintenance.view": {FD, ES, MG},
    "activity.view": {FD, MG},
    "resources.view": {FD, ES, MG},
    "resources.manage": {MG},
    "staff.manage": {MG},
    "account.tokens": {FD, ES, MG},
}

# (method, route name, the object the URL is about, payload, status for FD, ES, MG)
API = [
    ("get", "client-list", None, None, 200, 200, 200),
    ("post", "client-list", None, NEW_CLIENT, 201, 403, 201),
    ("get", "client-detail", "client", None, 200, 200, 200),
    ("patch", "client-detail", "client", {"notes": "Prefers mornings."}, 200, 403, 200),
    ("put", "client-detail", "client", NEW_CLIENT, 200, 403, 200),
    ("get", "client-eligibility", "client", None, 200, 200, 200),
    ("get", "client-screenings", "client", None, 200, 200, 200),
    ("post", "client-screenings", "client", screening_answers(), 201, 201, 201),
    ("get", "client-clearances", "client", None, 200, 200, 200),
    ("post", "client-clearances", "client", CLEARANCE, 201, 403, 201),
    ("get", "api-clearance-document", "clearance", None, 200, 200, 200),
    ("get", "api-client-export", "client", None, 403, 403, 200),
    ("post", "api-client-erase", "client", {"confirm": "Ana Lopez"}, 403, 403, 200),
    ("get", "staff-list", None, None, 403, 403, 200),
    ("post", "staff-list", None, NEW_STAFF, 403, 403, 201),
    ("get", "staff-detail", "staff", None, 403, 403, 200),
    ("get", "room-list", None, None, 200, 200, 200),
    ("post", "room-list", None, {"name": "Garden room"}, 403, 403, 201),
    ("get", "room-detail", "room", None, 200, 200, 200),
    ("patch", "room-detail", "room", {"name": "Quiet room"}, 403, 403, 200),
    ("get", "device-list", None, None, 200, 200, 200),
    ("post", "device-list", None, {"name": "NuFACE", "serial_number": "SN-NEW"}, 403, 403, 201),
    ("get", "device-detail", "device", None, 200, 200, 200),
    ("patch", "device-detail", "device", {"in_service": False}, 403, 403, 200),
    ("get", "working-hours-list", None, None, 200, 200, 200),
    ("get", "closed-day-list", None, None, 200, 200, 200),
    ("post", "closed-day-list", None, {"date": "2027-01-01", "reason": "New Year"}, 403, 403, 201),
    ("get", "protocol-list", None, None, 200, 200, 200),
    ("patch", "protocol-detail", "protocol", {}, 403, 403, 200),
    ("get", "plan-list", None, None, 200, 200, 200),
    ("get", "session-list", None, None, 200, 200, 200),
    ("get", "reminder-list", None, None, 403, 403, 200),
    ("get", "reminder-detail", "reminder", None, 403, 403, 200),
]

# (route name, the object the URL is about, status for FD, ES, MG)
PAGES = [
    ("clients:list", None, 200, 200, 200),
    ("clients:create", None, 200, 403, 200),
    ("clients:detail", "client", 200, 200, 200),
    ("clients:edit", "client", 200, 403, 200),
    ("clients:screening", "client", 200, 200, 200),
    ("clients:clearance", "client", 200, 403, 200),
    ("clients:clearance-document", "clearance", 200, 200, 200),
    ("sessions:client-erase", "client", 403, 403, 200),
    ("clients:access-log", None, 403, 403, 200),
    ("sessions:reminders", None, 403, 403, 200),
    ("sessions:reminder-preview", "reminder", 403, 403, 200),
    ("sessions:maintenance-due", None, 200, 200, 200),
    ("sessions:client-activity", None, 200, 403, 200),
    ("admin:index", None, 403, 403, 200),
    ("password-change", None, 200, 200, 200),
    ("account-tokens", None, 200, 200, 200),
    ("logins", None, 403, 403, 200),
]

ROLES = (FD, ES, MG)


def by_role(table, named_by: int):
    """One case per row and role: (role, *row without statuses, expected status), with an
    id made of the role and the row's first ``named_by`` items."""
    return [
        pytest.param(role, *row[:-3], status, id="-".join([role, *row[:named_by]]))
        for row in table
        for role, status in zip(ROLES, row[-3:], strict=True)
    ]


@pytest.fixture
def objects(a_client, esthetician):
    clearance = ClearanceFactory(
        client=a_client,
        document=ContentFile(PDF, name="letter.pdf"),
        document_content_type="application/pdf",
    )
    room, device = RoomFactory(), DeviceFactory()
    return {
        "client": a_client,
        "clearance": clearance,
        "staff": esthetician,
        "room": room,
        "device": device,
        "protocol": Protocol.objects.order_by("min_age").first(),
        "reminder": ReminderFactory(
            session=SessionFactory(
                client=a_client, esthetician=esthetician, room=room, device=device
            ),
            status="failed",
            attempts=6,
            last_error="SMTPServerDisconnected: Connection unexpectedly closed",
        ),
    }


def route(objects, name, about) -> str:
    return reverse(name, args=[objects[about].pk] if about else [])


def call(api, method, path, payload):
    if payload is None:
        return getattr(api, method)(path)
    return getattr(api, method)(path, payload, format="json")


def counts() -> dict[str, int]:
    models = (Client, Screening, Clearance, User, Room, Device, WorkingHours, ClosedDay)
    return {m.__name__: m.objects.count() for m in models}


# The table itself ---------------------------------------------------------------------


def test_permission_table_is_the_one_the_clinic_agreed():
    assert {name: set(roles) for name, roles in PERMISSIONS.items()} == EXPECTED_PERMISSIONS


def test_unknown_permission_is_refused_to_every_role():
    assert not any(role_can(role, "clients.delete") for role in ROLES)


def test_a_user_without_a_role_may_do_nothing():
    assert not role_can(None, "clients.view")


# The API, row by row ------------------------------------------------------------------


@pytest.mark.parametrize(("role", "method", "name", "about", "payload", "status"), by_role(API, 2))
def test_api_answers_each_role_as_the_table_says(
    api_as, objects, role, method, name, about, payload, status
):
    response = call(api_as(role), method, route(objects, name, about), payload)
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("role", "method", "name", "about", "payload", "status"),
    [case for case in by_role(API, 2) if case.values[-1] == 403 and case.values[1] != "get"],
)
def test_refused_api_write_changes_nothing(
    api_as, objects, role, method, name, about, payload, status
):
    before = counts()
    response = call(api_as(role), method, route(objects, name, about), payload)
    assert response.status_code == 403
    assert counts() == before


@pytest.mark.parametrize(
    ("method", "name", "about", "payload"),
    [pytest.param(*row[:4], id=f"{row[0]}-{row[1]}") for row in API],
)
def test_anonymous_api_call_answers_401(objects, method, name, about, payload):
    before = counts()
    response = call(APIClient(), method, route(objects, name, about), payload)
    assert response.status_code == 401
    assert counts() == before


def test_anonymous_may_ask_for_a_token(front_desk):
    response = APIClient().post(
        reverse("api-token"), {"username": "fd", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_api_schema_and_docs_are_for_staff_only(client, api_as, page_as):
    # The schema names every field of the health data: 401 to anyone not logged in, and
    # the docs page sends them to log in.
    assert APIClient().get(reverse("schema")).status_code == 401
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302
    assert docs["Location"].startswith(reverse("login"))
    for role in (FD, ES, MG):
        assert api_as(role).get(reverse("schema")).status_code == 200
        assert page_as(role).get(reverse("api-docs")).status_code == 200


@pytest.mark.parametrize("name", ["room-detail", "device-detail"])
def test_rooms_and_devices_are_never_deleted_even_by_managers(api_as, objects, name):
    about = name.split("-")[0]
    response = api_as(MG).delete(route(objects, name, about))
    assert response.status_code == 405
    assert Room.objects.count() == 1
    assert Device.objects.count() == 1


def test_superuser_without_the_manager_role_may_do_what_a_manager_may(db):
    boss = UserFactory(username="boss", role=FD, is_superuser=True)
    api = APIClient()
    api.force_authenticate(boss)
    assert api.get(reverse("staff-list")).status_code == 200


def test_deactivated_member_of_staff_may_do_nothing(db, a_client):
    gone = UserFactory(username="gone", role=MG, is_active=False)
    api = APIClient()
    api.force_authenticate(gone)
    assert api.get(reverse("client-list")).status_code == 403


def test_a_token_carries_the_role_of_its_owner(esthetician, a_client):
    api = APIClient()
    token = api.post(
        reverse("api-token"), {"username": "est", "password": PASSWORD}, format="json"
    ).data["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(reverse("client-detail", args=[a_client.pk])).status_code == 200
    assert api.post(reverse("client-list"), NEW_CLIENT, format="json").status_code == 403


# The pages, row by row ----------------------------------------------------------------


@pytest.mark.parametrize(("role", "name", "about", "status"), by_role(PAGES, 1))
def test_page_answers_each_role_as_the_table_says(page_as, objects, role, name, about, status):
    response = page_as(role).get(route(objects, name, about))
    assert response.status_code == status


@pytest.mark.parametrize(("name", "about"), [pytest.param(*row[:2], id=row[0]) for row in PAGES])
def test_anonymous_page_visit_is_sent_to_the_login_page(client, objects, name, about):
    path = route(objects, name, about)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert path in response["Location"].replace("%2F", "/")


@pytest.mark.parametrize(
    ("name", "about", "form"),
    [
        ("clients:create", None, NEW_CLIENT),
        ("clients:edit", "client", NEW_CLIENT),
        (
            "clients:clearance",
            "client",
            {**CLEARANCE, "conditions": "cancer_treatment"},
        ),
    ],
)
def test_esthetician_page_post_is_refused_and_changes_nothing(page_as, objects, name, about, form):
    before = counts()
    response = page_as(ES).post(route(objects, name, about), form)
    assert response.status_code == 403
    assert counts() == before
    assert Client.objects.get(pk=objects["client"].pk).first_name == "Ana"


@pytest.mark.parametrize("role", [FD, ES])
def test_resending_a_reminder_is_refused_to_all_but_managers(page_as, objects, role):
    reminder = objects["reminder"]
    response = page_as(role).post(reverse("sessions:reminder-resend", args=[reminder.pk]))
    assert response.status_code == 403
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("failed", 6)


def test_manager_may_resend_a_failed_reminder(page_as, objects):
    reminder = objects["reminder"]
    response = page_as(MG).post(reverse("sessions:reminder-resend", args=[reminder.pk]))
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("scheduled", 0)


def test_esthetician_may_record_a_screening_on_the_page(page_as, objects):
    answers = {name: "no" for name in screening_answers()}
    response = page_as(ES).post(route(objects, "clients:screening", "client"), answers)
    assert response.status_code == 302
    assert Screening.objects.filter(client=objects["client"]).count() == 1


def test_refused_page_says_why(page_as, objects):
    response = page_as(ES).get(route(objects, "clients:create", None))
    html = response.content.decode()
    # In words, once (issue 13), never the permission's code.
    said = "Your role (Esthetician) may not register clients or change their details."
    assert html.count(said) == 1
    assert "clients.edit" not in html
