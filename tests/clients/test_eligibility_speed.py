"""Issue 14, P1: ``GET /api/clients/{id}/eligibility/`` in as few queries as the rule
allows, flat as a client's history grows: the token, the client with what the rule reads
(latest screening and report, clearances valid today: one query), the access-log row."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from clients.models import Client, HealthChange
from clients.selectors import (
    client_eligibility,
    client_with_eligibility,
    clients_for_eligibility,
    clients_with_eligibility,
)
from clinic.tokens import token_issue
from tests.factories import ClearanceFactory, ClientFactory, ScreeningFactory, screening_answers

pytestmark = pytest.mark.django_db

# The token (with its member of staff), the client with the rule's facts, the access log.
ENDPOINT_QUERIES = 3


@pytest.fixture
def desk_token(front_desk):
    api = APIClient()
    _, key = token_issue(user=front_desk)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    # What a process reads once and keeps (the access log's content type...), read now.
    warm = ClientFactory()
    assert api.get(url(warm)).status_code == 200
    return api


def url(client) -> str:
    return f"/api/clients/{client.pk}/eligibility/"


def long_history(client, *, years: int, by) -> None:
    """A screening and a clearance every quarter for ``years``, and a change in health
    reported (and screened again after) each year, all of it in the past."""
    now = timezone.now()
    for quarter in range(years * 4, 0, -1):
        ScreeningFactory(
            client=client,
            recorded_by=by,
            recorded_at=now - timedelta(days=91 * quarter),
            **screening_answers("recent_surgery"),
            outcome="needs_clearance",
            flagged=["recent_surgery"],
        )
        issued = (now - timedelta(days=91 * quarter)).date()
        ClearanceFactory(
            client=client,
            recorded_by=by,
            issued_on=issued,
            expires_on=issued + timedelta(days=30),
            physician=f"Dr. Old {quarter}",
        )
    for year in range(years, 0, -1):
        HealthChange.objects.create(
            client=client, reported_by=by, reported_at=now - timedelta(days=365 * year + 1)
        )


def test_the_endpoint_costs_three_queries(desk_token, a_client, front_desk):
    ScreeningFactory(client=a_client, recorded_by=front_desk)
    with CaptureQueriesContext(connection) as queries:
        response = desk_token.get(url(a_client))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "eligible"
    assert len(queries) == ENDPOINT_QUERIES, [q["sql"][:80] for q in queries]


@pytest.mark.parametrize("prepared", [True, False])
def test_prepared_statements_can_be_turned_off_for_a_pooler(
    desk_token, a_client, front_desk, settings, prepared
):
    settings.DATABASE_PREPARED_STATEMENTS = prepared
    ScreeningFactory(client=a_client, recorded_by=front_desk)
    with CaptureQueriesContext(connection) as queries:
        response = desk_token.get(url(a_client))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "eligible"
    executes = [q for q in queries if q["sql"].startswith("EXECUTE")]
    assert bool(executes) == (prepared and connection.vendor == "postgresql")
    assert len(queries) == ENDPOINT_QUERIES


@pytest.mark.parametrize("years", [0, 1, 10])
def test_the_endpoint_stays_at_three_queries_as_the_history_grows(
    desk_token, a_client, front_desk, years
):
    long_history(a_client, years=years, by=front_desk)
    # The current screening flags recent surgery; today's clearance covers it.
    ScreeningFactory(
        client=a_client,
        recorded_by=front_desk,
        **screening_answers("recent_surgery"),
        outcome="needs_clearance",
        flagged=["recent_surgery"],
    )
    ClearanceFactory(client=a_client, recorded_by=front_desk, physician="Dr. Today")
    with CaptureQueriesContext(connection) as queries:
        response = desk_token.get(url(a_client))
    assert len(queries) == ENDPOINT_QUERIES
    body = response.json()
    assert body["outcome"] == "eligible"
    assert "Dr. Today" in body["reasons"][0]


def test_the_one_query_answers_as_the_whole_history_does(a_client, front_desk):
    """The endpoint's one-query read and a page's prefetched history decide alike."""
    long_history(a_client, years=3, by=front_desk)
    HealthChange.objects.create(client=a_client, reported_by=front_desk, note="new meds")
    at = timezone.now()
    one = client_eligibility(client=client_with_eligibility(pk=a_client.pk, at=at), at=at)
    page = client_eligibility(client=clients_for_eligibility(Client.objects.all()).get(), at=at)
    assert one.outcome == page.outcome == "screening_required"
    assert one.reasons == page.reasons
    assert "new meds" in one.reasons[0]
    assert one.health_change.pk == page.health_change.pk


def test_a_missing_or_malformed_client_is_a_404(desk_token):
    for pk in ("999999", "0", "-3", "abc", str(2**70)):
        response = desk_token.get(f"/api/clients/{pk}/eligibility/")
        assert response.status_code == 404, (pk, response.status_code)


def test_each_answer_is_one_row_of_the_access_log(desk_token, a_client, front_desk):
    desk_token.get(url(a_client))
    desk_token.get(url(a_client))
    rows = LogEntry.objects.filter(additional_data__what="eligibility", object_id=a_client.pk)
    assert rows.count() == 2
    assert {r.additional_data["client_id"] for r in rows} == {a_client.pk}
    assert {r.actor_id for r in rows} == {front_desk.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("synchronous", "set_local"), [(False, True), (True, False)])
def test_a_read_row_waits_for_the_disk_only_when_told_to(
    front_desk, settings, synchronous, set_local
):
    """Outside a test's transaction, as in production: the read's row commits without
    waiting for the disk (``SET LOCAL``: that transaction only) unless
    ACCESS_LOG_READS_SYNCHRONOUS; the row is written either way."""
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    settings.ACCESS_LOG_READS_SYNCHRONOUS = synchronous
    ContentType.objects.get_for_model(Client)
    client = ClientFactory()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=front_desk)[1]}")
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url(client)).status_code == 200
    sql = [q["sql"] for q in queries]
    assert len(sql) == ENDPOINT_QUERIES  # the SET goes with the INSERT, in one statement
    assert any(q.startswith("SET LOCAL synchronous_commit TO OFF;") for q in sql) is set_local
    assert LogEntry.objects.filter(additional_data__what="eligibility").count() == 1


def test_authentication_reads_only_the_token_presented(desk_token, a_client, front_desk):
    """knox would read every token of the owner on each request to sweep the expired."""
    for _ in range(3):
        token_issue(user=front_desk)
    with CaptureQueriesContext(connection) as queries:
        assert desk_token.get(url(a_client)).status_code == 200
    token_reads = [
        q["sql"]
        for q in queries
        if "knox_authtoken" in q["sql"] or "clinic_api_tokens_with_key" in q["sql"]
    ]
    assert len(token_reads) == 1


def test_a_token_holding_a_nul_is_refused_not_a_500(api):
    api.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert api.get("/api/clients/").status_code == 401


def test_issuing_a_token_sweeps_the_owners_expired_tokens(front_desk, esthetician):
    old, _ = token_issue(user=front_desk)
    theirs, _ = token_issue(user=esthetician)
    AuthToken.objects.filter(pk__in=[old.pk, theirs.pk]).update(
        expiry=timezone.now() - timedelta(minutes=1)
    )
    token_issue(user=front_desk)
    assert not AuthToken.objects.filter(pk=old.pk).exists()
    assert AuthToken.objects.filter(pk=theirs.pk).exists()  # not the owner's: untouched


@pytest.mark.sqlite_too
def test_a_list_reads_eligibility_in_its_own_query(front_desk, django_assert_num_queries):
    clients = ClientFactory.create_batch(5)
    for client in clients:
        long_history(client, years=2, by=front_desk)
        ScreeningFactory(client=client, recorded_by=front_desk)
    # SQLite checks once per connection that it has JSON (a query of its own).
    assert connection.features.supports_json_field
    with django_assert_num_queries(1):
        found = list(clients_with_eligibility(Client.objects.all()))
        outcomes = [client_eligibility(client=c).outcome for c in found]
    assert outcomes == ["eligible"] * 5


@pytest.mark.django_db(transaction=True)
def test_a_read_changes_no_data_version(desk_token, a_client, front_desk):
    # The token lookup, the eligibility facts and the access-log row run as EXECUTEs of
    # prepared statements; the data version judges each by its SQL (reads, and a quiet
    # table), so reading eligibility retires no cached page part (issue 14). Committed
    # for real (no test transaction): a write bumps the version at once.
    from clinic import dataversion

    ScreeningFactory(client=a_client, recorded_by=front_desk)
    assert dataversion.enabled()
    before = dataversion.current()
    assert desk_token.get(url(a_client)).status_code == 200
    assert dataversion.current() == before
    for name in ("clinic_api_tokens_with_key", "clients_access_log_read"):
        assert not dataversion.changes_data(f"EXECUTE {name}(1)")
    assert dataversion.changes_data("EXECUTE clinic_not_ours(1)")
