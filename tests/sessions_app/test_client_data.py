"""A client's data exported as a ZIP, and the client erased (issue 12, item 5): every
part of the export and nobody else's data in it; after erasure no column of any table
holds the client's name, email or phone, nothing is ever sent to them, their links are
refused, their sessions and treatment records still count and their letters are gone
from disk; one service behind the page, the API and the admin; managers only;
idempotent; query counts flat; both recorded in the access log."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from auditlog.models import LogEntry as AuditLogEntry
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients import services as client_services
from clients.models import Clearance, Client, HealthChange, Screening
from clinic.models import IdempotencyKey, User
from clinic.roles import Role
from sessions_app.client_data import client_erase, client_export
from sessions_app.links import link_token
from sessions_app.models import Reminder, Session, TreatmentRecord
from sessions_app.reminders import reminders_dispatch
from tests.factories import (
    ClientFactory,
    DeviceFactory,
    PlanFactory,
    ReminderFactory,
    RoomFactory,
    SessionFactory,
    screening_answers,
)
from tests.sessions_app.helpers import full_week, screen

pytestmark = pytest.mark.django_db

# Strings found nowhere else in the test database, so that a LIKE finds only the client.
FIRST, LAST = "Zephyrine", "Quillfeather"
EMAIL = "zephyrine.q@example.org"
PHONE = "+14155550199"
IDENTIFIERS = [FIRST, LAST, EMAIL, PHONE.removeprefix("+1")]
PDF = b"%PDF-1.4\n% the letter of Dr. Park\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# The client, with something in every part -----------------------------------------------
def make_person(api, by, *, first: str, last: str, email: str, phone: str, key: str) -> Client:
    """Registered through the API with an ``Idempotency-Key``, so the stored answer (a
    table of its own) holds the client's details too."""
    body = {
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "date_of_birth": "1984-05-17",
    }
    api.force_authenticate(by)
    response = api.post("/api/clients/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.json()
    return Client.objects.get(pk=response.json()["id"])


def fill(client: Client, *, staff, sessions: int = 3) -> dict:
    """History, two screenings, a clearance with a letter, a plan, ``sessions`` past
    completed sessions with treatment records, a cancelled one with a reason, one booked
    ahead, a reported health change, and emails in every state."""
    front_desk, esthetician, manager = staff
    client_services.client_update(
        client=client, by=front_desk, notes=f"{FIRST} prefers mornings; call {PHONE}."
    )
    client_services.screening_record(
        client=client, answers=screening_answers("recent_surgery"), by=front_desk
    )
    clearance = client_services.clearance_record(
        client=client,
        physician=f"Dr. Park (sees {LAST})",
        issued_on=timezone.localdate() - timedelta(days=3),
        conditions=["recent_surgery"],
        by=front_desk,
        document=SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
    )
    client_services.screening_record(client=client, answers=screening_answers(), by=front_desk)
    plan = PlanFactory(client=client, created_by=esthetician)
    room, device = RoomFactory(), DeviceFactory()
    done = []
    # Each client's sessions at an hour of their own, so that two clients filled for one
    # test never clash over the esthetician.
    hour = timedelta(hours=client.pk % 20)
    for days_ago in range(sessions):
        start = timezone.now() - timedelta(days=30 + days_ago) + hour
        session = SessionFactory(
            client=client,
            esthetician=esthetician,
            room=room,
            device=device,
            plan=plan,
            kind=Session.Kind.SERIES,
            start=start,
            status=Session.Status.COMPLETED,
            checked_in_at=start,
            checked_in_by=esthetician,
            completed_at=start + timedelta(minutes=45),
            completed_by=esthetician,
        )
        TreatmentRecord.objects.create(
            session=session,
            modality="static",
            intensity_microamps=200,
            frequency_hz="10.00",
            duration_minutes=40,
            areas=["cheeks"],
            add_ons=["led"],
            notes=f"{FIRST} liked the LED.",
            recorded_by=esthetician,
        )
        ReminderFactory(
            session=session, kind="hydration_after", status="sent", sent_at=start, due_at=start
        )
        done.append(session)
    change = client_services.health_change_record(
        client=client, by=esthetician, note=f"{FIRST} says she had surgery."
    )
    Session.objects.filter(pk=done[0].pk).update(health_change=change)
    SessionFactory(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=timezone.now() - timedelta(days=10) + hour,
        status=Session.Status.CANCELLED,
        cancelled_at=timezone.now() - timedelta(days=11),
        cancelled_by=front_desk,
        cancel_reason=f"{FIRST} called: her daughter is ill.",
    )
    ahead = SessionFactory(
        client=client,
        esthetician=esthetician,
        room=room,
        device=device,
        start=timezone.now() + timedelta(days=5) + hour,
    )
    pending = [
        ReminderFactory(session=ahead, kind="hydration_before", due_at=ahead.start),
        ReminderFactory(
            session=ahead,
            kind="booking_confirmation",
            status="failed",
            attempts=6,
            last_error=f"The mail server refused the address: {EMAIL} (550 no).",
        ),
        ReminderFactory(
            session=None,
            client=client,
            kind="maintenance_due",
            due_at=timezone.now() + timedelta(days=20),
        ),
    ]
    # The admin's log, as an edit in the admin would have written it.
    for obj in (client, ahead):
        LogEntry.objects.create(
            user=manager,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj),
            action_flag=CHANGE,
            change_message="[]",
        )
    return {
        "clearance": clearance,
        "plan": plan,
        "done": done,
        "ahead": ahead,
        "pending": pending,
        "room": room,
        "device": device,
    }


