"""A client's data, exported or erased (issue 12, item 5). One service each, for the
client page, the API and the admin alike; both are recorded in the access log
(``clients.audit.record_access``).

Here, in the highest app, because both reach every part of a client: profile and
screenings (``clients``), plans (``protocols``), sessions, treatment records and emails
(``sessions_app``). The client's own rows are anonymised by ``clients.erasure``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import BinaryField, CharField, Count, F, Func, IntegerField, Q, Value
from django.db.models.functions import Cast, Replace
from django.utils import timezone
from django.utils.text import slugify

from clients.audit import record_access
from clients.erasure import client_anonymise, client_identifiers
from clients.models import Clearance, Client, HealthChange, Screening
from clinic.models import IdempotencyKey
from protocols.models import Plan
from sessions_app.models import Reminder, Session, TreatmentRecord
from sessions_app.treatment import TREATMENT_FIELDS

EXPORT_FORMAT = "clinic-client-export"
EXPORT_VERSION = 1
ERASED_REASON = "the client's data was erased."


# Export ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientExport:
    filename: str
    content: bytes


def _person(user) -> dict | None:
    """A member of staff as the export names them (None: nobody, or the client online)."""
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": str(user)}


def _profile(client: Client, history: list) -> dict:
    kinds = {"+": "registered", "~": "changed", "-": "deleted"}
    return {
        "client": {
            "id": client.pk,
            "first_name": client.first_name,
            "last_name": client.last_name,
            "email": client.email,
            "phone": str(client.phone) if client.phone else "",
            "date_of_birth": client.date_of_birth,
            "notes": client.notes,
            "maintenance_reminders_off_since": client.unsubscribed_at,
            "email_links_revoked_at": client.links_revoked_at,
            "erased_at": client.erased_at,
            "erased_by": _person(client.erased_by),
            "registered_at": client.created_at,
            "updated_at": client.updated_at,
        },
        # Every version of the details, oldest first: who changed them and when.
        "history": [
            {
                "at": row.history_date,
                "what": kinds[row.history_type],
                "by": _person(row.history_user),
                "reason": row.history_change_reason or "",
                "first_name": row.first_name,
                "last_name": row.last_name,
                "email": row.email,
                "phone": str(row.phone) if row.phone else "",
                "date_of_birth": row.date_of_birth,
                "notes": row.notes,
            }
            for row in history
        ],
    }


def _screening(screening: Screening) -> dict:
    result = screening.result
    return {
        "id": screening.pk,
        "recorded_at": screening.recorded_at,
        "answers": screening.answers,
        "outcome": screening.outcome,
        "flagged": screening.flagged,
        "reasons": result.reasons,
        "recorded_by": _person(screening.recorded_by),
        "answered_online": screening.answered_online,
    }


def _letter_name(clearance: Clearance) -> str:
    return f"letters/clearance-{clearance.pk}.{clearance.document.name.rsplit('.', 1)[-1]}"


def _clearance(clearance: Clearance, letter: str | None) -> dict:
    return {
        "id": clearance.pk,
        "physician": clearance.physician,
        "issued_on": clearance.issued_on,
        "expires_on": clearance.expires_on,
        "conditions": clearance.conditions,
        "recorded_by": _person(clearance.recorded_by),
        "recorded_at": clearance.recorded_at,
        # The file inside this ZIP, if the clearance has a letter.
        "letter": letter,
        "letter_content_type": clearance.document_content_type or None,
        "letter_missing_from_storage": bool(clearance.document) and letter is None,
    }


def _plan(plan: Plan) -> dict:
    return {
        "id": plan.pk,
        "protocol": plan.protocol.name,
        "start_date": plan.start_date,
        "age_at_start": plan.age_at_start,
        "sessions_min": plan.sessions_min,
        "sessions_max": plan.sessions_max,
        "weeks_min": plan.weeks_min,
        "weeks_max": plan.weeks_max,
        "session_minutes": plan.session_minutes,
        "modality": plan.modality,
        "created_by": _person(plan.created_by),
        "created_at": plan.created_at,
        "cancelled_at": plan.cancelled_at,
        "cancelled_by": _person(plan.cancelled_by),
    }


def _treatment(session: Session, versions: dict | None = None) -> dict | None:
    try:
        record: TreatmentRecord = session.treatment
    except TreatmentRecord.DoesNotExist:
        return None
    earlier = (versions or {}).get(session.pk, [])[:-1]  # the last is the record itself
    return {
        "modality": record.modality,
        "intensity_microamps": record.intensity_microamps,
        "frequency_hz": record.frequency_hz,
        "duration_minutes": record.duration_minutes,
        "areas": record.areas,
        "add_ons": record.add_ons,
        "notes": record.notes,
        "recorded_by": _person(record.recorded_by),
        "recorded_at": record.recorded_at,
        # Every version before a correction (issue 13), oldest first: as it was, and
        # who changed it next, when and why.
        "earlier_versions": [
            {
                **{name: getattr(old, name) for name in TREATMENT_FIELDS},
                "changed_at": new.history_date,
                "changed_by": _person(new.history_user),
                "reason": new.history_change_reason or "",
            }
            for old, new in zip(earlier, (versions or {}).get(session.pk, [])[1:], strict=False)
        ],
    }


def _session(session: Session, versions: dict | None = None) -> dict:
    return {
        "id": session.pk,
        "plan": session.plan_id,
        "kind": session.kind,
        "status": session.status,
        "start": session.start,
        "end": session.end,
        "esthetician": _person(session.esthetician),
        "room": session.room.name,
        "device": str(session.device),
        # Who did what (issue 9): a member of staff, the client online, or nobody yet.
        "booked_at": session.booked_at,
        "booked_by": _person(session.booked_by),
        "booked_online": session.booked_online,
        "client_confirmed_at": session.client_confirmed_at,
        "rescheduled_at": session.rescheduled_at,
        "rescheduled_by": _person(session.rescheduled_by),
        "cancelled_at": session.cancelled_at,
        "cancelled_by": _person(session.cancelled_by),
        "cancelled_by_client": session.cancelled_by_client,
        "cancel_reason": session.cancel_reason,
        "no_show_at": session.no_show_at,
        "no_show_by": _person(session.no_show_by),
        "checked_in_at": session.checked_in_at,
        "checked_in_by": _person(session.checked_in_by),
        "completed_at": session.completed_at,
        "completed_by": _person(session.completed_by),
        "health_change_reported": session.health_change_id,
        "treatment": _treatment(session, versions),
    }


def _health_change(change: HealthChange) -> dict:
    # The session it was reported at (a reverse one-to-one: absent raises).
    session = change.session if hasattr(change, "session") else None
    return {
        "id": change.pk,
        "reported_at": change.reported_at,
        "reported_by": _person(change.reported_by),
        "note": change.note,
        "session": session.pk if session else None,
    }


def _email(reminder: Reminder) -> dict:
    return {
        "id": reminder.pk,
        "kind": reminder.kind,
        "description": reminder.get_kind_display(),
        # For confirmations: what the email told of (booked, rescheduled, cancelled).
        "event": reminder.event,
        "session": reminder.session_id,
        "plan": reminder.plan_id,
        "due_at": reminder.due_at,
        "sent_at": reminder.sent_at,
        "status": reminder.status,
        "attempts": reminder.attempts,
        "note": reminder.last_error,
    }


README = """\
Data held by {clinic} about client {pk}
Exported {at} by {by}.

