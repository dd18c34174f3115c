import logging

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from clients import audit, selectors, services
from clients.models import Clearance, Client
from clients.serializers import (
    ClearanceInputSerializer,
    ClearanceSerializer,
    ClientSerializer,
    DuplicateClientSerializer,
    EligibilitySerializer,
    ScreeningInputSerializer,
    ScreeningSerializer,
)
from clinic import dataversion
from clinic.clinic_time import localdate
from clinic.parsers import JSONParser

logger = logging.getLogger(__name__)
# One output serializer for every eligibility answer: it holds no request or state, and
# building its fields anew took as long as reading the client (issue 14).
_ELIGIBILITY_ANSWER = EligibilitySerializer()


def eligibility_answer(pk: int) -> dict | None:
    """Client ``pk``'s eligibility as the API answers it, or None if there is no such
    client: computed from one query (the client and what the rule reads about them),
    then kept on the data version (issue 14) until a write or the instant the screening
    stops being current; clearances expire by the clinic day, which is in the key."""

    def compute():
        at = timezone.now()
        client = selectors.client_with_eligibility(pk=pk, at=at)
        if client is None:
            return None, None  # a client registered later is a write: it retires this
        answer = selectors.client_eligibility(client=client, at=at)
        return dict(_ELIGIBILITY_ANSWER.to_representation(answer)), answer.screening_valid_until

    return dataversion.cached("eligibility", (pk, localdate()), compute)


@extend_schema_view(
    create=extend_schema(
        responses={
            201: ClientSerializer,
            400: OpenApiResponse(description="a field is missing or not valid (named)"),
            409: OpenApiResponse(
                DuplicateClientSerializer,
                description="a client with the same email, or the same name and date of "
                "birth, is already on file: see `duplicates`; send their ids in "
                "`confirm_duplicate_of` to register another client anyway",
            ),
        }
    ),
    update=extend_schema(
        responses={
            200: ClientSerializer,
            400: OpenApiResponse(description="a field is missing or not valid (named)"),
            409: OpenApiResponse(
                DuplicateClientSerializer,
                description="the new email, or name and date of birth, match another "
                "client on file: see `duplicates`; send their ids in `confirm_duplicate_of` "
                "to save the change anyway",
            ),
        }
    ),
    partial_update=extend_schema(
        responses={
            200: ClientSerializer,
            400: OpenApiResponse(description="a field is not valid (named)"),
            409: OpenApiResponse(
                DuplicateClientSerializer,
                description="as for PUT: the change matches another client on file",
            ),
        }
    ),
)
class ClientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Clients: list (``?search=`` over name, email and phone), register, read, edit."""

    serializer_class = ClientSerializer
    filter_backends = [filters.DjangoFilterBackend]
    role_permissions = {
        "list": "clients.view",
        "retrieve": "clients.view",
        "create": "clients.edit",
        "update": "clients.edit",
        "partial_update": "clients.edit",
        "eligibility": "clients.view",
        # Reading a client's history is open to whoever may see the client.
        "screenings:get": "clients.view",
        "screenings:post": "screenings.record",
        "clearances:get": "clients.view",
        "clearances:post": "clearances.record",
    }

    def get_queryset(self):
        return selectors.client_search(query=self.request.query_params.get("search", ""))

    def perform_create(self, serializer):
        serializer.instance = services.client_create(
            by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.client_update(
            client=serializer.instance, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(responses=EligibilitySerializer)
    @action(detail=True, methods=["get"])
    def eligibility(self, request, pk=None):
        try:
            pk = int(pk)
        except ValueError:
            pk = None
        answer = None if pk is None else eligibility_answer(pk)
        if answer is None:
            raise Http404("No such client.")
        # Only the id is at hand (the answer may come from the cache, not the row).
        self.check_object_permissions(request, Client(pk=pk))
        audit.record_access(client=pk, what="eligibility", request=request)
        return Response(answer)

    @extend_schema(methods=["GET"], responses=ScreeningSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=ScreeningInputSerializer, responses={201: ScreeningSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def screenings(self, request, pk=None):
        client = self.get_object()
        if request.method == "GET":
            audit.record_access(client=client, what="screening", request=request)
            return Response(ScreeningSerializer(client.screenings.all(), many=True).data)
        serializer = ScreeningInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        screening = services.screening_record(
            client=client, answers=serializer.validated_data, by=request.user
        )
        return Response(ScreeningSerializer(screening).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=ClearanceSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=ClearanceInputSerializer, responses={201: ClearanceSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[JSONParser, MultiPartParser, FormParser],
    )
    def clearances(self, request, pk=None):
        client = self.get_object()
        context = {"request": request}
        if request.method == "GET":
            audit.record_access(client=client, what="clearance", request=request)
            data = ClearanceSerializer(client.clearances.all(), many=True, context=context).data
            return Response(data)
        serializer = ClearanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        clearance = services.clearance_record(
            client=client, by=request.user, **serializer.validated_data
        )
        return Response(
            ClearanceSerializer(clearance, context=context).data, status=status.HTTP_201_CREATED
        )


class ClearanceDocumentView(APIView):
    """The scanned clearance letter, for staff only (it is stored outside public media)."""

    role_permissions = {"get": "clearances.view_document"}

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk: int):
        return clearance_document_response(get_object_or_404(Clearance, pk=pk))


def clearance_document_response(clearance: Clearance) -> FileResponse:
    if not clearance.document:
        raise Http404("This clearance has no document.")
    try:
        document = clearance.document.open("rb")
    except FileNotFoundError as exc:
        # The row names a file the private storage no longer has: say so, not a 500.
        logger.error("Clearance %s: document %s is missing", clearance.pk, clearance.document.name)
        raise Http404("This clearance's document is missing from storage.") from exc
    # Served: a read of the letter, by whoever asks in the current request (page or API).
    audit.record_access(client=clearance.client_id, what="clearance_letter", obj=clearance)
    # A download, never shown inline: a letter is opened by the reader's own program, not
    # run as a page of this site (nosniff comes from SECURE_CONTENT_TYPE_NOSNIFF).
    return FileResponse(
        document,
        as_attachment=True,
        content_type=clearance.document_content_type,
        filename=f"clearance-{clearance.pk}.{clearance.document.name.rsplit('.', 1)[-1]}",
    )