@pytest.fixture
def staff(front_desk, esthetician, manager):
    full_week(esthetician)
    return front_desk, esthetician, manager


@pytest.fixture
def person(api, staff):
    client = make_person(
        api, staff[0], first=FIRST, last=LAST, email=EMAIL, phone=PHONE, key="zq-register"
    )
    return client, fill(client, staff=staff)


@pytest.fixture
def other(api, staff):
    """Someone else, with a screening, a session and an email of her own."""
    client = make_person(
        api,
        staff[0],
        first="Bartholomea",
        last="Otherwise",
        email="b.otherwise@example.net",
        phone="+14155550177",
        key="bo-register",
    )
    screen(client)
    session = SessionFactory(client=client, esthetician=staff[1])
    reminder = ReminderFactory(session=session, kind="booking_confirmation")
    return client, session, reminder


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def access_rows(client: Client, what: str) -> list:
    """The access log's rows for ``client`` and ``what`` (``clients.audit``: rows of
    django-auditlog's LogEntry)."""
    return list(
        AuditLogEntry.objects.filter(
            additional_data__client_id=client.pk, additional_data__what=what
        ).select_related("actor")
    )


# Export ---------------------------------------------------------------------------------
def test_export_zip_holds_every_part_of_the_client_and_nobody_else(page_as, person, other, manager):
    client, made = person
    response = page_as(Role.MANAGER).post(reverse("sessions:client-export", args=[client.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="client-{client.pk}-zephyrine-quillfeather-{day}.zip"'
    )
    assert "no-store" in response["Cache-Control"]
    files = unzip(response.content)
    letter = f"letters/clearance-{made['clearance'].pk}.pdf"
    assert set(files) == {
        "README.txt",
        "manifest.json",
        "profile.json",
        "screenings.json",
        "clearances.json",
        "plans.json",
        "sessions.json",
        "health_changes.json",
        "emails.json",
        letter,
    }
    assert files[letter] == PDF
    data = {name: json.loads(body) for name, body in files.items() if name.endswith(".json")}

    profile = data["profile.json"]
    assert (profile["client"]["email"], profile["client"]["phone"]) == (EMAIL, PHONE)
    assert profile["client"]["notes"].startswith(f"{FIRST} prefers mornings")
    assert [(h["what"], h["by"]["username"]) for h in profile["history"]] == [
        ("registered", "fd"),
        ("changed", "fd"),
    ]
    assert profile["history"][0]["notes"] == ""

    screenings = data["screenings.json"]
    assert [s["outcome"] for s in screenings] == ["needs_clearance", "eligible"]
    assert screenings[0]["answers"]["recent_surgery"] is True
    assert screenings[0]["flagged"] == ["recent_surgery"]
    assert screenings[0]["reasons"]
    assert (screenings[0]["recorded_by"]["username"], screenings[0]["answered_online"]) == (
        "fd",
        False,
    )

    (clearance,) = data["clearances.json"]
    assert clearance["letter"] == letter
    assert clearance["conditions"] == ["recent_surgery"]
    assert clearance["physician"] == f"Dr. Park (sees {LAST})"

    (plan,) = data["plans.json"]
    assert (plan["id"], plan["age_at_start"]) == (made["plan"].pk, made["plan"].age_at_start)

    sessions = {s["id"]: s for s in data["sessions.json"]}
    assert set(sessions) == set(Session.objects.filter(client=client).values_list("pk", flat=True))
    treated = sessions[made["done"][0].pk]
    assert treated["treatment"]["intensity_microamps"] == 200
    assert treated["treatment"]["notes"] == f"{FIRST} liked the LED."
    assert treated["completed_by"]["username"] == "est"
    assert treated["health_change_reported"] is not None
    assert sessions[made["ahead"].pk]["status"] == "booked"
    assert sessions[made["ahead"].pk]["treatment"] is None

    (change,) = data["health_changes.json"]
    assert change["note"] == f"{FIRST} says she had surgery."
    assert change["session"] == made["done"][0].pk

    emails = data["emails.json"]
    assert {(e["kind"], e["status"]) for e in emails} >= {
        ("hydration_after", "sent"),
        ("hydration_before", "scheduled"),
        ("booking_confirmation", "failed"),
        ("maintenance_due", "scheduled"),
    }
    assert len(emails) == Reminder.objects.filter(client=client).count()

    manifest = data["manifest.json"]
    assert manifest["client"] == client.pk
    assert manifest["exported_by"]["username"] == manager.username
    assert manifest["counts"]["sessions"] == len(sessions)
    assert manifest["counts"]["treatment_records"] == 3
    for entry in manifest["files"]:
        assert hashlib.sha256(files[entry["name"]]).hexdigest() == entry["sha256"]
    assert {entry["name"] for entry in manifest["files"]} == set(files) - {"manifest.json"}

    # Nobody else's data: not her name, email, session, or email row.
    everything = b"".join(files.values())
    other_client, other_session, other_reminder = other
    for text in ("Bartholomea", "Otherwise", "b.otherwise@example.net", "4155550177"):
        assert text.encode() not in everything
    assert other_session.pk not in sessions
    assert other_reminder.pk not in {e["id"] for e in emails}


def test_export_through_the_api_is_the_same_zip_and_is_logged(api, person, manager):
    client, made = person
    api.force_authenticate(manager)

    response = api.get(f"/api/clients/{client.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment; ")
    assert "no-store" in response["Cache-Control"]
    files = unzip(response.content)
    assert files[f"letters/clearance-{made['clearance'].pk}.pdf"] == PDF
    (row,) = access_rows(client, "client_export")
    assert (row.additional_data["action"], row.actor) == ("export", manager)
    assert row.additional_data["channel"] == "api"


def test_export_runs_the_same_queries_for_1_or_12_sessions(staff, manager):
    counts = []
    for sessions in (1, 12):
        client = ClientFactory()
        fill(client, staff=staff, sessions=sessions)
        with CaptureQueriesContext(connection) as queries:
            client_export(client=client, by=manager)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 14


# Erasure --------------------------------------------------------------------------------
def text_columns() -> list[tuple[str, str, str]]:
    """Every text, character, JSON and binary column of every table in the database
    (history tables, the outbox, the admin's log, stored API answers…)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type IN "
            "('text', 'character varying', 'json', 'jsonb', 'bytea')"
        )
        return cursor.fetchall()


def where_found(texts: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, text) for every column holding any of ``texts`` (raw SQL)."""
    found = []
    with connection.cursor() as cursor:
        for table, column, data_type in text_columns():
            value = (
                f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'
            )
            for text in texts:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE {value} ILIKE %s LIMIT 1',  # noqa: S608
                    [f"%{text}%"],
                )
                if cursor.fetchone():
                    found.append((table, column, text))
    return found


def erase_on_page(browser, client: Client, typed: str | None = None):
    return browser.post(
        reverse("sessions:client-erase", args=[client.pk]),
        {"confirm_name": typed if typed is not None else f"{FIRST} {LAST}"},
    )


def test_after_erasure_no_table_holds_the_clients_name_email_or_phone(
    page_as, person, other, settings
):
    client, made = person
    # The scan finds every identifier before: it would see one left behind.
    before = {text for _, _, text in where_found(IDENTIFIERS)}
    assert before == set(IDENTIFIERS)
    letter = Path(settings.PRIVATE_MEDIA_ROOT) / made["clearance"].document.name
    assert letter.read_bytes() == PDF
    counted = (
        Session.objects.filter(client=client).count(),
        TreatmentRecord.objects.filter(session__client=client).count(),
        Screening.objects.filter(client=client).count(),
    )

    response = erase_on_page(page_as(Role.MANAGER), client)

    assert response.status_code == 302
    assert where_found(IDENTIFIERS) == []
    # Her neighbour is untouched.
    assert {t for _, _, t in where_found(["Bartholomea", "b.otherwise@example.net"])} == {
        "Bartholomea",
        "b.otherwise@example.net",
    }
    # Sessions and treatment records still count, as anonymous statistics.
    assert (
        Session.objects.filter(client=client).count(),
        TreatmentRecord.objects.filter(session__client=client).count(),
        Screening.objects.filter(client=client).count(),
    ) == counted
    assert not letter.exists()
    clearance = Clearance.objects.get(pk=made["clearance"].pk)
    assert (clearance.document.name, clearance.physician) == ("", "")
    assert clearance.conditions == ["recent_surgery"]
    assert HealthChange.objects.get(client=client).note == ""
    client.refresh_from_db()
    assert (client.first_name, client.last_name) == ("Erased", f"client {client.pk}")
    assert client.email.endswith("@erased.invalid")
    assert (client.phone, client.notes) == ("", "")
    assert client.date_of_birth == date(1984, 7, 1)
    assert client.history.count() == 3


def test_erasure_cancels_future_sessions_silently_and_every_pending_email(person, other, manager):
    client, made = person
    emails_before = Reminder.objects.count()

    erasure = client_erase(client=client, by=manager)

    assert (erasure.already, erasure.sessions_cancelled, erasure.emails_cancelled) == (
        False,
        1,
        3,
    )
    ahead = Session.objects.get(pk=made["ahead"].pk)
    assert (ahead.status, ahead.cancelled_by) == (Session.Status.CANCELLED, manager)
    # No notice of the cancellation, and no other email planned.
    assert Reminder.objects.count() == emails_before
    for reminder in made["pending"]:
        reminder.refresh_from_db()
        assert reminder.status == Reminder.Status.CANCELLED
        assert reminder.last_error == "Cancelled: the client's data was erased."
    assert set(Reminder.objects.filter(client=client).values_list("status", flat=True)) == {
        "sent",
        "cancelled",
    }
    # Her slot is free at once: another client takes it (the database would refuse a clash).
    SessionFactory(
        client=other[0],
        esthetician=ahead.esthetician,
        room=ahead.room,
        device=ahead.device,
        start=ahead.start,
    )
    # The other client's email still goes.
    other[2].refresh_from_db()
    assert other[2].status == Reminder.Status.SCHEDULED


def test_after_erasure_a_real_dispatch_sends_nothing_to_the_client(person, other, manager, inbox):
    client, made = person
    client_erase(client=client, by=manager)
    # Even a row planned afterwards by some path is skipped, with the reason on it.
    late = ReminderFactory(session=made["ahead"], kind="booking_confirmation", status="scheduled")

    result = reminders_dispatch()

    assert result.sent == 1
    assert inbox.reminder_ids() == {other[2].pk: 1}
    recipients = {m["To"] for m in inbox.messages}
    assert recipients == {"b.otherwise@example.net"}
    late.refresh_from_db()
    assert (late.status, late.last_error) == ("cancelled", "Skipped: the client's data was erased.")


def test_links_already_sent_to_an_erased_client_are_refused(person, manager):
    client, made = person
    visitor_links = [
        reverse("links:client-page", args=[link_token("client", client.pk)]),
        reverse("links:boost", args=[link_token("boost", client.pk)]),
        reverse("links:screening", args=[link_token("screening", client.pk)]),
        reverse("links:action", args=["cancel", link_token("cancel", made["ahead"].pk)]),
        reverse("links:action", args=["unsubscribe", link_token("unsubscribe", client.pk)]),
    ]
    from django.test import Client as Browser

    visitor = Browser()
    assert [visitor.get(link).status_code for link in visitor_links] == [200] * 5

    client_erase(client=client, by=manager)

    assert [visitor.get(link).status_code for link in visitor_links] == [410] * 5
    # A link signed after the erasure opens nothing either.
    fresh = reverse("links:client-page", args=[link_token("client", client.pk)])
    assert visitor.get(fresh).status_code == 410
    assert visitor.post(visitor_links[3]).status_code == 410


def test_erasure_is_recorded_in_the_access_log_once(page_as, person, manager):
    client, _ = person
    browser = page_as(Role.MANAGER)

    erase_on_page(browser, client)
    erase_on_page(browser, client)

    (row,) = access_rows(client, "client_erasure")
    assert (row.additional_data["action"], row.actor) == ("erase", manager)
    assert row.additional_data["channel"] == "page"


def snapshot(client: Client) -> dict:
    return {
        "client": list(Client.objects.filter(pk=client.pk).values()),
        "history": list(Client.history.filter(id=client.pk).values()),
        "sessions": list(Session.objects.filter(client=client).order_by("pk").values()),
        "emails": list(Reminder.objects.filter(client=client).order_by("pk").values()),
        "clearances": list(Clearance.objects.filter(client=client).values()),
        "admin_log": list(LogEntry.objects.order_by("pk").values()),
    }


def test_a_double_submit_or_a_second_erase_changes_nothing(page_as, api, person, manager):
    client, _ = person
    browser = page_as(Role.MANAGER)
    first = erase_on_page(browser, client)
    after_first = snapshot(client)

    again = erase_on_page(browser, client, typed="whatever")
    api.force_authenticate(manager)
    answer = api.post(f"/api/clients/{client.pk}/erase/", {}, format="json")
    repeated = client_erase(client=client, by=manager)

    assert (first.status_code, again.status_code) == (302, 302)
    assert answer.status_code == 200
    assert answer.json()["already_erased"] is True
    assert repeated.already
    assert snapshot(client) == after_first
    page = browser.get(reverse("clients:detail", args=[client.pk]), follow=True)
    assert "was already erased" in page.text or "data was erased" in page.text


def test_the_api_erases_once_the_name_is_confirmed(api, person, manager):
    client, _ = person
    api.force_authenticate(manager)

    missing = api.post(f"/api/clients/{client.pk}/erase/", {}, format="json")
    wrong = api.post(f"/api/clients/{client.pk}/erase/", {"confirm": "Someone Else"})
    assert (missing.status_code, wrong.status_code) == (400, 400)
    assert "confirm" in missing.json()
    assert "confirm" in wrong.json()
    client.refresh_from_db()
    assert client.erased_at is None

    done = api.post(f"/api/clients/{client.pk}/erase/", {"confirm": f" {FIRST.lower()}  {LAST} "})

    assert done.status_code == 200
    body = done.json()
    assert (body["already_erased"], body["erased_by"], body["sessions_cancelled"]) == (
        False,
        manager.username,
        1,
    )
    assert (body["emails_cancelled"], body["letters_removed"]) == (3, 1)
    client.refresh_from_db()
    assert client.erased_at is not None


def test_the_erase_page_refuses_a_wrong_name_and_changes_nothing(page_as, person):
    client, _ = person
    browser = page_as(Role.MANAGER)

    shown = browser.get(reverse("sessions:client-erase", args=[client.pk]))
    refused = erase_on_page(browser, client, typed="Zephyrine Q")

    assert shown.status_code == 200
    assert "cannot be undone" in shown.text
    assert "1 booked session in the future cancelled" in shown.text
    assert "3 emails not yet sent cancelled" in shown.text
    assert "no-store" in shown["Cache-Control"]
    assert refused.status_code == 400
    assert "That is not the client&#x27;s name" in refused.text
    client.refresh_from_db()
    assert (client.erased_at, client.first_name) == (None, FIRST)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ESTHETICIAN])
