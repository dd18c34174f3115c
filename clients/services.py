"""Every write to clients, screenings and clearances goes through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import filetype
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from clients.models import (
    HEALTH_CHANGE_NOTE_MAX_LENGTH,
    Clearance,
    Client,
    HealthChange,
    Screening,
)
from clients.rules import (
    ANSWER_FIELDS,
    CLEARABLE,
    CONDITION_LABELS,
    NEVER_TREATED,
    Condition,
    screening_outcome,
)
from clients.selectors import PossibleDuplicate, client_duplicates
from clinic.clinic_time import localdate
from clinic.errors import Conflict, RuleViolation

CLIENT_FIELDS = ("first_name", "last_name", "email", "phone", "date_of_birth", "notes")
DOCUMENT_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}


def client_check_not_erased(client: Client) -> None:
    """An erased client (issue 12) is kept only as anonymous statistics: nothing is
    recorded for them, booked or sent to them again."""
    if client.erased_at is not None:
        raise Conflict(
            f"This client's data was erased on {client.erased_at:%b %-d, %Y}; "
            "nothing more can be recorded or booked for them.",
            field="client",
        )


class DuplicateClient(Conflict):
    """The client being registered (or edited, ``editing``) may already be on file (409):
    the same email, or the same name and date of birth. ``duplicates`` names each one;
    registering (saving) anyway takes ``confirm_duplicate_of`` with every one of their ids."""

    def __init__(self, duplicates: list[PossibleDuplicate], *, editing: bool = False):
        shown = "; ".join(
            f"{d.client.full_name}, born {d.client.date_of_birth:%b %-d, %Y} "
            f"({' and '.join(d.matched_labels)})"
            for d in duplicates
        )
        one = len(duplicates) == 1
        anyway = "save the changes anyway" if editing else "register a new client anyway"
        super().__init__(
            f"{'A client' if one else 'Clients'} with the same email, or the same name and "
            f"date of birth, {'is' if one else 'are'} already registered: {shown}. Open "
            f"{'that record' if one else 'those records'}, or {anyway}.",
            field="confirm_duplicate_of",
        )
        self.duplicates = duplicates

    def as_dict(self) -> dict:
        return {
            "detail": self.message,
            "duplicates": [
                {
                    "id": d.client.pk,
                    "first_name": d.client.first_name,
                    "last_name": d.client.last_name,
                    "email": d.client.email,
                    "date_of_birth": d.client.date_of_birth.isoformat(),
                    "matched_on": d.matched_on,
                }
                for d in self.duplicates
            ],
        }


# Registrations wait for one another (a PostgreSQL advisory lock held to the end of the
# transaction), so two submits of one form cannot both find "no duplicate" and both
# register. Registering is rare: one lock for all of them is simple and never deadlocks.
# On SQLite every write transaction already takes the database's write lock when it
# begins (``transaction_mode: IMMEDIATE`` in the settings).
REGISTRATION_LOCK = 0x636C_6965_6E74  # "client"


def _registration_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTRATION_LOCK])


@transaction.atomic
def client_create(*, by, confirm_duplicate_of: Iterable[int] = (), **fields) -> Client:
    """Register a client, unless one with the same email (any case), or the same name
    (any case) and date of birth, is already on file: then ``DuplicateClient`` names
    them (issue 13), and only ``confirm_duplicate_of`` listing every one of them
    registers another. A confirmation covers the clients it was shown: a client
    registered since (a double submit of the confirmation) is asked about again, so
    no submit twice ever makes two."""
    client = Client(**{k: v for k, v in fields.items() if k in CLIENT_FIELDS})
    client.full_clean()
    _registration_lock()
    duplicates = client_duplicates(
        email=client.email,
        first_name=client.first_name,
        last_name=client.last_name,
        date_of_birth=client.date_of_birth,
    )
    confirmed = set(confirm_duplicate_of or ())
    if any(d.client.pk not in confirmed for d in duplicates):
        raise DuplicateClient(duplicates)
    client._history_user = by
    client.save()
    return client


# What the duplicate check compares (``client_duplicates``).
MATCHED_FIELDS = ("email", "first_name", "last_name", "date_of_birth")


def _duplicates_of(values: Mapping, *, besides: Client) -> list[PossibleDuplicate]:
    found = client_duplicates(**{name: values[name] for name in MATCHED_FIELDS})
    return [d for d in found if d.client.pk != besides.pk]


def client_update(
    *, client: Client, by, confirm_duplicate_of: Iterable[int] = (), **fields
) -> Client:
    """Change a client's details; the history keeps who changed what and when.

    The same duplicate check as registering (issue 13): a change that makes the email, or
    the name and date of birth, match another client on file raises ``DuplicateClient``
    naming them, and only ``confirm_duplicate_of`` listing every one of them saves it.
    A match the client already had before the change is not asked about again (a
    confirmed namesake does not come back with each new phone number)."""
    client_check_not_erased(client)
    before = {name: getattr(client, name) for name in MATCHED_FIELDS}
    for name, value in fields.items():
        if name in CLIENT_FIELDS:
            setattr(client, name, value)
    client.full_clean()
    after = {name: getattr(client, name) for name in MATCHED_FIELDS}
    if after != before:
        _registration_lock()  # beside registrations, which check the same details
        new = _duplicates_of(after, besides=client)
        if new:
            known = {
                (d.client.pk, reason)
                for d in _duplicates_of(before, besides=client)
                for reason in d.matched_on
            }
            new = [d for d in new if any((d.client.pk, r) not in known for r in d.matched_on)]
        confirmed = set(confirm_duplicate_of or ())
        if any(d.client.pk not in confirmed for d in new):
            raise DuplicateClient(new, editing=True)
    client._history_user = by
    client.save()
    return client


def screening_record(
    *,
    client: Client,
    answers: Mapping[str, bool],
    by,
    at: datetime | None = None,
    online: bool = False,
) -> Screening:
    """Store a new screening; it supersedes the last one (screenings are never edited).

    ``online``: the client answered it on a signed page (issue 11), and ``by`` is None."""
    client_check_not_erased(client)
    result = screening_outcome(answers)
    return Screening.objects.create(
        client=client,
        **{name: bool(answers[name]) for name in ANSWER_FIELDS},
        outcome=result.outcome.value,
        flagged=[c.value for c in result.flagged],
        recorded_by=by,
        answered_online=online,
        recorded_at=at or timezone.now(),
    )


def clearance_default_expiry(issued_on: date) -> date:
    return issued_on + relativedelta(months=settings.CLEARANCE_VALID_MONTHS)


@transaction.atomic
def clearance_record(
    *,
    client: Client,
    physician: str,
    issued_on: date,
    conditions: Iterable[str],
    by,
    expires_on: date | None = None,
    document: UploadedFile | None = None,
) -> Clearance:
    """File a doctor's clearance (SPEC: physician, date, conditions, document, expiry).

    Pacemaker and pregnancy cannot be cleared. The expiry defaults to
    ``CLEARANCE_VALID_MONTHS`` after the issue date.
    """
    client_check_not_erased(client)
    codes = _clearance_conditions(conditions)
    if issued_on > localdate():
        raise RuleViolation("A clearance cannot be issued in the future.", field="issued_on")
    expires_on = expires_on or clearance_default_expiry(issued_on)
    if expires_on < issued_on:
        raise RuleViolation(
            "The expiry date must be on or after the issue date.", field="expires_on"
        )
    content_type = _document_content_type(document) if document else ""
    clearance = Clearance(
        client=client,
        physician=physician.strip(),
        issued_on=issued_on,
        expires_on=expires_on,
        conditions=codes,
        document_content_type=content_type,
        recorded_by=by,
    )
    if document:
        clearance.document.save(f"clearance.{DOCUMENT_TYPES[content_type]}", document, save=False)
    clearance.save()
    return clearance


def _clearance_conditions(conditions: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(conditions))
    if not codes:
        raise RuleViolation(
            "Choose at least one condition the clearance covers.", field="conditions"
        )
    known = {c.value for c in Condition}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise RuleViolation(f"Unknown condition code: {', '.join(unknown)}.", field="conditions")
    never = [Condition(c) for c in codes if c in NEVER_TREATED]
    if never:
        names = " and ".join(CONDITION_LABELS[c].lower() for c in never)
        raise RuleViolation(
            f"A clearance cannot cover {names}: microcurrent is never given with "
            f"{'it' if len(never) == 1 else 'them'}, whatever a doctor says.",
            field="conditions",
        )
    order = [c.value for c in CLEARABLE]
    return sorted(codes, key=order.index)


def _document_content_type(document: UploadedFile) -> str:
    """PDF, JPEG or PNG up to the size limit, judged by the bytes, not the file name."""
    limit = settings.CLEARANCE_DOCUMENT_MAX_MB * 1024 * 1024
    if document.size > limit:
        raise RuleViolation(
            f"The document is larger than {settings.CLEARANCE_DOCUMENT_MAX_MB} MB.",
            field="document",
        )
    document.seek(0)
    kind = filetype.guess(document.read(2048))
    document.seek(0)
    if kind is None or kind.mime not in DOCUMENT_TYPES:
        raise RuleViolation("The document must be a PDF, JPEG or PNG file.", field="document")
    return kind.mime


def health_change_record(
    *, client: Client, by, note: str = "", at: datetime | None = None
) -> HealthChange:
    """Record a change in health the client reports (SPEC: "a reported change is recorded
    and the client needs a new screening before any check-in or booking"). The
    eligibility selector reads it; a screening recorded after it clears it."""
    note = note.strip()
    if len(note) > HEALTH_CHANGE_NOTE_MAX_LENGTH:
        raise RuleViolation(
            f"Keep the note to at most {HEALTH_CHANGE_NOTE_MAX_LENGTH} characters "
            f"(it has {len(note)}); the new screening records the details.",
            field="note",
        )
    return HealthChange.objects.create(
        client=client, reported_by=by, reported_at=at or timezone.now(), note=note
    )
