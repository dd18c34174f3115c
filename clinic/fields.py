"""API input fields that keep the clinic's rules at the edge."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from clinic.clinic_time import local_datetime
from clinic.dates import OUT_OF_RANGE, validate_calendar_date, within_calendar
from clinic.errors import RuleViolation


class ClinicDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time. With an offset it is that instant; without one it is
    clinic time, read by ``clinic.clinic_time``'s daylight-saving rules: a time the
    clocks skip is refused, a time that happens twice is its first occurrence. (DRF's
    own reading accepts a skipped time and refuses a repeated one.) A date the calendar
    cannot show (year 1, year 9999) is refused too (``clinic.dates``)."""

    default_validators = [validate_calendar_date]

    def enforce_timezone(self, value):
        # Before any zone arithmetic: converting 9999-12-31 23:00 to UTC overflows.
        if not within_calendar(value):
            raise serializers.ValidationError(OUT_OF_RANGE, code="out_of_range")
        if timezone.is_naive(value):
            try:
                return local_datetime(value.date(), value.time(), field=self.field_name)
            except RuleViolation as error:
                raise serializers.ValidationError(error.message, code="invalid") from error
        return super().enforce_timezone(value)
