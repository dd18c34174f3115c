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
