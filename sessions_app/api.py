from datetime import timedelta

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.clinic_time import local_datetime
from clinic.dates import OUT_OF_RANGE, within_calendar
from protocols.api import PlanSerializer
from sessions_app import plans, resource_services, selectors, services
from sessions_app.free_times import free_times
from sessions_app.models import ClosedDay, Device, Reminder, Room, Session, WorkingHours
from sessions_app.serializers import (
    AvailabilityQuerySerializer,
    CancelSerializer,
    CheckInSerializer,
    ClosedDaySerializer,
    CompleteSerializer,
    DeviceSerializer,
    FreeTimeSerializer,
    PlanCreateSerializer,
    ReminderSerializer,
    RescheduleSerializer,
    RoomSerializer,
    SeriesBookSerializer,
    SessionBookSerializer,
    SessionSerializer,
    WorkingHoursSerializer,
)

RESOURCE_PERMISSIONS = {
    "list": "resources.view",
    "retrieve": "resources.view",
    "create": "resources.manage",
    "update": "resources.manage",
    "partial_update": "resources.manage",
    "destroy": "resources.manage",
}
NO_DELETE = ["get", "post", "put", "patch", "head", "options"]


class ResourceViewSet(viewsets.ModelViewSet):
    """Writes go through ``resource_services``, the same rules and messages as the
    clinic set-up pages; the serializer only checks the shape of the input."""

    role_permissions = RESOURCE_PERMISSIONS

    def save(self, instance, data: dict):
        raise NotImplementedError

    def perform_create(self, serializer):
        serializer.instance = self.save(None, serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self.save(serializer.instance, serializer.validated_data)


class RoomViewSet(ResourceViewSet):
    """Treatment rooms; managers create and edit them."""

    queryset = Room.objects.all()
    serializer_class = RoomSerializer
    http_method_names = NO_DELETE

    def save(self, instance, data):
        return resource_services.room_save(room=instance, **data)


class DeviceViewSet(ResourceViewSet):
    """Microcurrent devices; managers create them and take them out of service."""

    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    http_method_names = NO_DELETE

    def save(self, instance, data):
        return resource_services.device_save(device=instance, **data)


class WorkingHoursViewSet(ResourceViewSet):
    """Each esthetician's hours per weekday (Monday = 0), in clinic time."""

    queryset = WorkingHours.objects.select_related("esthetician")
    serializer_class = WorkingHoursSerializer
    filterset_fields = ["esthetician", "weekday"]

    def save(self, instance, data):
        # A PATCH names only what changes; the service checks the whole shift.
        fields = resource_services.WORKING_HOURS_FIELDS
        current = {} if instance is None else {name: getattr(instance, name) for name in fields}
        return resource_services.working_hours_save(working_hours=instance, **{**current, **data})

    def perform_destroy(self, instance):
        resource_services.working_hours_remove(working_hours=instance)


class ClosedDayViewSet(ResourceViewSet):
    """Days the clinic is closed; nothing can be booked on them. Add or remove a day."""

    queryset = ClosedDay.objects.all()
    serializer_class = ClosedDaySerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def save(self, instance, data):
        return resource_services.closed_day_add(**data)

    def perform_destroy(self, instance):
        resource_services.closed_day_remove(closed_day=instance)


class SessionFilter(filters.FilterSet):
    date = filters.DateFilter(method="on_date", label="Clinic-local day (YYYY-MM-DD)")

    class Meta:
        model = Session
        fields = ["client", "esthetician", "plan", "status", "kind", "date"]

    def on_date(self, queryset, name, value):
        if not within_calendar(value):
            raise ValidationError({"date": [OUT_OF_RANGE]})
        start = local_datetime(value, timezone.datetime.min.time())
        return queryset.filter(start__gte=start, start__lt=start + timedelta(days=1))


class SessionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Sessions, stored in UTC. ``?client=``, ``?esthetician=``, ``?date=`` (clinic day)."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    role_permissions = {
        "list": "sessions.view",
        "retrieve": "sessions.view",
        "create": "sessions.book",
        "reschedule": "sessions.book",
        "cancel": "sessions.cancel",
        "no_show": "sessions.no_show",
        "check_in": "sessions.treat",
        "complete": "sessions.treat",
    }

    def get_queryset(self):
        return selectors.sessions_for_list().select_related("treatment")

    @extend_schema(request=SessionBookSerializer, responses={201: SessionSerializer})
    def create(self, request):
        serializer = SessionBookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_book(by=request.user, **serializer.validated_data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)

    def _act(self, service, input_serializer=None, **extra):
        session = self.get_object()
        data = {}
        if input_serializer is not None:
            serializer = input_serializer(data=self.request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        session = service(session=session, by=self.request.user, **data, **extra)
        return Response(SessionSerializer(self.get_queryset().get(pk=session.pk)).data)

    @extend_schema(
        request=CancelSerializer,
        responses={
            200: SessionSerializer,
            400: OpenApiResponse(
                description="the reason is too long, or the body is not an object"
            ),
            403: OpenApiResponse(description="your role may not cancel sessions"),
            404: OpenApiResponse(description="no such session"),
            409: OpenApiResponse(
                description="the session is already completed, cancelled or a no-show"
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel; records who cancelled, when, and the optional ``reason``."""
        return self._act(services.session_cancel, CancelSerializer)

    @extend_schema(request=None, responses=SessionSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._act(services.session_no_show)

    @extend_schema(request=RescheduleSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        return self._act(services.session_reschedule, RescheduleSerializer)

    @extend_schema(
        request=CheckInSerializer,
        responses={
            200: SessionSerializer,
            400: OpenApiResponse(
                description="nothing_changed missing or not a boolean, a body that is not an "
                "object, not the session's day, or the client may not be treated now "
                "(``eligibility`` and ``reasons``; ``screening_required`` after a reported "
                "change until a new screening)"
            ),
            403: OpenApiResponse(description="your role may not check clients in"),
            404: OpenApiResponse(description="no such session"),
            409: OpenApiResponse(
                description="nothing_changed false: the change in health is recorded "
                "(``health_change`` id, ``eligibility``: ``screening_required``) and the "
                "session stays booked until a new screening; or the session is not booked"
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        """Check the client in once they confirm nothing has changed since their
        screening. ``nothing_changed: false`` records the change and answers 409."""
        return self._act(services.session_check_in, CheckInSerializer)

    @extend_schema(request=CompleteSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(services.session_complete, CompleteSerializer)


class PlanViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Treatment plans: ``POST`` a client and start date; the protocol follows the
    client's age on that date. ``POST /book/`` books the whole series, all or nothing."""

    serializer_class = PlanSerializer
    filterset_fields = ["client"]
    role_permissions = {
        "list": "sessions.view",
        "retrieve": "sessions.view",
        "create": "sessions.book",
        "book": "sessions.book",
        "cancel": "plans.cancel",
    }

    def get_queryset(self):
        # Counting sessions groups the rows, and Django drops Meta.ordering from a
        # grouped query: order explicitly, or pages could repeat or skip plans.
        return selectors.plans_with_progress().order_by("-start_date", "-id")

    @extend_schema(
        request=PlanCreateSerializer,
        responses={
            201: PlanSerializer,
            409: OpenApiResponse(
                description="the client has an active plan whose dates overlap (named in "
                "start_date, its id in active_plan): finish or cancel it first"
            ),
        },
    )
    def create(self, request):
        serializer = PlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = plans.plan_create(by=request.user, **serializer.validated_data)
        return Response(
            PlanSerializer(self.get_queryset().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None,
        responses={
            200: PlanSerializer,
            409: OpenApiResponse(
                description="already cancelled, finished, or a session is checked in"
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the plan and its booked sessions (the client hears of each)."""
        plan = plans.plan_cancel(plan=self.get_object(), by=request.user)
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(
        request=SeriesBookSerializer,
        responses={
            200: OpenApiResponse(description="preview: the proposed sessions, nothing booked"),
            201: SessionSerializer(many=True),
            409: OpenApiResponse(description="every clash, with the nearest free alternative"),
        },
    )
    @action(detail=True, methods=["post"])
    def book(self, request, pk=None):
        plan = self.get_object()
        serializer = SeriesBookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        preview = data.pop("preview")
        data["at"] = data.pop("time")
        if preview:
            proposal = services.series_propose(plan=plan, **data)
            return Response(
                {
                    "preview": True,
                    "sessions": [s.as_dict() for s in proposal.sessions],
                    "clashing": len(proposal.clashing),
                }
            )
        sessions = services.series_book(plan=plan, by=request.user, **data)
        booked = (
            selectors.sessions_for_list()
            .select_related("treatment")
            .filter(pk__in=[s.pk for s in sessions])
        )
        return Response(
            {"sessions": SessionSerializer(booked, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class ReminderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The reminder outbox, newest due first (managers). ``?client=``, ``?kind=``,
    ``?status=``. Rows are written by booking and sent by the dispatcher; read-only here."""

    queryset = Reminder.objects.order_by("-due_at", "-id")
    serializer_class = ReminderSerializer
    filterset_fields = ["client", "kind", "status"]
    role_permissions = {"list": "reminders.view", "retrieve": "reminders.view"}


class AvailabilityView(APIView):
    """Free times for a session of ``minutes`` between two clinic days, soonest first,
    by the same rules as booking (SPEC, REST API, "availability"): working hours,
    closed days, nothing in the past, no clash for the esthetician, room, device or
    client, one session a day for the client. One free time per start and esthetician,
    with the first free room and device. At most 31 days at a time."""

    role_permissions = {"get": "sessions.view"}

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={200: FreeTimeSerializer(many=True)},
    )
    def get(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = free_times(**query.validated_data)
        return Response(FreeTimeSerializer(found, many=True).data)
