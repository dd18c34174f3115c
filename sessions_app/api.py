from rest_framework import serializers, viewsets

from sessions_app.models import Device, Room

RESOURCE_PERMISSIONS = {
    "list": "resources.view",
    "retrieve": "resources.view",
    "create": "resources.manage",
    "update": "resources.manage",
    "partial_update": "resources.manage",
}


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "is_active"]


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "name", "serial_number", "in_service"]


class RoomViewSet(viewsets.ModelViewSet):
    """Treatment rooms; managers create and edit them."""

    queryset = Room.objects.all()
    serializer_class = RoomSerializer
    role_permissions = RESOURCE_PERMISSIONS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class DeviceViewSet(viewsets.ModelViewSet):
    """Microcurrent devices; managers create them and take them out of service."""

    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    role_permissions = RESOURCE_PERMISSIONS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
