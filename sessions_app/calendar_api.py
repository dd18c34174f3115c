"""``GET /api/calendar/``: the time grid's feed (``sessions_app.calendar_feed``) for
integrations; the pages' grid reads the same feed from ``/calendar/feed/``."""

from datetime import timedelta

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.dates import validate_calendar_date
from clinic.selectors import active_estheticians
from sessions_app.calendar_feed import BY_ESTHETICIAN, GROUPINGS, MAX_DAYS, calendar_feed


class CalendarFeedQuerySerializer(serializers.Serializer):
    """Which clinic days, and which columns."""

    start = serializers.DateField(
        validators=[validate_calendar_date], help_text="First clinic day (YYYY-MM-DD)."
    )
    end = serializers.DateField(
        required=False,
        validators=[validate_calendar_date],
        help_text=f"The day after the last one (exclusive; at most {MAX_DAYS} days in all). "
        "Left out: one day.",
    )
    by = serializers.ChoiceField(
        choices=GROUPINGS,
        required=False,
        default=BY_ESTHETICIAN,
        help_text="One column per esthetician (default) or per room.",
    )
    esthetician = serializers.PrimaryKeyRelatedField(
        queryset=active_estheticians(), required=False, help_text="Only this esthetician."
    )

    def validate(self, attrs):
        start = attrs["start"]
        end = attrs.get("end") or start + timedelta(days=1)
        if end <= start:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        if (end - start).days > MAX_DAYS:
            raise serializers.ValidationError({"end": [f"At most {MAX_DAYS} days at a time."]})
        attrs["end"] = end
        return attrs


def feed_for(query: CalendarFeedQuerySerializer, user) -> dict:
    data = query.validated_data
    return calendar_feed(
        first=data["start"],
        last=data["end"] - timedelta(days=1),
        by=data["by"],
        esthetician=data.get("esthetician"),
        user=user,
    )


class CalendarFeedView(APIView):
    """The time grid of some clinic days (issue 13): ``resources`` (the columns),
    ``events`` (live sessions with client, status, eligibility, confirmation, room and
    device, a flag when outside hours; and background events for time not worked and
    closed days, with the reason) and ``slotMinTime``/``slotMaxTime``. Times are clinic
    wall times without an offset."""

    role_permissions = {"get": "sessions.view"}

    @extend_schema(
        parameters=[CalendarFeedQuerySerializer],
        responses={
            200: OpenApiResponse(description="resources, events, slotMinTime, slotMaxTime"),
            400: OpenApiResponse(description="a date missing or out of range, too many days"),
        },
    )
    def get(self, request):
        query = CalendarFeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(feed_for(query, request.user))
