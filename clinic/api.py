from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, viewsets

from clinic import services
from clinic.models import User
from clinic.roles import Role


class StaffSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "is_active",
            "password",
        ]
        read_only_fields = ["id", "is_active"]


class StaffFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = User
        fields = ["role"]


class StaffViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff accounts (managers only). ``?role=`` filters by role."""

    queryset = User.objects.filter(is_active=True)
    serializer_class = StaffSerializer
    filterset_class = StaffFilter
    role_permissions = {
        "list": "staff.manage",
        "retrieve": "staff.manage",
        "create": "staff.manage",
    }

    def perform_create(self, serializer):
        serializer.instance = services.staff_create(**serializer.validated_data)
