from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from clients.models import Client, HealthChange
from protocols.models import Modality, Plan
from sessions_app.rules import INTENSITY_MICROAMPS

# The database keeps the SPEC's intensity range as well; the numbers are the rule's.
INTENSITY_MIN_MICROAMPS = INTENSITY_MICROAMPS.low
INTENSITY_MAX_MICROAMPS = INTENSITY_MICROAMPS.high
CANCEL_REASON_MAX_LENGTH = 500


class Room(models.Model):
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        # "Willow room" and "willow Room" are one room to the people booking it (issue 13);
        # ``resource_services.room_save`` says so first, naming the room.
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="room_name_unique_ignoring_case",
                violation_error_message="A room with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    """A microcurrent device. One out of service cannot be booked."""

    name = models.CharField(max_length=100)
    serial_number = models.CharField(max_length=100, unique=True)
    in_service = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "serial_number"]
        # Staff pick a device by its name: two of one model are "NuFACE Pro 1" and "2".
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="device_name_unique_ignoring_case",
                violation_error_message="A device with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial_number})"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WorkingHours(models.Model):
    """One shift of an esthetician on one weekday, in clinic time. A day may have several
    (a lunch break between two); shifts of one esthetician on one weekday never overlap
    (issue 13, "Shifts people really work"): ``resource_services.working_hours_save``
    checks it with a clear message, and on PostgreSQL an exclusion constraint
    (``sessions_app.db.shift_exclusion_constraint_sql``) refuses what a race lets past."""

    esthetician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["esthetician", "weekday", "starts_at"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        shift = f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
        return f"{self.esthetician} {self.get_weekday_display()} {shift}"


class ClosedDay(models.Model):
    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}".strip()


class DayOff(models.Model):
    """A day one esthetician does not work, whatever their weekly hours say (holiday,
    training, sick day). Nothing can be booked with them that day."""

    esthetician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="days_off"
    )
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "esthetician"]
        verbose_name_plural = "days off"
        constraints = [
            models.UniqueConstraint(fields=["esthetician", "date"], name="one_day_off_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.esthetician} off {self.date} {self.reason}".strip()


class SessionQuerySet(models.QuerySet):
    def live(self):
        """Sessions that hold their slot (everything but cancelled ones)."""
        return self.exclude(status=Session.Status.CANCELLED)


class Session(models.Model):
    class Kind(models.TextChoices):
        SERIES = "series", "Series"
        MAINTENANCE = "maintenance", "Maintenance boost"
        SINGLE = "single", "Single session"

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="sessions")
    esthetician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions"
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="sessions")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="sessions")
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="sessions", null=True, blank=True
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SINGLE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    # Raised on every change the client should hear of (calendar files use it).
    sequence = models.PositiveIntegerField(default=0)
    # Null only for a booking the client made online from a signed link (issue 11,
    # "Book the boost online"): no member of staff acted, and a made-up "system" user
    # would put a false name on the record. booked_online says so; a constraint keeps
    # the two in step.
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    booked_online = models.BooleanField(default=False)
    booked_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The client pressed "confirm I will come" in an email.
    client_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Who acted, and when (issue 9, "Who did it"). A null "by" on an old row means
    # unknown; a cancellation by the client through an email link has no staff member.
    rescheduled_at = models.DateTimeField(null=True, blank=True)
    rescheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    cancelled_by_client = models.BooleanField(default=False)
    cancel_reason = models.CharField(max_length=CANCEL_REASON_MAX_LENGTH, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    no_show_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The change in health the client reported when asked at check-in here, if any.
    health_change = models.OneToOneField(
        HealthChange,
        on_delete=models.PROTECT,
        related_name="session",
        null=True,
        blank=True,
    )

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["esthetician", "start"]),
            models.Index(fields=["room", "start"]),
            models.Index(fields=["device", "start"]),
            models.Index(fields=["client", "start"]),
            models.Index(fields=["start"]),
            # The navigation's client-activity count, on every staff page (issue 14): each
            # part reads only the rows it counts, not the whole history.
            models.Index(
                fields=["booked_at"],
                condition=models.Q(booked_online=True),
                name="session_online_idx",
            ),
            models.Index(
                fields=["cancelled_at"],
                condition=models.Q(cancelled_by_client=True),
                name="session_client_cancel_idx",
            ),
            models.Index(
                fields=["client_confirmed_at"],
                condition=models.Q(client_confirmed_at__isnull=False),
                name="session_confirmed_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="session_ends_after_start"
            ),
            # Cancelled either by a member of staff or by the client's email link, not both.
            models.CheckConstraint(
                condition=~models.Q(cancelled_by__isnull=False, cancelled_by_client=True),
                name="session_cancelled_by_staff_or_client",
            ),
            # Booked by a member of staff, or online by the client: never neither.
            models.CheckConstraint(
                condition=models.Q(booked_by__isnull=False) | models.Q(booked_online=True),
                name="session_booked_by_staff_or_online",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.start:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class Area(models.TextChoices):
    FOREHEAD = "forehead", "Forehead"
    BROWS = "brows", "Brows"
    EYES = "eyes", "Eye area"
    CHEEKS = "cheeks", "Cheeks"
    JAWLINE = "jawline", "Jawline"
    LIPS = "lips", "Lips"
    NECK = "neck", "Neck"
    DECOLLETE = "decollete", "Décolleté"


class AddOn(models.TextChoices):
    FACIAL = "facial", "Facial"
    DERMAPLANING = "dermaplaning", "Dermaplaning"
    LED = "led", "LED"
    CHEMICAL_PEEL = "chemical_peel", "Chemical peel"


class TreatmentRecord(models.Model):
    """What was done in a completed session."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="treatment")
    modality = models.CharField(max_length=10, choices=Modality.choices)
    intensity_microamps = models.PositiveSmallIntegerField(
        validators=[
            MinValueValidator(INTENSITY_MIN_MICROAMPS),
            MaxValueValidator(INTENSITY_MAX_MICROAMPS),
        ]
    )
    frequency_hz = models.DecimalField(max_digits=6, decimal_places=2)
    duration_minutes = models.PositiveSmallIntegerField()
    areas = models.JSONField(default=list)
    add_ons = models.JSONField(default=list)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    # Every version, with who changed it, when and why (issue 13: a correction by the
    # author or a manager keeps what was recorded before; ``sessions_app.treatment``).
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    intensity_microamps__gte=INTENSITY_MIN_MICROAMPS,
                    intensity_microamps__lte=INTENSITY_MAX_MICROAMPS,
                ),
                name="intensity_within_10_500_microamps",
            ),
        ]

    def __str__(self) -> str:
        return f"Treatment for {self.session}"

    @property
    def area_labels(self) -> list[str]:
        """The areas in words ("Eye area", not "eyes"); an unknown code stays as it is."""
        return [_label(Area, code) for code in self.areas]

    @property
    def add_on_labels(self) -> list[str]:
        return [_label(AddOn, code) for code in self.add_ons]


