import os
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from clients.rules import (
    ANSWER_FIELDS,
    CONDITION_LABELS,
    Condition,
    Outcome,
    ScreeningResult,
    screening_outcome,
)
from clinic.clinic_time import localdate

MAX_AGE_YEARS = 120


def validate_date_of_birth(value: date) -> None:
    today = localdate()
    if value > today:
        raise ValidationError("Date of birth cannot be in the future.", code="future")
    if value < today - relativedelta(years=MAX_AGE_YEARS):
        raise ValidationError(
            f"Date of birth cannot be more than {MAX_AGE_YEARS} years ago.", code="too_old"
        )


class Client(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField()
    phone = PhoneNumberField(blank=True)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    notes = models.TextField(blank=True)
    # Set when the client unsubscribes: they still get confirmations and care
    # instructions, but no maintenance reminders.
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Signed links issued before this moment no longer work (issue 11, "revocable").
    links_revoked_at = models.DateTimeField(null=True, blank=True)
    # Set once when the client's data is erased (issue 12): the row stays, anonymised,
    # so their sessions and treatment records still count as anonymous statistics.
    erased_at = models.DateTimeField(null=True, blank=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class Screening(models.Model):
    """One contraindication screening. Never edited: a new one supersedes it."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="screenings")
    pacemaker = models.BooleanField()
    pregnant = models.BooleanField()
    neurological_disorder = models.BooleanField()
    recent_surgery = models.BooleanField()
    cancer_treatment = models.BooleanField()
    implanted_defibrillator = models.BooleanField()
    # The outcome as decided when the screening was taken, kept for the record.
    outcome = models.CharField(
        max_length=20,
        choices=[
            (o.value, o.value.replace("_", " ")) for o in Outcome if o != "screening_required"
        ],
    )
    flagged = models.JSONField(default=list)
    # Null only for a screening the client answered on a signed page (issue 11, "The
    # screening online"): answered_online says so, and a constraint keeps them in step.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    answered_online = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        get_latest_by = "recorded_at"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recorded_by__isnull=False) | models.Q(answered_online=True),
                name="screening_recorded_by_staff_or_online",
            ),
        ]

    def __str__(self) -> str:
        return f"Screening of {self.client_id} on {self.recorded_at:%Y-%m-%d}: {self.outcome}"

    @property
    def answers(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in ANSWER_FIELDS}

    @property
    def flagged_labels(self) -> list[str]:
        return [CONDITION_LABELS[Condition(code)] for code in self.flagged]

    @cached_property
    def result(self) -> ScreeningResult:
        return screening_outcome(self.answers)


class PrivateStorage(FileSystemStorage):
    """Files under ``PRIVATE_MEDIA_ROOT``, read when a file is stored, not at import.

    A ``location=`` argument would freeze the folder when the model is loaded, so
    a changed setting (tests point it at a temporary folder) would be ignored.
    """

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def _private_storage() -> FileSystemStorage:
    # Outside MEDIA_ROOT and with no URL: only the staff-only view serves these.
    return PrivateStorage(base_url=None)


class Clearance(models.Model):
    """A doctor's clearance covering one or more clearable conditions until it expires."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="clearances")
    physician = models.CharField(max_length=200)
    issued_on = models.DateField()
    expires_on = models.DateField()
    conditions = models.JSONField(default=list)
    document = models.FileField(storage=_private_storage, upload_to="clearances/%Y/%m/", blank=True)
    document_content_type = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("issued_on")),
                name="clearance_expires_after_issue",
            )
        ]

    def __str__(self) -> str:
        return f"Clearance by {self.physician} ({self.issued_on})"

    def is_valid_on(self, day: date) -> bool:
        return self.issued_on <= day <= self.expires_on

    @property
    def condition_labels(self) -> list[str]:
        return [CONDITION_LABELS[Condition(code)] for code in self.conditions]


HEALTH_CHANGE_NOTE_MAX_LENGTH = 1000


class HealthChange(models.Model):
    """A change in health the client reported at check-in (SPEC, "Contraindication
    screening"). Until a screening is recorded after it, the client's eligibility is
    ``screening_required`` (``clients.selectors.client_eligibility``). Never edited; the
    session it was reported at points here (``Session.health_change``), because
    ``clients`` knows nothing of sessions."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="health_changes")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField(default=timezone.now, db_index=True)
    # What the client said, if staff wrote it down; the new screening holds the answers.
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        get_latest_by = "reported_at"

    def __str__(self) -> str:
        return f"Health change of {self.client_id} reported {self.reported_at:%Y-%m-%d %H:%M}"
