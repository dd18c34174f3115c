from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from protocols import services
from protocols.models import Plan, Protocol


class ProtocolSerializer(serializers.ModelSerializer):
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
    min_age = serializers.IntegerField(min_value=1, max_value=150)


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
            "created_at",
        ]
        read_only_fields = [f for f in fields if f not in ("client", "start_date")]

    def get_sessions_booked(self, obj) -> int:
        return getattr(obj, "sessions_booked", 0)

    def get_sessions_completed(self, obj) -> int:
        return getattr(obj, "sessions_completed", 0)
