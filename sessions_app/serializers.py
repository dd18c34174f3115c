from collections.abc import Mapping

from rest_framework import serializers

from clients.models import HEALTH_CHANGE_NOTE_MAX_LENGTH, Client
from clinic.dates import validate_calendar_date
from clinic.fields import ClinicDateTimeField
from clinic.selectors import active_estheticians
from protocols.models import Modality, Plan
from sessions_app.free_times import MAX_DAYS, range_problem
from sessions_app.models import (
    CANCEL_REASON_MAX_LENGTH,
    AddOn,
    Area,
    ClosedDay,
    DayOff,
    Device,
    Reminder,
    Room,
    Session,
    TreatmentRecord,
    WorkingHours,
)
from sessions_app.rules import (
    DURATION_MINUTES,
    FREQUENCY_HZ,
    INTENSITY_MICROAMPS,
    SESSION_MINUTES,
)
from sessions_app.treatment import CORRECTION_REASON_MAX_LENGTH


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "is_active"]


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "name", "serial_number", "in_service"]


class WorkingHoursSerializer(serializers.ModelSerializer):
    esthetician = serializers.PrimaryKeyRelatedField(queryset=active_estheticians())

    class Meta:
        model = WorkingHours
        fields = ["id", "esthetician", "weekday", "starts_at", "ends_at"]
        # The rules (ends after it starts, no overlap with the day's other shifts) live in
        # resource_services.working_hours_save, which the API and the pages both call.
        validators = []


class DayOffSerializer(serializers.ModelSerializer):
    """One esthetician's day off: nothing can be booked with them that day (issue 13)."""

    esthetician = serializers.PrimaryKeyRelatedField(queryset=active_estheticians())

    class Meta:
        model = DayOff
        fields = ["id", "esthetician", "date", "reason"]
        # The rules (not past, not off already) live in resource_services.day_off_add.
        validators = []


class OutsideSerializer(serializers.Serializer):
    """A booked session a change of hours would leave outside them (sessions_app.hours)."""

    session = serializers.IntegerField(source="session.pk")
    start = serializers.DateTimeField(source="session.start")
    end = serializers.DateTimeField(source="session.end")
    esthetician = serializers.IntegerField(source="session.esthetician_id")
    client_name = serializers.CharField(source="session.client.full_name")
    reason = serializers.CharField(help_text="Why the session would be outside the hours.")


class ShiftChangeQuerySerializer(serializers.Serializer):
    """A shift as it would be saved, to ask what it would leave outside the hours."""

    esthetician = serializers.PrimaryKeyRelatedField(queryset=active_estheticians())
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="Monday = 0.")
    starts_at = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    ends_at = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    shift = serializers.PrimaryKeyRelatedField(
        queryset=WorkingHours.objects.all(),
        required=False,
        help_text="The shift being changed; left out, a new shift.",
    )


class ClosedDayQuerySerializer(serializers.Serializer):
    date = serializers.DateField(validators=[validate_calendar_date])


class DayOffQuerySerializer(serializers.Serializer):
    esthetician = serializers.PrimaryKeyRelatedField(queryset=active_estheticians())
    date = serializers.DateField(validators=[validate_calendar_date])


class ClosedDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = ClosedDay
        fields = ["id", "date", "reason"]
        validators = []
        extra_kwargs = {"date": {"validators": []}}


class TreatmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TreatmentRecord
        fields = [
            "modality",
            "intensity_microamps",
            "frequency_hz",
            "duration_minutes",
            "areas",
            "add_ons",
            "notes",
            "recorded_at",
        ]


class SessionSerializer(serializers.ModelSerializer):
    treatment = TreatmentSerializer(read_only=True, allow_null=True)
    client_name = serializers.CharField(source="client.full_name", read_only=True)
    esthetician_name = serializers.CharField(source="esthetician.get_full_name", read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "client",
            "client_name",
            "esthetician",
            "esthetician_name",
            "room",
            "device",
            "plan",
            "start",
            "end",
            "kind",
            "status",
            "sequence",
            "treatment",
            "booked_at",
            "checked_in_at",
            "completed_at",
            "cancelled_at",
            # Who acted (staff ids; null when unknown or not done). A cancellation by the
            # client's email link has ``cancelled_by`` null and ``cancelled_by_client`` true.
            "rescheduled_at",
            "rescheduled_by",
            "cancelled_by",
            "cancelled_by_client",
            "cancel_reason",
            "no_show_at",
            "no_show_by",
            "checked_in_by",
            "completed_by",
            # The change in health reported at this session's check-in, if any.
            "health_change",
        ]
        read_only_fields = fields


class SessionBookSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    esthetician = serializers.PrimaryKeyRelatedField(queryset=active_estheticians())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all())
    device = serializers.PrimaryKeyRelatedField(queryset=Device.objects.all())
    plan = serializers.PrimaryKeyRelatedField(
        queryset=Plan.objects.all(), required=False, allow_null=True
    )
    start = ClinicDateTimeField()
    # Left out: single, or series when a plan is named (the service decides).
    kind = serializers.ChoiceField(choices=Session.Kind.choices, required=False)
    minutes = serializers.IntegerField(required=False, **SESSION_MINUTES.field_limits())


class RescheduleSerializer(serializers.Serializer):
    start = ClinicDateTimeField()
    # Left out: the session keeps its length (the time grid's resize sends it, issue 13).
    minutes = serializers.IntegerField(required=False, **SESSION_MINUTES.field_limits())
    # Left out: the session keeps its esthetician, room and device (issue 13: a
    # reschedule may change them; the new one must be bookable and free).
    esthetician = serializers.PrimaryKeyRelatedField(
        queryset=active_estheticians(), required=False, help_text="Move to this esthetician."
    )
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.all(), required=False, help_text="Move to this room."
    )
    device = serializers.PrimaryKeyRelatedField(
        queryset=Device.objects.all(), required=False, help_text="Move to this device."
    )


class CheckInSerializer(serializers.Serializer):
    nothing_changed = serializers.BooleanField(
        help_text="Required. true: the client confirms nothing has changed since their "
        "screening. false: the change is recorded, the answer is 409 and the client needs "
        "a new screening before check-in or booking."
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=HEALTH_CHANGE_NOTE_MAX_LENGTH,
        help_text="What has changed, if the client said (only with nothing_changed false).",
    )

    def to_internal_value(self, data):
        # Re-confirmation must be explicit: a missing answer is not "nothing changed"
        # (DRF would read a boolean missing from form data as false). A body that is not
        # an object falls through to DRF's own 400.
        if isinstance(data, Mapping) and "nothing_changed" not in data:
            raise serializers.ValidationError(
                {"nothing_changed": ["Ask the client whether anything has changed."]}
            )
        return super().to_internal_value(data)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=CANCEL_REASON_MAX_LENGTH,
        help_text="Optional: why the session is cancelled (shown on the session page).",
    )


class CompleteSerializer(serializers.Serializer):
    """The treatment record. Each number's range and message is ``sessions_app.rules``'s,
    the same that ``session_complete`` checks and the completion page shows."""

    modality = serializers.ChoiceField(choices=Modality.choices)
    intensity_microamps = serializers.IntegerField(**INTENSITY_MICROAMPS.field_limits())
    # Room for any number's digits (a shape check), so one out of range gets the rule's
    # message rather than a count of digits.
    frequency_hz = serializers.DecimalField(
        max_digits=12, decimal_places=2, **FREQUENCY_HZ.field_limits()
    )
    duration_minutes = serializers.IntegerField(**DURATION_MINUTES.field_limits())
    areas = serializers.ListField(
        child=serializers.ChoiceField(choices=Area.choices), required=False, default=list
    )
    add_ons = serializers.ListField(
        child=serializers.ChoiceField(choices=AddOn.choices), required=False, default=list
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class PlanCreateSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    start_date = serializers.DateField(validators=[validate_calendar_date])


class SeriesMoveSerializer(serializers.Serializer):
    """One session of a series put at another time, the others left where they are."""

    day = serializers.DateField(
        validators=[validate_calendar_date],
        help_text="The day the series puts the session on (a preview row's ``day``).",
    )
    start = ClinicDateTimeField(help_text="When it is to be instead.")


class SeriesBookSerializer(serializers.Serializer):
    esthetician = serializers.PrimaryKeyRelatedField(queryset=active_estheticians())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all())
    device = serializers.PrimaryKeyRelatedField(queryset=Device.objects.all())
    time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), allow_empty=False, max_length=7
    )
    sessions = serializers.IntegerField(required=False, min_value=1)
    weeks = serializers.IntegerField(required=False, min_value=1)
    moves = SeriesMoveSerializer(
        many=True,
        required=False,
        help_text="Sessions to put at another time than the series would (issue 13), by "
        "the day the preview shows them on; the other sessions stay where they are.",
    )
    preview = serializers.BooleanField(required=False, default=False)

    def validate_moves(self, moves):
        days = [move["day"] for move in moves]
        if len(set(days)) != len(days):
            raise serializers.ValidationError("Move each day's session once.")
        return moves


