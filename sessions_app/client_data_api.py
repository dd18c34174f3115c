"""``GET /api/clients/{id}/export/`` and ``POST /api/clients/{id}/erase/`` (issue 12):
thin views over ``sessions_app.client_data``. Here rather than on ``clients.api``'s
viewset, because ``clients`` may not import ``sessions_app``."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clients.models import Client
from sessions_app.client_data import client_erase, client_export, erasure_confirmed
from sessions_app.client_data_views import export_response


class ClientExportAPIView(APIView):
    """One client's data as a ZIP of JSON files plus the clearance letters (managers)."""

    role_permissions = {"get": "clients.export"}

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            403: OpenApiResponse(description="only managers export client data"),
            404: OpenApiResponse(description="no such client"),
        }
    )
    def get(self, request, pk: int):
        client = get_object_or_404(Client, pk=pk)
        return export_response(client_export(client=client, by=request.user, request=request))


class EraseInputSerializer(serializers.Serializer):
    confirm = serializers.CharField(
        max_length=250,
        trim_whitespace=True,
        help_text="The client's full name, typed again: an erasure cannot be undone.",
    )


class ErasureSerializer(serializers.Serializer):
    client = serializers.IntegerField(source="client.pk")
    already_erased = serializers.BooleanField(source="already")
    erased_at = serializers.DateTimeField(source="client.erased_at")
    erased_by = serializers.CharField(source="client.erased_by.username", allow_null=True)
    sessions_cancelled = serializers.IntegerField()
    emails_cancelled = serializers.IntegerField()
    letters_removed = serializers.IntegerField()


class ClientEraseAPIView(APIView):
    """Erase one client's personal data (managers). ``confirm`` must be the client's
    full name. A client already erased answers 200 with ``already_erased`` and nothing
    changes."""

    role_permissions = {"post": "clients.erase"}

    @extend_schema(
        request=EraseInputSerializer,
        responses={
            200: ErasureSerializer,
            400: OpenApiResponse(description="confirm missing or not the client's full name"),
            403: OpenApiResponse(description="only managers erase clients"),
            404: OpenApiResponse(description="no such client"),
        },
    )
    def post(self, request, pk: int):
        client = get_object_or_404(Client, pk=pk)
        if client.erased_at is None:
            serializer = EraseInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            if not erasure_confirmed(client=client, typed=serializer.validated_data["confirm"]):
                raise serializers.ValidationError(
                    {"confirm": ["Not the client's full name: type it to confirm the erasure."]}
                )
        erasure = client_erase(client=client, by=request.user, request=request)
        return Response(ErasureSerializer(erasure).data)
