"""Issue 9, rule 8: schemathesis generates requests from /api/schema/ for every operation
and checks the answers: never a 500, and every answer (status code, content type, body,
headers) is one the schema documents.

Signed in as a manager (who may do everything). Bounded and reproducible: a fixed number
of examples per operation, derandomized. Path ids point at objects the fixture made, so
bodies are tried against real clients, sessions and plans rather than only 404s.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from clinic.roles import Role
from clinic.tokens import token_issue
from clinic.wsgi import application
from sessions_app.models import DayOff
from tests.factories import (
    ClearanceFactory,
    ClosedDayFactory,
    PlanFactory,
    ReminderFactory,
    ScreeningFactory,
    SessionFactory,
    UserFactory,
)
from tests.sessions_app.helpers import full_week

EXAMPLES = 10

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


# Loaded when the module is collected (schemathesis' lazy fixture loader does not work
# with pytest 9); making the schema needs no database. /api/schema/ is for staff only and
# no one can log in yet, so the schema comes from the generator that view serves.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application
schema.location = "/api/schema/"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes a connection that is not in autocommit mode (as in a test's
    transaction) when a request starts or ends; its own test client stops that the
    same way while it calls the app."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def clinic_data(db, a_client):
    """A little of everything, so ids in paths find something."""
    manager = UserFactory(username="fuzz-manager", role=Role.MANAGER)
    esthetician = UserFactory(username="fuzz-esthetician", role=Role.ESTHETICIAN)
    hours = full_week(esthetician)
    ScreeningFactory(client=a_client)
    clearance = ClearanceFactory(client=a_client)
    plan = PlanFactory(client=a_client, created_by=manager)
    session = SessionFactory(client=a_client, esthetician=esthetician, plan=plan)
    SessionFactory(esthetician=esthetician, start=session.start + timedelta(days=2))
    reminder = ReminderFactory(session=session)
    closed = ClosedDayFactory()
    day_off = DayOff.objects.create(esthetician=esthetician, date=closed.date, reason="Course")
    ids = {
        "clients": a_client.pk,
        "clearances": clearance.pk,
        "plans": plan.pk,
        "sessions": session.pk,
        "reminders": reminder.pk,
        "rooms": session.room_id,
        "devices": session.device_id,
        "working-hours": hours[0].pk,
        "closed-days": closed.pk,
        "days-off": day_off.pk,
        "staff": esthetician.pk,
    }
    _, token = token_issue(user=manager)
    return {"ids": ids, "headers": {"Authorization": f"Token {token}"}}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_only_what_its_schema_documents(case, clinic_data):
    resource = case.path.split("/")[2]
    if "id" in (case.path_parameters or {}) and resource in clinic_data["ids"]:
        case.path_parameters["id"] = clinic_data["ids"][resource]
    case.call_and_validate(headers=clinic_data["headers"], checks=CHECKS)
