"""The client list and search stay as fast at a chain's size as at one clinic's (issue 14,
P2): the search reads its hits from the trigram indexes (migration 0008), the page is
sorted without walking the name index, the unfiltered list does not count every client,
and the queries per page stay the same however many clients there are.

The EXPLAIN tests build a table of 20,000 clients with one ``INSERT ... SELECT`` and
ANALYZE it, rather than ``SET enable_seqscan = off``: that setting only proves an index
*can* serve a query, while the regression to guard against is the planner *choosing* a
full scan or the name index at size, which needs real rows and real statistics.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients import selectors
from clients.models import Client
from clinic.roles import Role
from tests.factories import ClientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

MANY = 20_000
# 20 x 20 last names of 50 clients each, as in the bench: "Lindhill" matches 50 clients,
# "Lind" (a prefix of 20 names) 1,000.
PREFIXES = "Ab Ash Bar Bel Bran Cal Carr Dal Dun El Fair Fen Gar Glen Hal Hart Hol Ing Lind Mar"
SUFFIXES = "by bridge brook burn dale den field ford gate ham hill ley low man more ton vale well "
SUFFIXES += "wick wood"
TRIGRAM_INDEXES = {
    f"clients_client_{f}_trgm" for f in ("first_name", "last_name", "email", "phone")
}
NAME_INDEX = "clients_cli_last_na_198e2f_idx"

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_trgm and the planner's estimate"
)


def _insert_and_analyze(n: int) -> None:
    """``n`` clients more, by one INSERT ... SELECT, then fresh statistics."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO clients_client (first_name, last_name, email, phone, date_of_birth,
                notes, created_at, updated_at)
            SELECT f, l, lower(f) || '.' || lower(l) || i || '@example.com',
                '+1415' || lpad(i::text, 7, '0'), date '1980-01-01' + (i %% 9000), '', now(), now()
            FROM (
                SELECT i, (%s::text[])[1 + i %% 10] AS f,
                    (%s::text[])[1 + i %% 20] || (%s::text[])[1 + (i / 20) %% 20] AS l
                FROM generate_series(1, %s) AS i
            ) AS rows
            """,
            [
                ["Ava", "Ben", "Chloe", "Dev", "Elena", "Finn", "Grace", "Hugo", "Iris", "Jon"],
                PREFIXES.split(),
                SUFFIXES.split(),
                n,
            ],
        )
        cursor.execute("ANALYZE clients_client")


@pytest.fixture
def fill():
    """Adds clients and analyses the table. ANALYZE writes ``pg_class.reltuples`` in
    place, which a rollback does not undo: analyse again once they are gone, or later
    tests would see a planner's estimate of clients that are not there."""
    used = []

    def add(n: int) -> None:
        used.append(n)
        _insert_and_analyze(n)

    yield add
    if used:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM clients_client")
            cursor.execute("ANALYZE clients_client")


@pytest.fixture
def many_clients(fill):
    fill(MANY)


def _plan_nodes(sql: str, params=None, *, analyze: bool = False) -> list[dict]:
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql}", params)
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    nodes, todo = [], [plan]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return nodes


def _page_queries(browser, url: str) -> list[str]:
    """The SQL the page sent to the clients table (psycopg2 gives it with its values)."""
    with CaptureQueriesContext(connection) as ctx:
        response = browser.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries if 'FROM "clients_client"' in q["sql"]]


def _scans_of_clients(nodes: list[dict]) -> list[dict]:
    """The plan's reads of the clients table and of its indexes (a bitmap index scan
    names only its index)."""
    return [
        n
        for n in nodes
        if n.get("Relation Name") == "clients_client"
        or n.get("Index Name", "").startswith(("clients_client_", "clients_cli_"))
    ]


# The indexes are used ---------------------------------------------------------------------


