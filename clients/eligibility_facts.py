"""What the eligibility rule reads about a client, in one query (issue 14).

``clients.selectors.client_eligibility`` needs three things about a client at a moment:
the latest screening taken by then, the latest change in health reported by then, and
the clearances valid on that day in clinic time. Loading the whole history for that costs
a query per kind and grows with the history; here the three come back as JSON columns of
the query that reads the client, each picked by the database (the latest screening and
report by their ``(client, time)`` order, the clearances by date), so one client or a
page of them costs one query whatever their history.

One client's facts (``fetch``, the eligibility endpoint's whole read) are a
``clinic.prepared.Statement``: written once per process, planned once per connection.

The JSON is turned back into model instances (``Screening``, ``HealthChange`` with its
``reported_by`` name, ``Clearance``) so the selector decides from the same objects as
ever. PostgreSQL and SQLite both build JSON (``JSONB_BUILD_OBJECT``/``JSON_OBJECT``,
``JSONB_AGG``/``JSON_GROUP_ARRAY``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import models, router
from django.db.models import Aggregate, OuterRef, Subquery, Value
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_date, parse_datetime

from clients.models import Clearance, Client, HealthChange, Screening
from clinic.clinic_time import localdate
from clinic.models import User
from clinic.prepared import Statement

AT = "eligibility_at"
SCREENING = "eligibility_screening"
CHANGE = "eligibility_change"
CLEARANCES = "eligibility_clearances"
NAMES = (AT, SCREENING, CHANGE, CLEARANCES)
# What a report's ``reported_by`` needs for the reason's wording.
_REPORTER_FIELDS = ("id", "username", "first_name", "last_name")


@dataclass(frozen=True)
class Facts:
    at: datetime
    latest: Screening | None  # the latest screening taken by ``at``, current or not
    change: HealthChange | None  # the latest change in health reported by ``at``
    clearances: list[Clearance]  # valid on ``at``'s clinic day, newest issued first


class _JSONList(Aggregate):
    """The rows' JSON objects as one JSON array."""

    function = "JSONB_AGG"
    output_field = models.JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


def _row(model, **more) -> JSONObject:
    return JSONObject(**{f.attname: f.attname for f in model._meta.concrete_fields}, **more)


def annotations(at: datetime, *, day: date | None = None) -> dict:
    """The facts at ``at`` as annotations of a ``Client`` queryset (``day``: the clinic
    day of ``at``, for the clearances)."""
    day = day or localdate(at)
    client = OuterRef("pk")
    screening = (
        Screening.objects.filter(client=client, recorded_at__lte=at)
        .order_by("-recorded_at", "-id")
        .values(row=_row(Screening))[:1]
    )
    reporter = JSONObject(**{name: f"reported_by__{name}" for name in _REPORTER_FIELDS})
    change = (
        HealthChange.objects.filter(client=client, reported_at__lte=at)
        .order_by("-reported_at", "-id")
        .values(row=_row(HealthChange, reported_by=reporter))[:1]
    )
    clearances = (
        Clearance.objects.filter(client=client, issued_on__lte=day, expires_on__gte=day)
        .order_by()
        .values("client")
        .annotate(rows=_JSONList(_row(Clearance)))
        .values("rows")
    )
    return {
        AT: Value(at, output_field=models.DateTimeField()),
        SCREENING: Subquery(screening, output_field=models.JSONField()),
        CHANGE: Subquery(change, output_field=models.JSONField()),
        CLEARANCES: Subquery(clearances, output_field=models.JSONField()),
    }


# The largest id the database holds (BigAutoField); a larger one is no client.
_MAX_PK = 2**63 - 1
_SELECTED = (SCREENING, CHANGE, CLEARANCES)
_FACTS = Statement(
    "clinic_eligibility_facts",
    lambda pk, at, day: (
        Client.objects.filter(pk=pk)
        .order_by()
        .annotate(**annotations(at, day=day))
        .values(*_SELECTED)
    ),
    # Stand-ins the statement is written with, then found among its parameters.
    stand_ins={
        "pk": -918_273,
        "at": datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC),
        "day": date(1902, 3, 4),
    },
    fields={"pk": Client._meta.pk, "at": models.DateTimeField(), "day": models.DateField()},
)


def fetch(client_id: int, at: datetime) -> dict | None:
    """The facts of one client at ``at`` as the annotations hold them, in one query;
    None if there is no such client."""
    if not 0 < client_id <= _MAX_PK:
        return None
    rows = _FACTS.rows(using=router.db_for_read(Client), pk=client_id, at=at, day=localdate(at))
    return {AT: at, **dict(zip(_SELECTED, rows[0], strict=True))} if rows else None


def client(client_id: int, at: datetime) -> Client | None:
    """The client (its id only; other fields load when read) with its facts at ``at``
    attached as ``annotations`` would attach them; None if there is no such client."""
    found = fetch(client_id, at)
    if found is None:
        return None
    instance = Client.from_db(router.db_for_read(Client), ["id"], [client_id])
    instance.__dict__.update(found)
    return instance


def annotated(client: Client) -> Facts | None:
    """The facts a queryset annotated with ``annotations`` brought along, if it did."""
    values = getattr(client, "__dict__", {})
    if AT not in values:
        return None
    return decode({name: values.get(name) for name in NAMES}, at=values[AT])


def decode(values: dict, *, at: datetime) -> Facts:
    change = _instance(HealthChange, values.get(CHANGE))
    if change is not None:
        reporter = _load(values[CHANGE])["reported_by"]
        change.reported_by = User.from_db(
            router.db_for_read(User),
            list(_REPORTER_FIELDS),
            [reporter[name] for name in _REPORTER_FIELDS],
        )
    clearances = [_instance(Clearance, row) for row in _load(values.get(CLEARANCES)) or []]
    clearances.sort(key=lambda c: (c.issued_on, c.pk), reverse=True)
    return Facts(
        at=at,
        latest=_instance(Screening, values.get(SCREENING)),
        change=change,
        clearances=clearances,
    )


def _load(value):
    # SQLite hands nested JSON back as text where PostgreSQL has already parsed it.
    return json.loads(value) if isinstance(value, str) else value


def _instance(model, row):
    row = _load(row)
    if row is None:
        return None
    fields = model._meta.concrete_fields
    values = [_value(field, row[field.attname]) for field in fields]
    return model.from_db(router.db_for_read(model), [f.attname for f in fields], values)


def _value(field, raw):
    if raw is None:
        return None
    if isinstance(field, models.DateTimeField):
        moment = parse_datetime(raw)
        # SQLite keeps UTC without an offset.
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if isinstance(field, models.DateField):
        return parse_date(raw)
    if isinstance(field, models.BooleanField):
        return bool(raw)
    if isinstance(field, models.JSONField):
        return _load(raw)
    return raw
