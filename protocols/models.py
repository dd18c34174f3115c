from datetime import timedelta

from django.conf import settings
from django.db import models

from clients.models import Client


class Modality(models.TextChoices):
    STATIC = "static", "Static (electrodes stay in place)"
    DYNAMIC = "dynamic", "Dynamic (device moves across the skin)"


class Protocol(models.Model):
    """An age band's initial series. Seeded by a data migration, edited by managers."""

    name = models.CharField(max_length=100, unique=True)
    min_age = models.PositiveSmallIntegerField()
    max_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: no upper limit."
    )
    sessions_min = models.PositiveSmallIntegerField()
    sessions_max = models.PositiveSmallIntegerField()
    weeks_min = models.PositiveSmallIntegerField()
    weeks_max = models.PositiveSmallIntegerField()
    session_minutes = models.PositiveSmallIntegerField(default=45)
    default_modality = models.CharField(
        max_length=10, choices=Modality.choices, default=Modality.STATIC
    )

    class Meta:
        ordering = ["min_age"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sessions_min__gte=1, sessions_max__gte=models.F("sessions_min")),
                name="protocol_sessions_range",
            ),
            models.CheckConstraint(
                condition=models.Q(weeks_min__gte=1, weeks_max__gte=models.F("weeks_min")),
                name="protocol_weeks_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def age_label(self) -> str:
        if self.max_age is None:
            return f"{self.min_age} and over"
        return f"{self.min_age} to {self.max_age}"


class Plan(models.Model):
    """A client's initial series. The protocol's numbers are copied in when the plan is
    made, so a later edit to the protocol does not change it."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="plans")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="plans")
    start_date = models.DateField()
    age_at_start = models.PositiveSmallIntegerField()
    sessions_min = models.PositiveSmallIntegerField()
    sessions_max = models.PositiveSmallIntegerField()
    weeks_min = models.PositiveSmallIntegerField()
    weeks_max = models.PositiveSmallIntegerField()
    session_minutes = models.PositiveSmallIntegerField()
    modality = models.CharField(max_length=10, choices=Modality.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A cancelled plan is never active again and cannot be booked (issue 9, rule 3).
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.protocol.name} series for {self.client} from {self.start_date}"

    @property
    def end_date(self):
        """The day after the plan's window: it runs ``start_date`` up to, not
        including, this day (``weeks_max`` weeks)."""
        return self.start_date + timedelta(weeks=self.weeks_max)

    @property
    def last_day(self):
        """The last day of the plan's window."""
        return self.end_date - timedelta(days=1)