@postgres_only
def test_search_count_reads_the_trigram_indexes_not_the_table(page_as, many_clients):
    sql = next(
        q for q in _page_queries(page_as(Role.FRONT_DESK), "/clients/?q=Lindhill") if "COUNT" in q
    )
    scans = _scans_of_clients(_plan_nodes(sql))
    assert {n["Index Name"] for n in scans if "Index Name" in n} == TRIGRAM_INDEXES
    assert not [n for n in scans if n["Node Type"] == "Seq Scan"]


@postgres_only
@pytest.mark.parametrize("term", ["Lindhill", "Lind", "ava"])
def test_search_page_sorts_the_hits_instead_of_walking_the_name_index(page_as, many_clients, term):
    sql = next(
        q for q in _page_queries(page_as(Role.FRONT_DESK), f"/clients/?q={term}") if "LIMIT" in q
    )
    scans = _scans_of_clients(_plan_nodes(sql))
    used = {n.get("Index Name") for n in scans}
    assert used & TRIGRAM_INDEXES
    assert NAME_INDEX not in used
    assert not [n for n in scans if n["Node Type"] == "Seq Scan"]


@postgres_only
def test_unfiltered_list_total_does_not_scan_the_clients(many_clients):
    nodes = _plan_nodes(*selectors.client_total_sql(selectors.EXACT_COUNT_UP_TO), analyze=True)
    scan = next(n for n in nodes if n.get("Relation Name") == "clients_client")
    # The COUNT(*) is planned (for a small clinic) but never run at this size.
    assert scan["Actual Loops"] == 0
    assert selectors.client_total() == selectors.ClientTotal(MANY, exact=False)


@postgres_only
def test_unfiltered_list_page_walks_the_name_index(page_as, many_clients):
    sql = next(q for q in _page_queries(page_as(Role.FRONT_DESK), "/clients/") if "LIMIT" in q)
    scans = _scans_of_clients(_plan_nodes(sql))
    assert NAME_INDEX in {n.get("Index Name") for n in scans}
    assert not [n for n in scans if n["Node Type"] == "Seq Scan"]


# Queries per page stay flat ---------------------------------------------------------------