def test_only_managers_export_or_erase(page_as, api_as, person, role):
    client, _ = person
    before = snapshot(client)
    browser = page_as(role)
    api = api_as(role)

    statuses = [
        browser.post(reverse("sessions:client-export", args=[client.pk])).status_code,
        browser.get(reverse("sessions:client-erase", args=[client.pk])).status_code,
        erase_on_page(browser, client).status_code,
        api.get(f"/api/clients/{client.pk}/export/").status_code,
        api.post(
            f"/api/clients/{client.pk}/erase/", {"confirm": f"{FIRST} {LAST}"}, format="json"
        ).status_code,
    ]

    assert statuses == [403] * 5
    assert snapshot(client) == before
    page = browser.get(reverse("clients:detail", args=[client.pk]))
    assert "Export data" not in page.text
    assert "Erase client" not in page.text


def test_the_erased_clients_page_says_so_and_offers_nothing_that_emails_them(
    page_as, person, manager
):
    client, _ = person
    browser = page_as(Role.MANAGER)
    before = browser.get(reverse("clients:detail", args=[client.pk])).text
    assert all(text in before for text in ("Export data", "Erase client", "Revoke email links"))

    erase_on_page(browser, client)
    page = browser.get(reverse("clients:detail", args=[client.pk]))

    assert "This client's data was erased" in page.text
    assert f"by {manager}" in page.text
    for offer in (
        "mailto:",
        "Book a series",
        "Book one session",
        "Revoke email links",
        "Screen again",
        "Record a clearance",
        "Edit details",
        "Erase client",
        "Cancel plan",
    ):
        assert offer not in page.text, offer


