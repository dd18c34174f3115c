from decimal import Decimal

from rest_framework import serializers

from clients.models import Client
from clinic.models import User
from clinic.roles import Role
from protocols.models import Modality, Plan
from sessions_app.models import (
    INTENSITY_MAX_MICROAMPS,
    INTENSITY_MIN_MICROAMPS,
    AddOn,
    Area,
    ClosedDay,
    Device,
    Reminder,
    Room,
    Session,
    TreatmentRecord,
    WorkingHours,
)


def estheticians():
    return User.objects.filter(role=Role.ESTHETICIAN, is_active=True)


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "is_active"]


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "name", "serial_number", "in_service"]


class WorkingHoursSerializer(serializers.ModelSerializer):
    esthetician = serializers.PrimaryKeyRelatedField(queryset=estheticians())

    class Meta:
        model = WorkingHours
        fields = ["id", "esthetician", "weekday", "starts_at", "ends_at"]
        # The rules (ends after it starts, one shift a weekday) live in
        # resource_services.working_hours_save, which the API and the pages both call.
        validators = []


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
    treatment = TreatmentSerializer(read_only=True)
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
        ]
        read_only_fields = fields


class SessionBookSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    esthetician = serializers.PrimaryKeyRelatedField(queryset=estheticians())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all())
    device = serializers.PrimaryKeyRelatedField(queryset=Device.objects.all())
    plan = serializers.PrimaryKeyRelatedField(
        queryset=Plan.objects.all(), required=False, allow_null=True
    )
    start = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=[Session.Kind.SINGLE, Session.Kind.MAINTENANCE], default=Session.Kind.SINGLE
    )
    minutes = serializers.IntegerField(min_value=15, max_value=180, required=False)


class RescheduleSerializer(serializers.Serializer):
    start = serializers.DateTimeField()


class CheckInSerializer(serializers.Serializer):
    nothing_changed = serializers.BooleanField()

    def to_internal_value(self, data):
        # Re-confirmation must be explicit: a missing answer is not "nothing changed".
        if "nothing_changed" not in data:
            raise serializers.ValidationError(
                {"nothing_changed": ["Ask the client whether anything has changed."]}
            )
        return super().to_internal_value(data)


class CompleteSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=Modality.choices)
    intensity_microamps = serializers.IntegerField(
        min_value=INTENSITY_MIN_MICROAMPS,
        max_value=INTENSITY_MAX_MICROAMPS,
        error_messages={
            "min_value": f"Intensity must be between {INTENSITY_MIN_MICROAMPS} and "
            f"{INTENSITY_MAX_MICROAMPS} µA (microamps).",
            "max_value": f"Intensity must be between {INTENSITY_MIN_MICROAMPS} and "
            f"{INTENSITY_MAX_MICROAMPS} µA (microamps).",
        },
    )
    frequency_hz = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=Decimal("0.01")
    )
    duration_minutes = serializers.IntegerField(min_value=1, max_value=180)
    areas = serializers.ListField(
        child=serializers.ChoiceField(choices=Area.choices), required=False, default=list
    )
    add_ons = serializers.ListField(
        child=serializers.ChoiceField(choices=AddOn.choices), required=False, default=list
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class PlanCreateSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    start_date = serializers.DateField()


class SeriesBookSerializer(serializers.Serializer):
    esthetician = serializers.PrimaryKeyRelatedField(queryset=estheticians())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all())
    device = serializers.PrimaryKeyRelatedField(queryset=Device.objects.all())
    time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), allow_empty=False, max_length=7
    )
    sessions = serializers.IntegerField(required=False, min_value=1)
    weeks = serializers.IntegerField(required=False, min_value=1)
    preview = serializers.BooleanField(required=False, default=False)


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
