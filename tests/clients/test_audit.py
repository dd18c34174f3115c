"""Issue 12, item 4 "Health data audited": every read of screening answers, eligibility
detail, clearances and letters, and every change to them, is one row of the access log
(who, when, which client, what, the action, from where), through pages, API, admin and
email links alike; the manager's Access log page filters by client and by staff member."""

from datetime import datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients import audit
from clients.models import Clearance, Screening
from clinic.roles import Role
from sessions_app.links import link_token
from tests.factories import (
    ClearanceFactory,
    ClientFactory,
    ScreeningFactory,
    UserFactory,
    screening_answers,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADDRESS = "203.0.113.7"
NO = {name: "no" for name in screening_answers()}


def log() -> list[dict]:
    """The access log, oldest first, one dict per row."""
    return [
        {
            **entry.additional_data,
            "actor": entry.actor,
            "address": entry.remote_addr,
            "entry": entry,
        }
        for entry in LogEntry.objects.select_related("actor").order_by("timestamp", "id")
    ]


def kinds(rows=None) -> list[tuple]:
    """(client id, what, action, channel) of each row."""
    return [(r["client_id"], r["what"], r["action"], r["channel"]) for r in rows or log()]


def needs_clearance(client):
    return ScreeningFactory(
        client=client, recent_surgery=True, flagged=["recent_surgery"], outcome="needs_clearance"
    )


def with_letter(client):
    return ClearanceFactory(
        client=client,
        document=SimpleUploadedFile("letter.pdf", PDF),
        document_content_type="application/pdf",
    )


def count_queries(browser, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200
    return len(queries)


# Pages ---------------------------------------------------------------------------------
def test_the_client_page_records_each_kind_it_shows_once_with_who_and_where(
    page_as, a_client, front_desk
):
    ScreeningFactory(client=a_client)
    ScreeningFactory(client=a_client)
    ClearanceFactory(client=a_client)
    LogEntry.objects.all().delete()  # the factories' own "create" rows

    url = reverse("clients:detail", args=[a_client.pk])
    page_as(Role.FRONT_DESK).get(url, REMOTE_ADDR=ADDRESS)

    rows = log()
    assert sorted(kinds(rows)) == [
        (a_client.pk, "clearance", "read", "page"),
        (a_client.pk, "eligibility", "read", "page"),
        (a_client.pk, "screening", "read", "page"),
    ]
    assert {(r["actor"], r["address"], r["path"]) for r in rows} == {(front_desk, ADDRESS, url)}
    assert all(r["entry"].action == LogEntry.Action.ACCESS for r in rows)
    assert all(timezone.now() - r["entry"].timestamp < timedelta(minutes=1) for r in rows)


def test_a_status_badge_is_no_detail_the_client_list_records_nothing(page_as, a_client):
    needs_clearance(a_client)
    LogEntry.objects.all().delete()

    response = page_as(Role.FRONT_DESK).get(reverse("clients:list"))

    assert b"Needs clearance" in response.content
    assert log() == []


def test_the_screening_page_records_the_screening_it_saves(page_as, a_client, esthetician):
    browser = page_as(Role.ESTHETICIAN)
    url = reverse("clients:screening", args=[a_client.pk])

    assert browser.get(url).status_code == 200
    assert log() == []  # the empty questions show no health data
    browser.post(url, {**NO, "pregnant": "yes"}, REMOTE_ADDR=ADDRESS)

    (row,) = log()
    screening = Screening.objects.get()
    assert kinds([row]) == [(a_client.pk, "screening", "create", "page")]
    assert (row["actor"], row["address"], row["path"]) == (esthetician, ADDRESS, url)
    assert row["entry"].object_pk == str(screening.pk)
    # The log says that the answers were recorded, never what they are.
    changes = row["entry"].changes
    assert changes["pregnant"] == ["(hidden)", "(hidden)"]
    assert "ineligible" not in str(changes)
    assert "True" not in str(changes)
    assert "ineligible" not in row["entry"].object_repr


def test_the_clearance_page_reads_the_eligibility_and_records_the_clearance(
    page_as, a_client, front_desk
):
    needs_clearance(a_client)
    LogEntry.objects.all().delete()
    browser = page_as(Role.FRONT_DESK)
    url = reverse("clients:clearance", args=[a_client.pk])

    browser.get(url)
    assert kinds() == [(a_client.pk, "eligibility", "read", "page")]
    LogEntry.objects.all().delete()
    browser.post(
        url,
        {
            "physician": "Dr. Ada Park",
            "issued_on": timezone.localdate().isoformat(),
            "conditions": ["recent_surgery"],
            "document": SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert kinds() == [(a_client.pk, "clearance", "create", "page")]
    assert log()[0]["actor"] == front_desk
    assert "Ada Park" not in str(log()[0]["entry"].changes)


def test_the_letter_download_page_records_the_letter(page_as, a_client, esthetician):
    clearance = with_letter(a_client)
    LogEntry.objects.all().delete()
    url = reverse("clients:clearance-document", args=[clearance.pk])

    response = page_as(Role.ESTHETICIAN).get(url, REMOTE_ADDR=ADDRESS)

    assert b"".join(response.streaming_content) == PDF
    (row,) = log()
    assert kinds([row]) == [(a_client.pk, "clearance_letter", "read", "page")]
    assert (row["actor"], row["address"], row["entry"].object_pk) == (
        esthetician,
        ADDRESS,
        str(clearance.pk),
    )


def test_a_letter_that_is_not_served_records_no_read(page_as, a_client):
    clearance = ClearanceFactory(client=a_client)  # no letter on file
    LogEntry.objects.all().delete()

    response = page_as(Role.FRONT_DESK).get(
        reverse("clients:clearance-document", args=[clearance.pk])
    )

    assert response.status_code == 404
    assert log() == []


def test_the_activity_page_records_each_online_screening_it_shows(page_as):
    clients = [ClientFactory() for _ in range(3)]
    for client in clients:
        ScreeningFactory(
            client=client,
            pacemaker=True,
            outcome="ineligible",
            flagged=["pacemaker"],
            recorded_by=None,
            answered_online=True,
        )
    LogEntry.objects.all().delete()

    page_as(Role.FRONT_DESK).get(reverse("sessions:client-activity"))

    assert sorted(kinds()) == sorted((c.pk, "screening", "read", "page") for c in clients)


# The API -------------------------------------------------------------------------------
def test_api_reads_are_recorded_once_each_with_the_token_user_and_channel(
    api, a_client, esthetician
):
    clearance = with_letter(a_client)
    ScreeningFactory(client=a_client)
    LogEntry.objects.all().delete()
    api.force_authenticate(esthetician)
    base = f"/api/clients/{a_client.pk}"

    for path, what in [
        (f"{base}/eligibility/", "eligibility"),
        (f"{base}/screenings/", "screening"),
        (f"{base}/clearances/", "clearance"),
        (f"/api/clearances/{clearance.pk}/document/", "clearance_letter"),
    ]:
        LogEntry.objects.all().delete()
        response = api.get(path, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200, path
        (row,) = log()
        assert kinds([row]) == [(a_client.pk, what, "read", "api")]
        assert (row["actor"], row["address"], row["path"]) == (esthetician, ADDRESS, path)


def test_the_client_record_itself_is_not_health_data(api, a_client, front_desk):
    ScreeningFactory(client=a_client)
    LogEntry.objects.all().delete()
    api.force_authenticate(front_desk)

    assert api.get(f"/api/clients/{a_client.pk}/").status_code == 200
    assert api.get("/api/clients/").status_code == 200
    assert log() == []


def test_api_creations_are_recorded_as_the_token_user(api, a_client, front_desk):
    api.force_authenticate(front_desk)
    base = f"/api/clients/{a_client.pk}"

    screening = api.post(f"{base}/screenings/", screening_answers("recent_surgery"), format="json")
    clearance = api.post(
        f"{base}/clearances/",
        {
            "physician": "Dr. Ada Park",
            "issued_on": timezone.localdate().isoformat(),
            "conditions": ["recent_surgery"],
        },
        format="json",
        REMOTE_ADDR=ADDRESS,
    )

    assert (screening.status_code, clearance.status_code) == (201, 201)
    rows = log()
    assert kinds(rows) == [
        (a_client.pk, "screening", "create", "api"),
        (a_client.pk, "clearance", "create", "api"),
    ]
    assert [r["actor"] for r in rows] == [front_desk, front_desk]
    assert rows[1]["address"] == ADDRESS
    assert rows[1]["entry"].object_pk == str(Clearance.objects.get().pk)


def test_a_refused_booking_names_the_reasons_and_is_recorded(api, a_client, front_desk):
    from tests.factories import DeviceFactory, RoomFactory

    needs_clearance(a_client)
    LogEntry.objects.all().delete()
    api.force_authenticate(front_desk)
    esthetician = UserFactory(role=Role.ESTHETICIAN)

    response = api.post(
        "/api/sessions/",
        {
            "client": a_client.pk,
            "esthetician": esthetician.pk,
            "room": RoomFactory().pk,
            "device": DeviceFactory().pk,
            "start": (timezone.now() + timedelta(days=2)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["eligibility"] == "needs_clearance"
    assert kinds() == [(a_client.pk, "eligibility", "read", "api")]
    assert log()[0]["detail"] == "booking refused"


def test_the_booking_page_shows_the_gate_and_records_it(page_as, a_client):
    browser = page_as(Role.FRONT_DESK)
    ScreeningFactory(client=a_client)
    LogEntry.objects.all().delete()

    browser.get(reverse("sessions:book", args=[a_client.pk]))
    assert log() == []  # eligible: only a button, no reasons
    needs_clearance(a_client)
    LogEntry.objects.all().delete()
    response = browser.get(reverse("sessions:book", args=[a_client.pk]))
    assert b'id="gate-heading"' in response.content
    assert kinds() == [(a_client.pk, "eligibility", "read", "page")]


# The admin -----------------------------------------------------------------------------
def test_admin_lists_record_one_read_per_client_shown(page_as):
    ana, ben = ClientFactory(), ClientFactory()
    for client in (ana, ana, ben):
        ScreeningFactory(client=client)
        ClearanceFactory(client=client)
    LogEntry.objects.all().delete()
    browser = page_as(Role.MANAGER)

    browser.get(reverse("admin:clients_screening_changelist"))
    browser.get(reverse("admin:clients_clearance_changelist"))

    assert sorted(kinds()) == sorted(
        (c.pk, what, "read", "admin") for c in (ana, ben) for what in ("screening", "clearance")
    )


def test_admin_record_pages_and_changes_and_deletions_are_recorded(page_as, a_client, manager):
    screening = ScreeningFactory(client=a_client)
    clearance = ClearanceFactory(client=a_client)
    LogEntry.objects.all().delete()
    browser = page_as(Role.MANAGER)
    change = reverse("admin:clients_clearance_change", args=[clearance.pk])

    browser.get(reverse("admin:clients_screening_change", args=[screening.pk]))
    browser.get(change)
    response = browser.post(
        change,
        {
            "client": a_client.pk,
            "physician": "Dr. Lee",
            "issued_on": clearance.issued_on.isoformat(),
            "expires_on": clearance.expires_on.isoformat(),
            "conditions": '["recent_surgery"]',
            "document_content_type": "",
            "recorded_by": clearance.recorded_by_id,
            "recorded_at_0": timezone.localdate().isoformat(),
            "recorded_at_1": "10:00:00",
        },
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    delete = reverse("admin:clients_clearance_delete", args=[clearance.pk])
    browser.post(delete, {"post": "yes"})

    rows = log()
    assert kinds(rows) == [
        (a_client.pk, "screening", "read", "admin"),
        (a_client.pk, "clearance", "read", "admin"),
        (a_client.pk, "clearance", "change", "admin"),
        (a_client.pk, "clearance", "delete", "admin"),
    ]
    assert {r["actor"] for r in rows} == {manager}
    assert rows[2]["address"] == ADDRESS
    assert set(rows[2]["entry"].changes) == {"physician", "recorded_at"}
    assert "Dr. Lee" not in str(rows[2]["entry"].changes)
    assert not Clearance.objects.exists()


# Email links ---------------------------------------------------------------------------
def test_a_screening_answered_by_email_link_is_recorded_as_the_clients(client, a_client):
    path = reverse("links:screening", kwargs={"token": link_token("screening", a_client.pk)})

    client.get(path)
    assert log() == []  # the questions only
    response = client.post(path, {**NO, "recent_surgery": "yes"}, REMOTE_ADDR=ADDRESS)

    assert b"We will call you" in response.content
    rows = log()
    assert kinds(rows) == [
        (a_client.pk, "screening", "create", "email_link"),
        # "We will call you" tells whoever holds the link the outcome.
        (a_client.pk, "eligibility", "read", "email_link"),
    ]
    assert {(r["actor"], r["address"]) for r in rows} == {(None, ADDRESS)}
    assert audit.who_label(rows[0]["entry"]) == "The client, by email link"


def test_a_worker_or_command_is_the_system(a_client):
    ScreeningFactory(client=a_client)  # no request: the system

    (row,) = log()
    assert kinds([row]) == [(a_client.pk, "screening", "create", "system")]
    assert audit.who_label(row["entry"]) == "System"


# Check-in ------------------------------------------------------------------------------
def test_a_health_change_reported_at_check_in_is_recorded_and_its_page_read(
    api, page_as, a_client, esthetician
):
    import time_machine

    from sessions_app.models import Session
    from tests.factories import DeviceFactory, RoomFactory, SessionFactory
    from tests.sessions_app.helpers import LA, at, full_week

    now = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
    with time_machine.travel(now, tick=False):
        ScreeningFactory(client=a_client, recorded_at=now - timedelta(hours=1))
        full_week(esthetician)
        session = SessionFactory(
            client=a_client,
            esthetician=esthetician,
            room=RoomFactory(),
            device=DeviceFactory(),
            start=at(now.date(), "10:00"),
        )
        LogEntry.objects.all().delete()
        api.force_authenticate(esthetician)

        response = api.post(
            f"/api/sessions/{session.pk}/check-in/",
            {"nothing_changed": False, "note": "Pregnant"},
            format="json",
        )

        assert response.status_code == 409
        change = Session.objects.get().health_change
        assert change is not None
        (row,) = log()
        assert kinds([row]) == [(a_client.pk, "screening", "create", "api")]
        assert row["actor"] == esthetician
        assert row["detail"] == "health change reported at check-in"
        assert "Pregnant" not in str(row["entry"].changes)

        # The session page now shows the change (and its note) and the reasons.
        LogEntry.objects.all().delete()
        page = page_as(Role.ESTHETICIAN).get(reverse("sessions:detail", args=[session.pk]))
        assert b"Pregnant" in page.content
        assert sorted(kinds()) == [
            (a_client.pk, "eligibility", "read", "page"),
            (a_client.pk, "screening", "read", "page"),
        ]


# The address ---------------------------------------------------------------------------
def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(page_as, a_client, settings):
    browser = page_as(Role.FRONT_DESK)
    url = reverse("clients:detail", args=[a_client.pk])

    browser.get(url, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert {r["address"] for r in log()} == {"10.0.0.5"}
    LogEntry.objects.all().delete()
    settings.TRUSTED_PROXY_COUNT = 1  # one nginx in front, appending what it saw
    browser.get(url, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1")
    assert {r["address"] for r in log()} == {"198.51.100.1"}


def test_a_read_row_is_written_as_save_would_write_it(a_client, front_desk):
    # The request's one read goes through a prepared INSERT (issue 14): the same row, to
    # the column, as LogEntry.save() writes from the same entry.
    LogEntry.objects.all().delete()
    request = type("Request", (), {})()
    request.user, request.path_info = front_desk, "/api/x/"
    request.META = {"REMOTE_ADDR": ADDRESS}
    request.get_full_path = lambda: "/api/x/?a=%s&b=é"
    setattr(request, audit._PENDING, [])
    audit.record_access(client=a_client, what="eligibility", request=request)
    (entry,) = getattr(request, audit._PENDING)
    twin = LogEntry.objects.get(pk=LogEntry.objects.create(**_columns(entry)).pk)
    with CaptureQueriesContext(connection) as queries:
        audit.flush(request)
    assert len(queries) == 1
    written = LogEntry.objects.exclude(pk=twin.pk).get()
    assert _columns(written) == _columns(twin)
    assert written.additional_data["path"] == "/api/x/?a=%s&b=é"
    assert (written.remote_addr, written.actor) == (ADDRESS, front_desk)


@pytest.mark.django_db(transaction=True)
def test_several_reads_are_written_in_one_statement_that_commits_itself(a_client, front_desk):
    # A page showing several records (the client page: its screening, clearances and
    # eligibility) writes its reads in one INSERT, no BEGIN ... COMMIT around it (issue
    # 14: two round trips fewer); each row as LogEntry.save() writes it.
    LogEntry.objects.all().delete()
    request = type("Request", (), {})()
    request.user, request.path_info = front_desk, f"/clients/{a_client.pk}/"
    request.META = {"REMOTE_ADDR": ADDRESS}
    request.get_full_path = lambda: request.path_info
    setattr(request, audit._PENDING, [])
    for what in ("screening", "clearance", "eligibility"):
        audit.record_access(client=a_client, what=what, request=request)
    entries = list(getattr(request, audit._PENDING))
    twins = [LogEntry.objects.create(**_columns(entry)) for entry in entries]
    with CaptureQueriesContext(connection) as queries:
        audit.flush(request)
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]
    written = LogEntry.objects.exclude(pk__in=[t.pk for t in twins]).order_by("pk")
    assert [_columns(w) for w in written] == [
        _columns(LogEntry.objects.get(pk=t.pk)) for t in twins
    ]
    assert {w.additional_data["what"] for w in written} == {"screening", "clearance", "eligibility"}


def _columns(entry) -> dict:
    return {
        f.attname: getattr(entry, f.attname)
        for f in LogEntry._meta.concrete_fields
        if f is not LogEntry._meta.pk
    }


def test_nothing_else_listens_to_log_rows_being_saved():
    # The prepared INSERT of reads sends no model signals: if another receiver comes, it
    # must be looked at (does it apply to reads?) and this list with it.
    from django.db.models.signals import post_save, pre_save

    assert not post_save.has_listeners(LogEntry)
    receivers = [r for group in pre_save._live_receivers(LogEntry) for r in group]
    assert receivers == [audit._fill_change_row]


def test_unknown_what_or_action_is_refused(a_client):
    with pytest.raises(ValueError, match="what"):
        audit.record_access(client=a_client, what="notes")
    with pytest.raises(ValueError, match="action"):
        audit.record_access(client=a_client, what="screening", action="peek")


# Flat query counts ---------------------------------------------------------------------
def test_audited_pages_write_in_a_fixed_number_of_queries(page_as):
    """1 vs 20 rows: the admin list and the activity page record one read per client,
    all in one INSERT."""
    browser = page_as(Role.MANAGER)

    def online_screenings(n):
        for _ in range(n):
            ScreeningFactory(
                client=ClientFactory(),
                pacemaker=True,
                outcome="ineligible",
                flagged=["pacemaker"],
                recorded_by=None,
                answered_online=True,
            ).client.clearances.create(
                physician="Dr. Ada Park",
                issued_on=timezone.localdate(),
                expires_on=timezone.localdate() + timedelta(days=30),
                conditions=["recent_surgery"],
                recorded_by=UserFactory(),
            )

    pages = [
        reverse("admin:clients_screening_changelist"),
        reverse("admin:clients_clearance_changelist"),
        reverse("sessions:client-activity"),
    ]
    online_screenings(1)
    few = [count_queries(browser, url) for url in pages]
    reads_few = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count()
    online_screenings(19)
    LogEntry.objects.all().delete()
    many = [count_queries(browser, url) for url in pages]
    assert reads_few == 3
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count() == 3 * 20
    assert few == many


# The Access log page -------------------------------------------------------------------
def access_log(browser, **params):
    response = browser.get(reverse("clients:access-log"), params)
    assert response.status_code == 200
    return response


def test_only_managers_see_the_access_log(page_as):
    for role in (Role.FRONT_DESK, Role.ESTHETICIAN):
        assert page_as(role).get(reverse("clients:access-log")).status_code == 403
    page = access_log(page_as(Role.MANAGER)).content.decode()
    assert 'href="/clients/access-log/" aria-current="page">Access log' in page


def test_the_client_page_links_managers_to_their_access_log(page_as, a_client):
    link = f"/clients/access-log/?client={a_client.pk}"
    assert link in page_as(Role.MANAGER).get(f"/clients/{a_client.pk}/").content.decode()
    assert link not in page_as(Role.FRONT_DESK).get(f"/clients/{a_client.pk}/").content.decode()


def test_the_access_log_filters_by_client_and_by_staff(page_as, front_desk, esthetician):
    ana = ClientFactory(first_name="Ana", last_name="Lopez")
    ben = ClientFactory(first_name="Ben", last_name="Okafor")
    audit.record_access(client=ana, what="screening", actor=front_desk)
    audit.record_access(client=ben, what="clearance_letter", actor=esthetician)
    audit.record_access(client=ben, what="eligibility", actor=front_desk)
    browser = page_as(Role.MANAGER)

    def shown(**params) -> list[tuple[str, str]]:
        rows = access_log(browser, **params).context["rows"]
        return [(r["client"].first_name, r["what"]) for r in rows]

    assert shown() == [("Ben", "Eligibility detail"), ("Ben", "Clearance letter"),
                       ("Ana", "Screening answers")]  # fmt: skip
    assert shown(client=ben.pk) == [("Ben", "Eligibility detail"), ("Ben", "Clearance letter")]
    assert shown(q="lopez") == [("Ana", "Screening answers")]
    assert shown(staff=esthetician.pk) == [("Ben", "Clearance letter")]
    assert shown(client=ben.pk, staff=front_desk.pk) == [("Ben", "Eligibility detail")]
    assert shown(q="nobody-like-this") == []
    page = access_log(browser, client=ben.pk).content.decode()
    assert "Access log: Ben Okafor" in page
    assert "Clearance letter" in page
    assert "Screening answers" not in page


def test_a_name_matching_several_clients_offers_a_pick(page_as, front_desk):
    ana = ClientFactory(first_name="Ana", last_name="Lopez")
    ann = ClientFactory(first_name="Ann", last_name="Lopez")
    audit.record_access(client=ana, what="screening", actor=front_desk)
    audit.record_access(client=ann, what="screening", actor=front_desk)

    response = access_log(page_as(Role.MANAGER), q="Lopez")

    page = response.content.decode()
    assert f'client={ana.pk}">Lopez, Ana</a>' in page
    assert f'client={ann.pk}">Lopez, Ann</a>' in page
    assert len(response.context["rows"]) == 2


def test_each_row_says_who_when_which_client_what_and_from_where(page_as, a_client, client):
    rosa = UserFactory(first_name="Rosa", last_name="Diaz")
    page_as(Role.FRONT_DESK)  # logs the test client in; now log in Rosa instead
    client.force_login(rosa)
    client.get(reverse("clients:detail", args=[a_client.pk]), REMOTE_ADDR=ADDRESS)
    client.logout()
    path = reverse("links:screening", kwargs={"token": link_token("screening", a_client.pk)})
    client.post(path, {**NO, "pacemaker": "yes"}, REMOTE_ADDR="198.51.100.9")

    rows = access_log(page_as(Role.MANAGER)).context["rows"]
    page = access_log(page_as(Role.MANAGER)).content.decode()

    by_who = {(r["who"], r["what"], r["action"], r["channel"], r["address"]) for r in rows}
    assert ("Rosa Diaz", "Screening answers", "Read", "Page", ADDRESS) in by_who
    assert (
        "The client, by email link",
        "Screening answers",
        "Created",
        "Email link",
        "198.51.100.9",
    ) in by_who
    assert all(r["client"] == a_client for r in rows)
    for text in ("Lopez, Ana", "Rosa Diaz", "The client, by email link"):
        assert text in page
    assert f"/clients/{a_client.pk}/" in page  # the path


def test_a_bad_staff_filter_is_a_form_message_not_a_500(page_as):
    response = access_log(page_as(Role.MANAGER), staff="nobody")

    assert "Who: Select a valid choice" in response.content.decode()
    assert list(response.context["rows"]) == []


def test_the_access_log_page_queries_do_not_grow_with_rows(page_as, front_desk):
    browser = page_as(Role.MANAGER)

    def rows(n):
        for _ in range(n):
            client = ClientFactory()
            audit.record_access(client=client, what="screening", actor=UserFactory())
            audit.record_access(client=client, what="eligibility", actor=front_desk)

    rows(1)
    few = count_queries(browser, reverse("clients:access-log"))
    rows(19)
    many = count_queries(browser, reverse("clients:access-log"))
    page = browser.get(reverse("clients:access-log")).context["rows"]
    assert len(page) == 40
    assert few == many
    filtered = [
        count_queries(browser, f"{reverse('clients:access-log')}?staff={front_desk.pk}"),
        count_queries(browser, f"{reverse('clients:access-log')}?q=a"),
    ]
    assert filtered == [few, few + 1]  # the name search finds its clients in one more
