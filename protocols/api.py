from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from protocols import services
from protocols.models import Plan, Protocol
from protocols.rules import AGE, SERIES_SESSIONS, SERIES_WEEKS, SESSION_MINUTES, Bound


def bounded(bound: Bound, **kwargs) -> serializers.IntegerField:
    """An integer within ``bound``, refused with the rule's own message (the service
    checks the same bound, and the pages say the same words)."""
    return serializers.IntegerField(**bound.field_limits(), **kwargs)


class ProtocolSerializer(serializers.ModelSerializer):
    """One age band. Each number's bounds come from ``protocols.rules``; whether the
    numbers fit together, and the bands with each other, is ``protocol_update``'s rule."""

    min_age = bounded(AGE)
    max_age = bounded(AGE, allow_null=True, required=False, help_text="Empty: no upper limit.")
    sessions_min = bounded(SERIES_SESSIONS)
    sessions_max = bounded(SERIES_SESSIONS)
    weeks_min = bounded(SERIES_WEEKS)
    weeks_max = bounded(SERIES_WEEKS)
    session_minutes = bounded(SESSION_MINUTES, required=False)

    class Meta:
        model = Protocol
        fields = [
            "id",
            "name",
            "min_age",
            "max_age",
            "sessions_min",
            "sessions_max",
            "weeks_min",
            "weeks_max",
            "session_minutes",
            "default_modality",
        ]


class MoveStartSerializer(serializers.Serializer):
    # Above 0: the youngest band always starts at age 0, so a boundary is never there.
    min_age = serializers.IntegerField(min_value=1, max_value=AGE.high)


class ProtocolViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The age bands. Everyone reads them; managers edit them (no gaps, no overlaps)."""

    queryset = Protocol.objects.all()
    serializer_class = ProtocolSerializer
    pagination_class = None
    role_permissions = {
        "list": "protocols.view",
        "retrieve": "protocols.view",
        "update": "protocols.edit",
        "partial_update": "protocols.edit",
        "move_start": "protocols.edit",
    }

    @extend_schema(request=MoveStartSerializer, responses=ProtocolSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="move-start")
    def move_start(self, request, pk=None):
        """Move where this band starts; the band below then ends the year before."""
        serializer = MoveStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.protocol_move_start(protocol=self.get_object(), **serializer.validated_data)
        return Response(ProtocolSerializer(Protocol.objects.all(), many=True).data)

    def perform_update(self, serializer):
        serializer.instance = services.protocol_update(
            protocol=serializer.instance, **serializer.validated_data
        )


class PlanSerializer(serializers.ModelSerializer):
    protocol = serializers.SlugRelatedField(slug_field="name", read_only=True)
    sessions_booked = serializers.SerializerMethodField()
    sessions_completed = serializers.SerializerMethodField()
    sessions_to_rebook = serializers.SerializerMethodField(
        help_text="Cancelled sessions not yet rebooked (POST /api/plans/{id}/rebook/ books them)."
    )

    class Meta:
        model = Plan
        fields = [
            "id",
            "client",
            "start_date",
            "protocol",
            "age_at_start",
            "sessions_min",
            "sessions_max",
            "weeks_min",
            "weeks_max",
            "session_minutes",
            "modality",
            "sessions_booked",
            "sessions_completed",
            "sessions_to_rebook",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = [f for f in fields if f not in ("client", "start_date")]

    def get_sessions_booked(self, obj) -> int:
        return getattr(obj, "sessions_booked", 0)

    def get_sessions_completed(self, obj) -> int:
        return getattr(obj, "sessions_completed", 0)

    def get_sessions_to_rebook(self, obj) -> int:
        # Annotated by sessions_app's plan selectors (protocols knows nothing of sessions).
        return getattr(obj, "sessions_to_rebook", 0)