def _count_queries(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = browser.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _clients_with_history(n: int, last_name: str = "Hartwell") -> None:
    for _ in range(n):
        client = ClientFactory(last_name=last_name)
        ScreeningFactory(client=client)
        ScreeningFactory(client=client, recent_surgery=True, outcome="needs_clearance")


@pytest.mark.sqlite_too
@pytest.mark.parametrize("url", ["/clients/", "/clients/?q=hartwell"], ids=["list", "search"])
def test_list_and_search_queries_do_not_grow_with_clients(page_as, url):
    browser = page_as(Role.FRONT_DESK)
    _clients_with_history(2)
    browser.get(url)  # once first: SQLite checks its JSON support on first use
    few = _count_queries(browser, url)
    _clients_with_history(30)
    assert _count_queries(browser, url) == few


@postgres_only
@pytest.mark.parametrize("url", ["/clients/", "/clients/?q=Lindhill"], ids=["list", "search"])
def test_list_and_search_cost_the_same_queries_at_twenty_thousand_clients(page_as, fill, url):
    browser = page_as(Role.FRONT_DESK)
    fill(500)  # one Lindhill among them
    few = _count_queries(browser, url)
    fill(MANY)
    assert _count_queries(browser, url) == few


# What the front desk sees -----------------------------------------------------------------


@postgres_only
def test_large_list_shows_about_how_many_clients(page_as, many_clients):
    body = page_as(Role.FRONT_DESK).get(reverse("clients:list")).content.decode()
    assert "About 20,000 clients on file" in body
    assert "Page 1 of about 800" in body
    assert "page=2" in body


@pytest.mark.sqlite_too
def test_small_list_counts_its_clients_exactly(page_as):
    ClientFactory.create_batch(3)
    body = page_as(Role.FRONT_DESK).get(reverse("clients:list")).content.decode()
    assert "3 clients on file" in body
    assert "About" not in body


@pytest.mark.sqlite_too
def test_search_says_how_many_clients_match(page_as, a_client):
    ClientFactory(first_name="Bea", last_name="Quinn")
    body = page_as(Role.FRONT_DESK).get(reverse("clients:list"), {"q": "lopez"}).content.decode()
    assert "1 client matches “lopez”" in body


@postgres_only
def test_pages_past_a_stale_estimate_are_still_served(page_as, many_clients):
    """Clients registered since the last ANALYZE are not in the estimate: the list reads
    one row ahead, so their page is reachable and linked."""
    ClientFactory.create_batch(50, last_name="Zywiec")  # two pages more, not analysed
    browser = page_as(Role.FRONT_DESK)
    last_estimated = browser.get(reverse("clients:list"), {"page": 800})
    assert "page=801" in last_estimated.content.decode()
    beyond = browser.get(reverse("clients:list"), {"page": 802})
    assert beyond.status_code == 200
    assert "Zywiec" in beyond.content.decode()
    assert "page=803" not in beyond.content.decode()
    assert browser.get(reverse("clients:list"), {"page": 803}).status_code == 404


@pytest.mark.sqlite_too
@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("lopez", True),
        ("ANA", True),
        ("ana lopez", True),
        ("ana.lopez@example", True),
        ("4155550199", True),
        ("(415) 555-0199", True),
        ("ana quinn", False),
    ],
    ids=[
        "last-name",
        "first-name-any-case",
        "full-name",
        "email",
        "phone",
        "formatted-phone",
        "every-word-must-match",
    ],
)
def test_search_finds_by_name_email_and_phone(query, found):
    ana = ClientFactory(
        first_name="Ana", last_name="Lopez", email="ana.lopez@example.com", phone="+14155550199"
    )
    ClientFactory(
        first_name="Bea", last_name="Quinn", email="bea@example.com", phone="+14155550100"
    )
    hits = list(selectors.client_search(query=query))
    assert hits == ([ana] if found else [])


@pytest.mark.sqlite_too
def test_search_hits_are_in_name_order_whatever_the_case():
    for last in ("evans", "De Vries", "Dale", "van Dijk", "Adams"):
        ClientFactory(last_name=last, email=f"{last.replace(' ', '')}@example.com")
    hits = selectors.client_search(query="example")
    assert [c.last_name for c in hits] == ["Adams", "Dale", "De Vries", "evans", "van Dijk"]


@pytest.mark.sqlite_too
def test_search_of_many_words_pages_through_every_hit(page_as):
    for i in range(30):
        ClientFactory(first_name="Ava", last_name=f"Hill{i:02d}")
    browser = page_as(Role.FRONT_DESK)
    first = browser.get(reverse("clients:list"), {"q": "ava hill"}).content.decode()
    second = browser.get(reverse("clients:list"), {"q": "ava hill", "page": 2}).content.decode()
    assert "30 clients match" in first
    assert "Page 1 of 2" in first
    assert "Hill24" in first
    assert "Hill25" not in first
    assert "Hill25" in second
    assert "Hill29" in second


def test_estimate_is_rounded_to_three_figures():
    assert selectors._three_figures(123_456) == 123_000
    assert selectors._three_figures(100_049) == 100_000
    assert selectors._three_figures(987) == 987


@postgres_only
def test_a_clinic_below_the_threshold_is_counted_exactly():
    """Below ``EXACT_COUNT_UP_TO`` (or never analysed: reltuples -1) the list counts, so a
    client registered a minute ago is in the total."""
    ClientFactory.create_batch(4)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = CAST('clients_client' AS regclass)"
        )
        (reltuples,) = cursor.fetchone()
    assert reltuples < selectors.EXACT_COUNT_UP_TO
    assert selectors.client_total() == selectors.ClientTotal(Client.objects.count(), exact=True)