def test_nothing_is_booked_recorded_or_edited_for_an_erased_client(api, person, staff, manager):
    client, made = person
    client_erase(client=client, by=manager)
    api.force_authenticate(manager)

    booked = api.post(
        "/api/sessions/",
        {
            "client": client.pk,
            "esthetician": staff[1].pk,
            "room": made["room"].pk,
            "device": made["device"].pk,
            "start": (timezone.now() + timedelta(days=3)).replace(hour=17, minute=0).isoformat(),
        },
        format="json",
    )
    edited = api.patch(f"/api/clients/{client.pk}/", {"notes": "back"}, format="json")
    screened = api.post(f"/api/clients/{client.pk}/screenings/", screening_answers(), format="json")

    assert [booked.status_code, edited.status_code, screened.status_code] == [409] * 3
    assert "erased" in booked.json()["client"][0]
    assert Session.objects.filter(client=client, status="booked").count() == 0


def test_erasure_runs_the_same_queries_for_1_or_12_sessions(staff, manager):
    counts = []
    for sessions in (1, 12):
        client = ClientFactory()
        fill(client, staff=staff, sessions=sessions)
        with CaptureQueriesContext(connection) as queries:
            client_erase(client=client, by=manager)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_stored_api_answers_naming_the_client_are_dropped(person, other, manager):
    client, _ = person
    assert IdempotencyKey.objects.filter(key="zq-register").exists()

    client_erase(client=client, by=manager)

    assert not IdempotencyKey.objects.filter(key="zq-register").exists()
    assert IdempotencyKey.objects.filter(key="bo-register").exists()


