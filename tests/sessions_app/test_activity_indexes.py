"""The navigation's client-activity count runs on every staff page, so each of its parts
reads through a partial index of just the rows it counts, not the whole session history
(issue 14: it read 300k sessions three times, ~100 ms at chain scale; ~3 ms with these)."""

import pytest
from django.db import connection

from sessions_app.models import Session
from sessions_app.online import _activity_since, _sessions_acted

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN output is PostgreSQL's"),
]


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Off, the planner takes an index whenever one can answer the query at all: this
        # proves the partial indexes match the count's conditions (an empty test table
        # would otherwise always be scanned).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 - Django's own SQL
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("condition", "index"),
    [
        ({"booked_online": True, "booked_at__gte": "since"}, "session_online_idx"),
        ({"cancelled_by_client": True, "cancelled_at__gte": "since"}, "session_client_cancel_idx"),
        ({"client_confirmed_at__gte": "since"}, "session_confirmed_idx"),
    ],
)
def test_each_part_of_the_activity_count_reads_its_partial_index(condition, index):
    since = _activity_since(None)
    lookups = {key: since if value == "since" else value for key, value in condition.items()}
    plan = _plan(Session.objects.filter(**lookups).order_by().values("pk"))
    assert index in plan
    assert "Seq Scan on sessions_app_session" not in plan


def test_the_whole_activity_query_uses_all_three():
    plan = _plan(_sessions_acted(_activity_since(None)).order_by().values("pk"))
    for index in ("session_online_idx", "session_client_cancel_idx", "session_confirmed_idx"):
        assert index in plan
