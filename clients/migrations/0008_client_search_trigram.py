"""Trigram indexes for the client search (issue 14, P2), on PostgreSQL only.

``clients.selectors.client_search`` filters with ``icontains`` on the first and last
name, the email and the phone, which PostgreSQL runs as ``UPPER(col::text) LIKE
UPPER('%word%')``. A GIN index of ``gin_trgm_ops`` on the same ``UPPER(col)``
expression serves those lookups (one bitmap scan per field, OR'ed), so neither the
count nor the page reads every client. ANALYZE also keeps statistics on each index's
expression, which gives the planner a real estimate of how many clients match.

SQLite, the embedded default, has no pg_trgm and no GIN: there every operation here
does nothing (a search of a small clinic scans its table, which is fine). The indexes
are not in the models' state for the same reason: ``makemigrations`` would add them on
every database.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

SEARCHED_FIELDS = ("first_name", "last_name", "email", "phone")


def _index(field: str) -> GinIndex:
    # fastupdate off: a new client goes straight into the index, not into a pending list
    # that every search would scan whole (and the planner would price as such, choosing
    # a full scan) until the next vacuum. Clients are registered a few a minute at most.
    return GinIndex(
        OpClass(Upper(field), name="gin_trgm_ops"),
        name=f"clients_client_{field}_trgm",
        fastupdate=False,
    )


def add_trigram_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    client = apps.get_model("clients", "Client")
    for field in SEARCHED_FIELDS:
        schema_editor.add_index(client, _index(field))


def remove_trigram_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    client = apps.get_model("clients", "Client")
    for field in SEARCHED_FIELDS:
        schema_editor.remove_index(client, _index(field))


class PostgresTrigramExtension(TrigramExtension):
    """Django's ``TrigramExtension``, whose forwards already skip other databases; its
    backwards would ask SQLite for ``pg_extension``, so they skip them too."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("clients", "0007_access_log_indexes")]

    operations = [
        PostgresTrigramExtension(),
        migrations.RunPython(add_trigram_indexes, remove_trigram_indexes),
    ]
