"""Database pieces for the double-booking guard.

Referenced by migrations by this path: do not move.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models

# The resources a session holds; each may be in one session at a time.
RESOURCES = ("esthetician", "room", "device", "client")


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def exclusion_constraint(resource: str) -> ExclusionConstraint:
    """No two live sessions hold ``resource`` over overlapping ``[start, end)`` ranges."""
    return ExclusionConstraint(
        name=f"session_no_overlap_{resource}",
        expressions=[
            (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
            (resource, RangeOperators.EQUAL),
        ],
        condition=~models.Q(status="cancelled"),
    )


def resource_of_constraint(name: str | None) -> str | None:
    prefix = "session_no_overlap_"
    if name and name.startswith(prefix) and name[len(prefix) :] in RESOURCES:
        return name[len(prefix) :]
    return None


def add_exclusion_constraints(apps, schema_editor) -> None:
    """On PostgreSQL the database itself refuses overlaps. SQLite cannot express this;
    there the booking services check under the write lock instead."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    session = apps.get_model("sessions_app", "Session")
    for resource in RESOURCES:
        schema_editor.add_constraint(session, exclusion_constraint(resource))


def remove_exclusion_constraints(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    session = apps.get_model("sessions_app", "Session")
    for resource in RESOURCES:
        schema_editor.remove_constraint(session, exclusion_constraint(resource))


# Shifts (issue 13): one esthetician's shifts on one weekday never overlap. PostgreSQL has
# no range of times of day, so each shift is a range of timestamps on one fixed day; the
# ``[)`` bounds let a shift end when the next begins (09:00–13:00, then 13:00–17:00).
SHIFT_CONSTRAINT = "shift_no_overlap"


def shift_exclusion_constraint_sql(table: str) -> str:
    # The table name is the model's own, not input.
    return (
        f'ALTER TABLE "{table}" ADD CONSTRAINT {SHIFT_CONSTRAINT} EXCLUDE USING gist '  # noqa: S608
        "(esthetician_id WITH =, weekday WITH =, "
        "tsrange(DATE '2000-01-03' + starts_at, DATE '2000-01-03' + ends_at) WITH &&)"
    )


def add_shift_exclusion_constraint(apps, schema_editor) -> None:
    """On PostgreSQL the database refuses overlapping shifts. SQLite cannot express this;
    there ``working_hours_save`` checks under the write lock (IMMEDIATE transactions)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    table = apps.get_model("sessions_app", "WorkingHours")._meta.db_table
    schema_editor.execute(shift_exclusion_constraint_sql(table))


def remove_shift_exclusion_constraint(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("sessions_app", "WorkingHours")._meta.db_table
    schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT {SHIFT_CONSTRAINT}')
