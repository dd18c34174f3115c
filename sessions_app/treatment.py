"""Treatment records: the one check of what was done in a session, and corrections.

A completed session's record can be corrected by the esthetician who recorded it or by a
manager (issue 13, "Confirm and undo"); every version is kept in the record's history
(django-simple-history) with who changed it, when and why, and the session page shows
what each correction changed, in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction

from clients.services import client_check_not_erased
from clinic.errors import Conflict, RuleViolation
from protocols.models import Modality
from sessions_app.models import AddOn, Area, Session, TreatmentRecord
from sessions_app.rules import treatment_problems

# What a correction may change, in the order of the form.
TREATMENT_FIELDS = (
    "modality",
    "intensity_microamps",
    "frequency_hz",
    "duration_minutes",
    "areas",
    "add_ons",
    "notes",
)
FIELD_LABELS = {
    "modality": "Modality",
    "intensity_microamps": "Intensity",
    "frequency_hz": "Frequency",
    "duration_minutes": "Duration",
    "areas": "Areas treated",
    "add_ons": "Add-on services",
    "notes": "Notes",
}
# simple-history keeps the reason in a column of 100 characters.
CORRECTION_REASON_MAX_LENGTH = 100
MAY_NOT_CORRECT = "Only the esthetician who recorded this treatment, or a manager, may correct it."


def _choices_message(choices) -> str:
    return ", ".join(f"{value} ({label})" for value, label in choices.choices)


def treatment_values(
    *,
    modality: str,
    intensity_microamps: int,
    frequency_hz: Decimal,
    duration_minutes: int,
    areas: Iterable[str] = (),
    add_ons: Iterable[str] = (),
    notes: str = "",
) -> dict:
    """The record's values once checked (SPEC: intensity 10–500 µA, static or dynamic,
    add-ons from the clinic's list; the ranges are ``sessions_app.rules``), for both
    completing a session and correcting its record. Raises ``RuleViolation`` naming
    the field."""
    if modality not in Modality.values:
        raise RuleViolation(
            f"Unknown modality {modality!r}: choose static or dynamic.", field="modality"
        )
    problems = treatment_problems(
        intensity_microamps=intensity_microamps,
        frequency_hz=frequency_hz,
        duration_minutes=duration_minutes,
    )
    if problems:
        field, message = problems[0]
        raise RuleViolation(message, field=field)
    areas, add_ons = list(dict.fromkeys(areas)), list(dict.fromkeys(add_ons))
    bad = [a for a in areas if a not in Area.values]
    if bad:
        raise RuleViolation(
            f"Unknown area: {', '.join(bad)}. Choose from {_choices_message(Area)}.",
            field="areas",
        )
    bad = [a for a in add_ons if a not in AddOn.values]
    if bad:
        raise RuleViolation(
            f"Unknown add-on: {', '.join(bad)}. Choose from {_choices_message(AddOn)}.",
            field="add_ons",
        )
    return {
        "modality": modality,
        "intensity_microamps": intensity_microamps,
        "frequency_hz": frequency_hz,
        "duration_minutes": duration_minutes,
        "areas": areas,
        "add_ons": add_ons,
        "notes": (notes or "").strip(),
    }


def treatment_may_correct(*, user, record: TreatmentRecord) -> bool:
    """The rule: whoever treats clients may correct a record they made; a manager any."""
    if not user.can("sessions.treat"):
        return False
    return record.recorded_by_id == user.pk or user.can("treatments.correct_any")


@transaction.atomic
def treatment_correct(*, session: Session, by, reason: str, **fields) -> TreatmentRecord:
    """Correct the treatment record of ``session``; the version before is kept in the
    record's history with ``by``, the time and ``reason``.

    Refused: no record yet (409), the client's data erased (409), anyone but the
    author or a manager (``PermissionDenied``, a 403), no reason, or nothing changed
    (400)."""
    try:
        record = TreatmentRecord.objects.select_for_update().get(session_id=session.pk)
    except TreatmentRecord.DoesNotExist:
        raise Conflict(
            "This session has no treatment record yet: it is recorded when the session "
            "is completed.",
            field="status",
        ) from None
    if not treatment_may_correct(user=by, record=record):
        raise PermissionDenied(MAY_NOT_CORRECT)
    client_check_not_erased(session.client)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(
            "Say why the record is corrected, e.g. “intensity typed wrong”.", field="reason"
        )
    if len(reason) > CORRECTION_REASON_MAX_LENGTH:
        raise RuleViolation(
            f"Keep the reason to at most {CORRECTION_REASON_MAX_LENGTH} characters "
            f"(it has {len(reason)}).",
            field="reason",
        )
    unknown = set(fields) - set(TREATMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unexpected fields: {', '.join(sorted(unknown))}")
    current = {name: getattr(record, name) for name in TREATMENT_FIELDS}
    values = treatment_values(**{**current, **fields})
    if all(_same(current[name], values[name]) for name in TREATMENT_FIELDS):
        raise RuleViolation("The correction changes nothing: the record already says this.")
    for name, value in values.items():
        setattr(record, name, value)
    record._history_user = by
    record._change_reason = reason
    record.save(update_fields=list(TREATMENT_FIELDS))
    return record


def _same(old, new) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(str(old)) == Decimal(str(new))
    return old == new


# Reading the history ----------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    at: datetime
    by: str
    reason: str
    changes: list[tuple[str, str, str]]  # (what, before, after), in words


def treatment_shown(name: str, value) -> str:
    """One value of a record as people read it: labels, never codes; units named."""
    if name == "modality":
        return Modality(value).label if value in Modality.values else str(value)
    if name == "intensity_microamps":
        return f"{value} µA"
    if name == "frequency_hz":
        return f"{value} Hz"
    if name == "duration_minutes":
        return f"{value} minutes"
    if name in ("areas", "add_ons"):
        choices = Area if name == "areas" else AddOn
        labels = [choices(v).label if v in choices.values else str(v) for v in value or []]
        return ", ".join(labels) or "—"
    return str(value) if value else "—"


def treatment_corrections(*, record: TreatmentRecord) -> list[Correction]:
    """Every correction of ``record``, newest first, with what it changed (one query)."""
    versions = list(
        record.history.select_related("history_user").order_by("history_date", "history_id")
    )
    corrections = []
    for older, newer in zip(versions, versions[1:], strict=False):
        delta = newer.diff_against(older, included_fields=list(TREATMENT_FIELDS))
        changes = [
            (
                FIELD_LABELS[change.field],
                treatment_shown(change.field, change.old),
                treatment_shown(change.field, change.new),
            )
            for change in sorted(delta.changes, key=lambda c: TREATMENT_FIELDS.index(c.field))
        ]
        who = newer.history_user
        corrections.append(
            Correction(
                at=newer.history_date,
                by=(who.get_full_name() or who.username) if who else "unknown",
                reason=newer.history_change_reason or "",
                changes=changes,
            )
        )
    return corrections[::-1]