Every file is JSON (UTF-8). Times are UTC (ISO 8601, "Z"); the clinic's time zone is
{zone}. People are named as {{"id", "username", "name"}}; null means nobody (or the
client, where "booked_online" or "answered_online" says so).

profile.json         the client's details, and every version of them (history:
                     who changed what, when)
screenings.json      each contraindication screening: the answers, the outcome with
                     its reasons, who recorded it and when, whether answered online
clearances.json      each doctor's clearance: physician, dates, conditions covered,
                     and the letter's file in letters/ (if one was scanned)
letters/             the clearance letters, as they were uploaded
plans.json           treatment plans (the age band's series)
sessions.json        every session: when, with whom, its status, who booked, moved,
                     cancelled, checked in and completed it, and the treatment record
                     with its earlier versions (who corrected it, when and why)
health_changes.json  changes in health reported at check-in
emails.json          every email sent or scheduled: kind, due, sent, status. The
                     subject and text are not stored; they come from the clinic's
                     templates when an email is sent.
manifest.json        this export's contents, with a SHA-256 of every file
"""


def client_export(*, client: Client, by, request=None, at: datetime | None = None) -> ClientExport:
    """Everything the clinic holds about ``client`` as a ZIP of JSON files plus the
    clearance letters (issue 12). A fixed number of queries however many sessions the
    client has. Recorded in the access log."""
    at = at or timezone.now()
    client = Client.objects.select_related("erased_by").get(pk=client.pk)
    history = list(
        Client.history.filter(id=client.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    screenings = list(
        Screening.objects.filter(client=client)
        .select_related("recorded_by")
        .order_by("recorded_at", "pk")
    )
    clearances = list(
        Clearance.objects.filter(client=client)
        .select_related("recorded_by")
        .order_by("issued_on", "pk")
    )
    changes = list(
        HealthChange.objects.filter(client=client)
        .select_related("reported_by", "session")
        .order_by("reported_at", "pk")
    )
    plans = list(
        Plan.objects.filter(client=client)
        .select_related("protocol", "created_by", "cancelled_by")
        .order_by("start_date", "pk")
    )
    sessions = list(
        Session.objects.filter(client=client)
        .select_related(
            "esthetician",
            "room",
            "device",
            "booked_by",
            "rescheduled_by",
            "cancelled_by",
            "no_show_by",
            "checked_in_by",
            "completed_by",
            "treatment__recorded_by",
        )
        .order_by("start", "pk")
    )
    emails = list(Reminder.objects.filter(client=client).order_by("due_at", "pk"))
    # The treatment records' versions, in one query (a correction keeps the one before).
    versions: dict[int, list] = {}
    for version in (
        TreatmentRecord.history.filter(session__client=client)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    ):
        versions.setdefault(version.session_id, []).append(version)

    files: dict[str, bytes] = {}
    clearance_rows = []
    for clearance in clearances:
        letter = None
        if clearance.document:
            try:
                with clearance.document.open("rb") as document:
                    letter = _letter_name(clearance)
                    files[letter] = document.read()
            except FileNotFoundError:
                letter = None
        clearance_rows.append(_clearance(clearance, letter))

    def as_json(data) -> bytes:
        return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()

    documents = {
        "profile.json": as_json(_profile(client, history)),
        "screenings.json": as_json([_screening(s) for s in screenings]),
        "clearances.json": as_json(clearance_rows),
        "plans.json": as_json([_plan(p) for p in plans]),
        "sessions.json": as_json([_session(s, versions) for s in sessions]),
        "health_changes.json": as_json([_health_change(c) for c in changes]),
        "emails.json": as_json([_email(r) for r in emails]),
    }
    by_name = str(by) if by is not None else "the system"
    readme = README.format(
        clinic=settings.CLINIC_NAME,
        pk=client.pk,
        at=at.isoformat(),
        by=by_name,
        zone=settings.CLINIC_TIME_ZONE,
    ).encode()
    everything = {"README.txt": readme, **documents, **files}
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "clinic": settings.CLINIC_NAME,
        "client": client.pk,
        "exported_at": at,
        "exported_by": _person(by),
        "time_zone": settings.CLINIC_TIME_ZONE,
        "counts": {
            "history": len(history),
            "screenings": len(screenings),
            "clearances": len(clearances),
            "letters": len(files),
            "plans": len(plans),
            "sessions": len(sessions),
            "treatment_records": sum(1 for s in sessions if _treatment(s) is not None),
            "health_changes": len(changes),
            "emails": len(emails),
        },
        "files": [
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in everything.items()
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**everything, "manifest.json": as_json(manifest)}.items():
            archive.writestr(name, data)

    record_access(
        client=client,
        what="client_export",
        action="export",
        request=request,
        actor=by,
        detail=f"{len(sessions)} sessions, {len(files)} letters",
    )
    name = slugify(client.full_name) or "client"
    day = timezone.localtime(at).date().isoformat()
    return ClientExport(filename=f"client-{client.pk}-{name}-{day}.zip", content=buffer.getvalue())


# Erasure --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Erasure:
    """What ``client_erase`` did. ``already``: the client had been erased before, and
    nothing was changed this time."""

    client: Client
    already: bool
    sessions_cancelled: int = 0
    emails_cancelled: int = 0
    letters_removed: int = 0

    def summary(self) -> str:
        if self.already:
            return (
                f"{self.client} was already erased on "
                f"{timezone.localtime(self.client.erased_at):%b %-d, %Y}; nothing changed."
            )
        return (
            f"Erased: name, contact details, notes and {self.letters_removed} clearance "
            f"letter(s) removed; {self.sessions_cancelled} future session(s) and "
            f"{self.emails_cancelled} pending email(s) cancelled without notice. Sessions "
            "and treatment records are kept as anonymous statistics."
        )


@dataclass(frozen=True)
class ErasurePreview:
    """What erasing a client would do now, for the confirmation pages."""

    future_sessions: int
    pending_emails: int
    letters: int


PENDING_EMAILS = [Reminder.Status.SCHEDULED, Reminder.Status.SENDING, Reminder.Status.FAILED]


def erasure_preview(*, clients, at: datetime | None = None) -> dict[int, ErasurePreview]:
    """For each of ``clients`` (by id): the future booked sessions, pending emails and
    letters an erasure would cancel or remove. One query for any number of clients."""
    at = at or timezone.now()
    rows = (
        Client.objects.filter(pk__in=[c.pk for c in clients])
        .annotate(
            future=Count(
                "sessions",
                filter=Q(sessions__status=Session.Status.BOOKED, sessions__start__gt=at),
                distinct=True,
            ),
            pending=Count(
                "reminders", filter=Q(reminders__status__in=PENDING_EMAILS), distinct=True
            ),
            letters=Count("clearances", filter=~Q(clearances__document=""), distinct=True),
        )
        .values_list("pk", "future", "pending", "letters")
    )
    return {pk: ErasurePreview(*counts) for pk, *counts in rows}


def erasure_confirmed(*, client: Client, typed: str) -> bool:
    """The confirmation asked before an erasure: the client's full name, typed again
    (case and spacing aside). An erasure cannot be undone."""
    return " ".join(typed.split()).casefold() == " ".join(client.full_name.split()).casefold()


class _BytesPosition(Func):
    """Where ``needle`` (bytes) starts in a binary column, 0 when absent: PostgreSQL's
    ``POSITION(needle IN column)``, SQLite's ``INSTR(column, needle)``. Django's
    ``contains`` on a ``BinaryField`` compares the column's hex text instead."""

    output_field = IntegerField()

    def __init__(self, column: str, needle: bytes):
        super().__init__(Value(needle, output_field=BinaryField()), F(column))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="POSITION(%(expressions)s)", arg_joiner=" IN ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        needle, column = self.get_source_expressions()
        swapped = self.copy()
        swapped.set_source_expressions([column, needle])
        return swapped.as_sql(compiler, connection, function="INSTR", **extra)


def _as_text(field: str = "pk"):
    return Cast(field, output_field=CharField())


def _replaced(column: str, pairs: list[tuple[str, str]]):
    expression = F(column)
    for old, new in pairs:
        expression = Replace(expression, Value(old), Value(new))
    return expression


@transaction.atomic
def client_erase(*, client: Client, by, request=None, at: datetime | None = None) -> Erasure:
    """Erase ``client``'s personal data (issue 12): the client and their history rows
    are anonymised (``clients.erasure``), letters removed from disk, free text that may
    identify them emptied (session cancel reasons, treatment notes, health-change notes);
    their future booked sessions are cancelled without telling them (the slots are free
    at once) and every pending email is cancelled with the reason on its row. Sessions,
    plans and treatment records stay, as anonymous statistics.

    Idempotent: the client row is locked, and a client already erased is left as it is
    (a double submit, a second erase: nothing changes, nothing is recorded again)."""
    at = at or timezone.now()
    locked = (
        Client.objects.select_for_update(of=("self",)).select_related("erased_by").get(pk=client.pk)
    )
    if locked.erased_at is not None:
        return Erasure(client=locked, already=True)
    anonymous_name = f"Erased client {locked.pk}"
    pairs = [(old, anonymous_name) for old in client_identifiers(locked)]

    sessions = Session.objects.filter(client=locked)
    # Free text staff typed about the client may name them: emptied everywhere.
    sessions.exclude(cancel_reason="").update(cancel_reason="")
    TreatmentRecord.objects.filter(session__client=locked).exclude(notes="").update(notes="")
    # And in every earlier version of those records, with the reasons for correcting them.
    TreatmentRecord.history.filter(session__client=locked).update(
        notes="", history_change_reason=""
    )
    # Future bookings: cancelled without a notice (no email may reach the client again),
    # which frees their slots at once (cancelled sessions block nothing).
    cancelled = sessions.filter(status=Session.Status.BOOKED, start__gt=at).update(
        status=Session.Status.CANCELLED,
        cancelled_at=at,
        cancelled_by=by,
        cancelled_by_client=False,
        cancel_reason=f"Cancelled: {ERASED_REASON}",
    )
    # A plan left with nothing booked, checked in or completed will never run.
    Plan.objects.filter(client=locked, cancelled_at__isnull=True).exclude(
        sessions__status__in=[
            Session.Status.BOOKED,
            Session.Status.CHECKED_IN,
            Session.Status.COMPLETED,
        ]
    ).update(cancelled_at=at, cancelled_by=by)

    reminders = Reminder.objects.filter(client=locked)
    # Every email not yet sent, including one a worker holds right now (its next
    # write names the row as "sending" under its token, so it leaves the row alone) and
    # a failed one a manager could resend. Their reason replaces the last error, which
    # may be a mail server's refusal naming the address (only such rows carry one: a
    # sent row's error is cleared, a skipped or refused one names no address).
    emails = reminders.filter(status__in=PENDING_EMAILS).update(
        status=Reminder.Status.CANCELLED, last_error=f"Cancelled: {ERASED_REASON}"
    )

    # Stored API answers (``Idempotency-Key``, kept for a day) may hold the client's
    # details: dropped, so a retry runs afresh.
    for old, _ in pairs:
        IdempotencyKey.objects.alias(found=_BytesPosition("body", old.encode())).filter(
            found__gt=0
        ).delete()

    # The admin's log names sessions, plans and emails with the client's name.
    _admin_log_scrub(locked, pairs)

    anonymised = client_anonymise(client=locked, by=by, at=at)
    result = Erasure(
        client=locked,
        already=False,
        sessions_cancelled=cancelled,
        emails_cancelled=emails,
        letters_removed=anonymised.letters_removed,
    )
    record_access(
        client=locked,
        what="client_erasure",
        action="erase",
        request=request,
        actor=by,
        detail=(
            f"{cancelled} future sessions and {emails} pending emails cancelled, "
            f"{anonymised.letters_removed} letters removed"
        ),
    )
    return result


def _admin_log_scrub(client: Client, pairs: list[tuple[str, str]]) -> None:
    """``object_repr`` of the admin's log entries about the client's sessions, plans,
    emails, screenings, clearances and health changes, without their name."""
    types = ContentType.objects.get_for_models(
        Session, Plan, Reminder, Screening, Clearance, HealthChange
    )
    owned = Q()
    for model, content_type in types.items():
        ids = model.objects.filter(client=client).values(text=_as_text())
        owned |= Q(content_type=content_type, object_id__in=ids)
    entries = LogEntry.objects.filter(owned)
    entries.update(object_repr=_replaced("object_repr", pairs))
    # A clearance is shown by its physician's name, which erasure removes as well.
    entries.filter(content_type=types[Clearance]).update(object_repr="Clearance (erased)")