def _label(choices: type[models.TextChoices], code: str) -> str:
    return choices(code).label if code in choices.values else code


class Reminder(models.Model):
    """One email to send: the outbox row is the schedule (SPEC, "Maintenance and
    hydration"). Planning is idempotent through ``key``; dispatch moves a row
    scheduled → sending → sent with conditional updates, so no row is sent twice."""

    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
        HYDRATION_BEFORE = "hydration_before", "Hydration before"
        HYDRATION_AFTER = "hydration_after", "Hydration after"
        MAINTENANCE_DUE = "maintenance_due", "Maintenance due (4 weeks)"
        MAINTENANCE_OVERDUE = "maintenance_overdue", "Maintenance overdue (6 weeks)"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Event(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="reminders")
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="reminders", null=True, blank=True
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="reminders", null=True, blank=True
    )
    # For confirmations: what happened to the booking (the email's wording and .ics method).
    event = models.CharField(max_length=12, choices=Event.choices, default=Event.BOOKED)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The batch that holds the row while it is in sending: every later update of the row
    # names it, so a worker whose claim was taken over by another touches nothing.
    claim_token = models.CharField(max_length=32, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Planning the same thing twice finds this key taken and makes no second row.
    key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["client", "-due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.client} due {self.due_at:%Y-%m-%d %H:%M}"


class MailServerBackoff(models.Model):
    """One row: until when the dispatcher leaves the mail server alone after it could
    not be reached (issue 10, "Outages don't burn attempts"). Every dispatcher reads it
    before claiming, so an outage costs one connection attempt per back-off step, not
    one attempt on every due row."""

    until = models.DateTimeField()
    # Back-offs in a row without a successful connection: the step on the ladder.
    failures = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Mail server unreachable until {self.until:%Y-%m-%d %H:%M:%S}"