class ReminderSerializer(serializers.ModelSerializer):
    """One outbox row: what email, for whom, when it is due and how sending went."""

    class Meta:
        model = Reminder
        fields = [
            "id",
            "kind",
            "client",
            "session",
            "plan",
            "event",
            "due_at",
            "sent_at",
            "status",
            "attempts",
            "last_error",
        ]
        read_only_fields = fields


# A page of free times: enough to choose from, never the whole month.
FREE_TIMES_LIMIT = 50
FREE_TIMES_MAX_LIMIT = 500


class AvailabilityQuerySerializer(serializers.Serializer):
    """``GET /api/availability/``: which free times to look for (sessions_app.free_times)."""

    date_from = serializers.DateField(
        validators=[validate_calendar_date], help_text="First clinic day to search."
    )
    date_to = serializers.DateField(
        validators=[validate_calendar_date],
        help_text=f"Last clinic day to search (inclusive; at most {MAX_DAYS} days in all).",
    )
    minutes = serializers.IntegerField(
        help_text="The session's length in minutes.", **SESSION_MINUTES.field_limits()
    )
    esthetician = serializers.PrimaryKeyRelatedField(
        queryset=active_estheticians(), required=False, help_text="Only this esthetician."
    )
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.filter(is_active=True), required=False, help_text="Only this room."
    )
    device = serializers.PrimaryKeyRelatedField(
        queryset=Device.objects.filter(in_service=True),
        required=False,
        help_text="Only this device.",
    )
    client = serializers.PrimaryKeyRelatedField(
        queryset=Client.objects.all(),
        required=False,
        help_text="For this client: their own sessions and the one-a-day rule count, and "
        "their most recent esthetician comes first among equal starts.",
    )
    limit = serializers.IntegerField(
        required=False,
        default=FREE_TIMES_LIMIT,
        min_value=1,
        max_value=FREE_TIMES_MAX_LIMIT,
        help_text="At most this many free times, soonest first.",
    )

    def validate(self, attrs):
        problem = range_problem(attrs["date_from"], attrs["date_to"])
        if problem:
            raise serializers.ValidationError({"date_to": [problem]})
        return attrs


class FreeTimeSerializer(serializers.Serializer):
    """One free time: a session of the asked length fits from ``start`` to ``end`` with
    this esthetician, room and device."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    esthetician = serializers.IntegerField(source="esthetician.pk")
    esthetician_name = serializers.CharField(source="esthetician.get_full_name")
    room = serializers.IntegerField(source="room.pk")
    room_name = serializers.CharField(source="room.name")
    device = serializers.IntegerField(source="device.pk")
    device_name = serializers.CharField(source="device.__str__")


class TreatmentCorrectSerializer(serializers.Serializer):
    """A correction of the treatment record (issue 13): the fields that change, checked as
    on completion, and why (required; kept with the earlier version)."""

    modality = serializers.ChoiceField(choices=Modality.choices, required=False)
    intensity_microamps = serializers.IntegerField(
        required=False, **INTENSITY_MICROAMPS.field_limits()
    )
    frequency_hz = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, **FREQUENCY_HZ.field_limits()
    )
    duration_minutes = serializers.IntegerField(required=False, **DURATION_MINUTES.field_limits())
    areas = serializers.ListField(
        child=serializers.ChoiceField(choices=Area.choices), required=False
    )
    add_ons = serializers.ListField(
        child=serializers.ChoiceField(choices=AddOn.choices), required=False
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(max_length=CORRECTION_REASON_MAX_LENGTH)
