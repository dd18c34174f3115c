"""Reads that carry a clinic rule. Pages, API and services all call these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, connections, models, router
from django.db.models import Prefetch, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper
from django.utils import formats, timezone

from clients import eligibility_facts
from clients.models import Clearance, Client, HealthChange, Screening
from clients.rules import CONDITION_LABELS, ClearanceFact, Eligibility, eligibility_decide
from clinic.clinic_time import local, localdate


@dataclass(frozen=True)
class ClientEligibility:
    """The eligibility answer plus the records it was decided from."""

    eligibility: Eligibility
    screening: Screening | None
    screening_valid_until: datetime | None
    # A change in health reported after the last screening: it voids that screening.
    health_change: HealthChange | None = None

    @property
    def outcome(self) -> str:
        return self.eligibility.outcome.value

    @property
    def reasons(self) -> list[str]:
        return self.eligibility.reasons

    @property
    def missing_clearances(self) -> list[str]:
        return [c.value for c in self.eligibility.missing_clearances]

    @property
    def missing_clearance_labels(self) -> list[str]:
        return [CONDITION_LABELS[c] for c in self.eligibility.missing_clearances]


def screening_validity() -> timedelta:
    return timedelta(days=settings.SCREENING_VALID_DAYS)


def _latest_screening(client: Client, at: datetime) -> Screening | None:
    taken = [s for s in client.screenings.all() if s.recorded_at <= at]
    return max(taken, key=lambda s: (s.recorded_at, s.pk)) if taken else None


def _latest_health_change(client: Client, at: datetime) -> HealthChange | None:
    reported = [c for c in client.health_changes.all() if c.reported_at <= at]
    return max(reported, key=lambda c: (c.reported_at, c.pk)) if reported else None


_HISTORY = ("screenings", "clearances", "health_changes")


def _facts(client: Client, at: datetime | None) -> eligibility_facts.Facts:
    """What the rule reads about ``client`` at ``at`` (now if None), from what is at
    hand: the facts its queryset brought (``clients_with_eligibility``; at None means
    as of that query), the history a page prefetched (``clients_for_eligibility``),
    else one query of its own."""
    facts = eligibility_facts.annotated(client)
    if facts is not None and (at is None or at == facts.at):
        return facts
    at = at or timezone.now()
    prefetched = getattr(client, "_prefetched_objects_cache", {})
    if not all(name in prefetched for name in _HISTORY):
        found = eligibility_facts.fetch(client.pk, at) if client.pk else None
        if found is None:  # no such client (any more): nothing on file
            return eligibility_facts.Facts(at=at, latest=None, change=None, clearances=[])
        return eligibility_facts.decode(found, at=at)
    today = localdate(at)
    clearances = [c for c in client.clearances.all() if c.is_valid_on(today)]
    return eligibility_facts.Facts(
        at=at,
        latest=_latest_screening(client, at),
        change=_latest_health_change(client, at),
        clearances=sorted(clearances, key=lambda c: (c.issued_on, c.pk), reverse=True),
    )


def _current(screening: Screening | None, at: datetime) -> Screening | None:
    """The screening if it is still current at ``at`` (SCREENING_VALID_DAYS), else None."""
    if screening is None or at >= screening.recorded_at + screening_validity():
        return None
    return screening


def client_eligibility(*, client: Client, at: datetime | None = None) -> ClientEligibility:
    """May this client be treated at ``at``? (SPEC, "Contraindication screening".)

    From the current screening and the clearances unexpired on that day in
    clinic time. With no current screening the outcome is ``screening_required``; so
    it is after a change in health reported at check-in, until a screening is
    recorded after the report (SPEC: "a reported change is recorded and the client
    needs a new screening before any check-in or booking").
    """
    facts = _facts(client, at)
    at, latest = facts.at, facts.latest
    change = _pending_health_change(facts.change, latest)
    screening = None if change else _current(latest, at)
    # Newest issued first: a condition two clearances cover is named with the newest.
    clearances = [
        ClearanceFact(
            physician=c.physician,
            expires_on=formats.date_format(c.expires_on, "M j, Y"),
            conditions=frozenset(c.conditions),
        )
        for c in facts.clearances
    ]
    eligibility = eligibility_decide(
        screening.result if screening else None,
        clearances,
        no_screening_reason=_health_change_reason(change)
        if change
        else _no_screening_reason(latest),
    )
    return ClientEligibility(
        eligibility=eligibility,
        screening=screening,
        screening_valid_until=screening.recorded_at + screening_validity() if screening else None,
        health_change=change,
    )


def eligibility_valid_until(eligibilities: Iterable[ClientEligibility]) -> datetime | None:
    """The first instant one of these answers may change with time alone: a current
    screening stops being current. (Clearances expire by the clinic day, which is in
    every cache key of a page that shows them; anything else changes only by a write.)"""
    ends = [e.screening_valid_until for e in eligibilities if e.screening_valid_until]
    return min(ends) if ends else None


def _pending_health_change(
    change: HealthChange | None, latest: Screening | None
) -> HealthChange | None:
    """``change`` (the latest change in health reported by then) if no screening was
    recorded after it (``latest`` is the latest screening by then).

    Strictly after: a screening stamped the same instant as the report does not clear it.
    """
    if change is None:
        return None
    if latest is not None and latest.recorded_at > change.reported_at:
        return None
    return change


def _health_change_reason(change: HealthChange) -> str:
    reported = formats.date_format(local(change.reported_at), "M j, Y, g:i A")
    who = change.reported_by.get_full_name() or change.reported_by.username
    note = f' ("{change.note}")' if change.note else ""
    return (
        f"A change in health was reported at check-in on {reported}{note}, recorded by {who}. "
        "Screen the client again before booking or treatment."
    )


def _no_screening_reason(latest: Screening | None) -> str:
    if latest is None:
        return "No screening on file. Screen the client before booking or treatment."
    taken = formats.date_format(local(latest.recorded_at), "M j, Y")
    return (
        f"The last screening ({taken}) is older than {settings.SCREENING_VALID_DAYS} days. "
        "Screen the client again before booking or treatment."
    )


def eligibility_prefetches(path: str = "") -> list[Prefetch]:
    """What ``client_eligibility`` reads, as prefetches; ``path`` reaches the client from
    another model (``"client__"`` on sessions)."""
    return [
        Prefetch(
            f"{path}screenings",
            queryset=Screening.objects.select_related("recorded_by").order_by(
                "-recorded_at", "-id"
            ),
        ),
        Prefetch(f"{path}clearances", queryset=Clearance.objects.order_by("-issued_on", "-id")),
        Prefetch(
            f"{path}health_changes",
            queryset=HealthChange.objects.select_related("reported_by").order_by(
                "-reported_at", "-id"
            ),
        ),
    ]


def clients_for_eligibility(queryset: QuerySet[Client]) -> QuerySet[Client]:
    """Prefetch what ``client_eligibility`` reads, so a list costs a fixed number of queries.

    The whole history comes (3 queries), for a page that shows it (the client's page);
    a list that shows only the eligibility wants ``clients_with_eligibility``."""
    return queryset.prefetch_related(*eligibility_prefetches())


def client_with_eligibility(*, pk: int, at: datetime | None = None) -> Client | None:
    """The client ``pk`` with what ``client_eligibility`` reads at ``at`` (now), in one
    query, or None if there is no such client. Only the id is loaded (other fields load
    when read): for an answer about the client's eligibility, not a page about them."""
    return eligibility_facts.client(pk, at or timezone.now())


def clients_with_eligibility(
    queryset: QuerySet[Client], *, at: datetime | None = None
) -> QuerySet[Client]:
    """The clients with what ``client_eligibility`` reads at ``at`` (now) in the same
    query: the latest screening and report and the clearances valid that day, as JSON
    columns (``clients.eligibility_facts``). No query more for one client or a page of
    them, whatever their history; ``client_eligibility(client=c)`` then answers as of
    ``at``."""
    at = at or timezone.now()
    day = localdate(at)
    using = router.db_for_read(Client)
    fragments = _compiled_facts(using)
    ops = connections[using].ops
    # Each stand-in as the compiled SQL held it: the value itself (PostgreSQL), or the
    # text the backend turned it into (SQLite keeps dates and times as text).
    values = {
        _AT_MARK: at,
        _DAY_MARK: day,
        _AT_TEXT: ops.adapt_datetimefield_value(at),
        _DAY_TEXT: ops.adapt_datefield_value(day),
    }
    annotations = {eligibility_facts.AT: Value(at, output_field=models.DateTimeField())}
    for name, (sql, params) in fragments.items():
        bound = [values[p] if isinstance(p, _Mark) else p for p in params]
        # The ORM's own SQL of fixed expressions; every value is a parameter.
        annotations[name] = RawSQL(sql, bound, output_field=models.JSONField())  # noqa: S611
    return queryset.annotate(**annotations)


# ``eligibility_facts.annotations`` written into SQL once per process and database (issue
# 14: building and compiling its three subqueries cost more than running the page's
# query). The moment and day are written as these stand-ins, found among the parameters
# and replaced by each call's own; the subqueries refer to the client as
# ``"clients_client"."id"``, as a queryset of clients without joins names it.
_AT = datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC)
_DAY = date(1902, 3, 4)


class _Mark(str):
    """Where a stand-in was found among the compiled parameters."""


_AT_MARK, _DAY_MARK = _Mark("at"), _Mark("day")
_AT_TEXT, _DAY_TEXT = _Mark("at as text"), _Mark("day as text")
_FRAGMENTS: dict[str, dict[str, tuple[str, list]]] = {}


def _compiled_facts(using: str) -> dict[str, tuple[str, list]]:
    if using not in _FRAGMENTS:
        annotations = eligibility_facts.annotations(_AT, day=_DAY)
        del annotations[eligibility_facts.AT]
        query = Client.objects.annotate(**annotations).query
        compiler = query.get_compiler(using)
        ops = connections[using].ops
        as_text = {
            ops.adapt_datetimefield_value(_AT): _AT_TEXT,
            ops.adapt_datefield_value(_DAY): _DAY_TEXT,
        }
        fragments = {}
        for name in annotations:
            sql, params = compiler.compile(query.annotations[name])
            if "%%" in sql:
                raise RuntimeError(f"{name}: a literal % in the subquery")
            marked = []
            for param in params:
                if type(param) is datetime and param == _AT:
                    param = _AT_MARK
                elif type(param) is date and param == _DAY:
                    param = _DAY_MARK
                elif isinstance(param, str) and param in as_text:
                    param = as_text[param]
                marked.append(param)
            if not any(isinstance(p, _Mark) for p in marked):
                raise RuntimeError(f"{name}: the moment is not among the parameters")
            fragments[name] = (sql, marked)
        _FRAGMENTS[using] = fragments
    return _FRAGMENTS[using]


def client_search(*, query: str = "") -> QuerySet[Client]:
    """Clients whose name, email or phone contains every word of ``query``.

    On PostgreSQL each ``icontains`` is ``UPPER(col) LIKE UPPER('%word%')``, served by the
    trigram indexes of migration 0008 on the same ``UPPER(col)``. Search hits are ordered
    by the upper-cased names: no b-tree index serves that order, so the planner reads the
    hits from the trigram indexes and sorts them, never walking the name index through
    thousands of clients that do not match (issue 14). The unfiltered list keeps the
    model's order, which the name index serves page by page.
    """
    queryset = Client.objects.all()
    # PostgreSQL refuses NUL in a string literal; no name, email or phone holds one.
    words = query.replace("\x00", "").split()
    for word in words:
        digits = "".join(ch for ch in word if ch.isdigit())
        condition = (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
        if digits and digits != word:
            condition |= Q(phone__icontains=digits)
        queryset = queryset.filter(condition)
    if words:
        queryset = queryset.order_by(Upper("last_name"), Upper("first_name"), "id")
    return queryset


# Up to this many clients the list counts them; above it the unfiltered list shows the
# planner's estimate instead of reading every row for COUNT(*) on each page view.
EXACT_COUNT_UP_TO = 10_000


@dataclass(frozen=True)
class ClientTotal:
    """How many clients the unfiltered list holds: counted, or about (``exact=False``)."""

    count: int
    exact: bool


def client_total(*, exact_up_to: int | None = None) -> ClientTotal:
    """How many clients are on file, for the unfiltered list, in one query.

    On PostgreSQL, from ``pg_class.reltuples`` (kept by autovacuum's ANALYZE) once that
    reaches ``exact_up_to`` (default ``EXACT_COUNT_UP_TO``), rounded to three significant
    figures and shown as "about"; below it (or never analysed: -1) the same query counts
    the rows, which for a small clinic is as cheap and never a step behind a new client.
    SQLite counts.
    """
    if connection.vendor != "postgresql":
        return ClientTotal(Client.objects.count(), exact=True)
    with connection.cursor() as cursor:
        cursor.execute(*client_total_sql(EXACT_COUNT_UP_TO if exact_up_to is None else exact_up_to))
        count, exact = cursor.fetchone()
    if exact:
        return ClientTotal(count, exact=True)
    return ClientTotal(_three_figures(count), exact=False)


def client_total_sql(exact_up_to: int) -> tuple[str, list]:
    """``client_total``'s one query on PostgreSQL (its EXPLAIN is tested): the COUNT(*)
    is an InitPlan, which PostgreSQL runs only when the CASE needs it."""
    table = connection.ops.quote_name(Client._meta.db_table)
    sql = (
        f"SELECT CASE WHEN reltuples < %s THEN (SELECT COUNT(*) FROM {table}) "  # noqa: S608
        "ELSE reltuples::bigint END, reltuples < %s "
        "FROM pg_class WHERE oid = CAST(%s AS regclass)"
    )
    return sql, [exact_up_to, exact_up_to, Client._meta.db_table]


def _three_figures(number: int) -> int:
    places = len(str(number)) - 3
    return round(number, -places) if places > 0 else number


@dataclass(frozen=True)
class ClientChange:
    at: datetime
    by: str
    kind: str
    fields: list[tuple[str, str, str]]


def client_changes(*, client: Client, limit: int = 20) -> list[ClientChange]:
    """Who changed what and when, newest first, from the client's history (one query)."""
    records = list(
        client.history.select_related("history_user").order_by("-history_id")[: limit + 1]
    )
    # One record more than shown, so the oldest shown can be compared with its predecessor.
    changes = []
    for index, newer in enumerate(records[:limit]):
        older = records[index + 1] if index + 1 < len(records) else None
        fields = []
        if older is not None:
            delta = newer.diff_against(older)
            for change in delta.changes:
                label = Client._meta.get_field(change.field).verbose_name
                fields.append((label.capitalize(), str(change.old or "—"), str(change.new or "—")))
        kind = {"+": "Registered", "~": "Changed", "-": "Deleted"}[newer.history_type]
        if newer.history_change_reason == "Erased":  # clients.erasure
            kind = "Erased"
        changes.append(
            ClientChange(
                at=newer.history_date,
                by=str(newer.history_user) if newer.history_user else "system",
                kind=kind,
                fields=fields,
            )
        )
    return changes


# Why a client on file may be the one being registered (issue 13, "No duplicates by
# accident"), in words for the page; the API answers the codes.
SAME_EMAIL = "email"
SAME_NAME_AND_BIRTH = "name_and_date_of_birth"
MATCH_LABELS = {SAME_EMAIL: "same email", SAME_NAME_AND_BIRTH: "same name and date of birth"}


@dataclass(frozen=True)
class PossibleDuplicate:
    client: Client
    matched_on: list[str]  # SAME_EMAIL, SAME_NAME_AND_BIRTH

    @property
    def matched_labels(self) -> list[str]:
        return [MATCH_LABELS[code] for code in self.matched_on]


def client_duplicates(
    *, email: str = "", first_name: str = "", last_name: str = "", date_of_birth=None
) -> list[PossibleDuplicate]:
    """Clients on file who may be this person: the same email, or the same first and last
    name and date of birth, whatever the case or the spaces around them. An erased
    client has no details left to match."""
    email, first, last = (value.strip() for value in (email or "", first_name, last_name))
    same_email = Q(email__iexact=email) if email else Q(pk__in=[])
    same_person = (
        Q(first_name__iexact=first, last_name__iexact=last, date_of_birth=date_of_birth)
        if first and last and date_of_birth
        else Q(pk__in=[])
    )
    found = Client.objects.filter(same_email | same_person, erased_at__isnull=True).order_by("pk")
    duplicates = []
    for client in found:
        matched = []
        if email and client.email.lower() == email.lower():
            matched.append(SAME_EMAIL)
        if (client.first_name.lower(), client.last_name.lower(), client.date_of_birth) == (
            first.lower(),
            last.lower(),
            date_of_birth,
        ):
            matched.append(SAME_NAME_AND_BIRTH)
        duplicates.append(PossibleDuplicate(client=client, matched_on=matched))
    return duplicates
