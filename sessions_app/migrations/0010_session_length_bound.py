from datetime import timedelta

from django.db import migrations
from django.db.models import F

# The longest session the rules book (protocols.rules.SESSION_MINUTES.high when this was
# written). Frozen here as a migration must be; tests/sessions_app/test_booking_speed.py
# fails if the rule and this constraint ever disagree.
LONGEST_MINUTES = 180
CONSTRAINT = "session_at_most_180_minutes"


def add_length_bound(apps, schema_editor) -> None:
    """On PostgreSQL the database keeps the longest session too, so the diary's lower
    bound ``start > lo - 180 minutes`` (sessions_app.availability.LONGEST_SESSION) is
    exact for every row, however it was written: every time-range read is bounded on
    both ends and reads only the span it asks about (issue 14). SQLite cannot add a
    constraint to a table; there every write goes through ``session_minutes_problem``."""
    if schema_editor.connection.vendor != "postgresql":
        return
    Session = apps.get_model("sessions_app", "Session")
    table = Session._meta.db_table
    # Sessions booked before the rules capped a session at 180 minutes (the protocol form
    # once allowed 240) would make ADD CONSTRAINT fail with a bare error: name them.
    longer = list(
        Session.objects.filter(end__gt=F("start") + timedelta(minutes=LONGEST_MINUTES))
        .order_by("start")
        .values_list("pk", "start")[:20]
    )
    if longer:
        listed = ", ".join(f"session {pk} at {start:%Y-%m-%d %H:%M}" for pk, start in longer)
        raise RuntimeError(
            f"Sessions longer than {LONGEST_MINUTES} minutes are on file ({listed}). "
            "Shorten or split them (the admin, or the session page), then migrate again."
        )
    # The table and numbers are ours, not input.
    schema_editor.execute(
        f'ALTER TABLE "{table}" ADD CONSTRAINT {CONSTRAINT} '  # noqa: S608
        f"CHECK (\"end\" <= start + interval '{LONGEST_MINUTES} minutes')"
    )


def remove_length_bound(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("sessions_app", "Session")._meta.db_table
    schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT {CONSTRAINT}')


class Migration(migrations.Migration):
    """The longest session, kept by PostgreSQL (out of the model state on purpose, as the
    exclusion constraints of 0003: SQLite cannot add it). No new index: the existing
    (esthetician, start), (room, start), (device, start), (client, start) and (start)
    btree indexes serve the bounded range reads (EXPLAIN in the tests)."""

    dependencies = [("sessions_app", "0009_unique_names_and_treatment_history")]

    operations = [
        migrations.RunPython(add_length_bound, remove_length_bound),
    ]