# The admin ------------------------------------------------------------------------------
def test_deleting_a_client_in_the_admin_erases_them(page_as, person, manager):
    client, made = person
    browser = page_as(Role.MANAGER)
    path = reverse("admin:clients_client_delete", args=[client.pk])

    confirm = browser.get(path)
    done = browser.post(path, {"post": "yes"}, follow=True)

    assert confirm.status_code == 200
    assert "erases" in confirm.text
    assert "1 future session(s) and 3 pending email(s) cancelled" in confirm.text
    assert "protected" not in confirm.text.lower()
    assert done.status_code == 200
    assert "Erased: name, contact details, notes and 1 clearance letter(s) removed" in done.text
    client.refresh_from_db()
    assert client.erased_at is not None
    assert client.erased_by == manager
    assert Session.objects.filter(client=client).count() == 5
    entry = LogEntry.objects.filter(object_id=str(client.pk), action_flag=CHANGE).latest("pk")
    assert entry.change_message == "Erased (personal data anonymised)."
    assert where_found(IDENTIFIERS) == []


def test_the_admins_bulk_delete_erases_each_client(page_as, person, other, manager):
    client, _ = person
    other_client = other[0]
    browser = page_as(Role.MANAGER)
    changelist = reverse("admin:clients_client_changelist")
    chosen = {"action": "delete_selected", "_selected_action": [client.pk, other_client.pk]}

    confirm = browser.post(changelist, chosen)
    done = browser.post(changelist, {**chosen, "post": "yes"}, follow=True)

    assert confirm.status_code == 200
    assert "Yes, erase these clients" in confirm.text
    assert "Erased 2 client(s)" in done.text
    assert set(Client.objects.filter(erased_at__isnull=False).values_list("pk", flat=True)) == {
        client.pk,
        other_client.pk,
    }
    assert Session.objects.filter(client__in=[client, other_client]).count() == 6

    again = browser.post(changelist, {**chosen, "post": "yes"}, follow=True)

    assert "2 client(s) had already been erased; nothing changed for them." in again.text


@pytest.fixture
def inbox(settings):
    from tests.sessions_app.test_reminders_dispatch import Inbox, use_smtp

    box = Inbox().start()
    use_smtp(settings, box.port)
    yield box
    box.stop()


def test_an_unknown_client_is_a_404(api, page_as, manager):
    api.force_authenticate(manager)
    assert api.get("/api/clients/999999/export/").status_code == 404
    assert api.post("/api/clients/999999/erase/", {"confirm": "x"}).status_code == 404
    assert (
        page_as(Role.MANAGER).get(reverse("sessions:client-erase", args=[999999])).status_code
        == 404
    )


def test_erasure_leaves_staff_accounts_alone(person, manager):
    client, _ = person
    staff_before = list(User.objects.order_by("pk").values())

    client_erase(client=client, by=manager)

    assert list(User.objects.order_by("pk").values()) == staff_before
