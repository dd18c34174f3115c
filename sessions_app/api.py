from datetime import timedelta

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import dataversion
from clinic.clinic_time import local_datetime, localdate
from clinic.dates import OUT_OF_RANGE, within_calendar
from protocols.api import PlanSerializer
from protocols.models import Plan
from sessions_app import hours, plans, resource_services, selectors, services
from sessions_app.free_times import free_times, free_times_hold_until
from sessions_app.models import ClosedDay, DayOff, Device, Reminder, Room, Session, WorkingHours
from sessions_app.serializers import (
    AvailabilityQuerySerializer,
    CancelSerializer,
    CheckInSerializer,
    ClosedDayQuerySerializer,
    ClosedDaySerializer,
    CompleteSerializer,
    DayOffQuerySerializer,
    DayOffSerializer,
    DeviceSerializer,
    FreeTimeSerializer,
    OutsideSerializer,
    PlanCreateSerializer,
    ReminderSerializer,
    RescheduleSerializer,
    RoomSerializer,
    SeriesBookSerializer,
    SessionBookSerializer,
    SessionSerializer,
    ShiftChangeQuerySerializer,
    TreatmentCorrectSerializer,
    WorkingHoursSerializer,
)
from sessions_app.treatment import treatment_correct

RESOURCE_PERMISSIONS = {
    "list": "resources.view",
    "retrieve": "resources.view",
    "create": "resources.manage",
    "update": "resources.manage",
    "partial_update": "resources.manage",
    "destroy": "resources.manage",
    # What a change of hours would leave outside them (issue 13): asked before making it.
    "sessions_outside": "resources.manage",
    "sessions_outside_if_removed": "resources.manage",
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


def _outside_answer(query_serializer, request, change) -> Response:
    """The booked sessions ``change(**validated query)`` would leave outside the hours."""
    query = query_serializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    outside = hours.sessions_outside(change(**query.validated_data))
    return Response(OutsideSerializer(outside, many=True).data)


OUTSIDE_DOC = (
    "Booked sessions from now on that this change would leave outside the hours (inside "
    "them today), soonest first, each with the reason. Nothing is saved: ask first, then "
    "move the sessions or make the change anyway."
)


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
    """Each esthetician's shifts per weekday (Monday = 0), in clinic time. A weekday may
    have several shifts (a lunch break between two); shifts of one esthetician on one
    weekday never overlap (400 naming ``starts_at``)."""

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

    @extend_schema(
        parameters=[ShiftChangeQuerySerializer],
        responses={200: OutsideSerializer(many=True)},
        description=f"If this shift were saved (``shift``: the one it changes). {OUTSIDE_DOC}",
    )
    @action(detail=False, methods=["get"], url_path="sessions-outside")
    def sessions_outside(self, request):
        def change(shift=None, **shift_fields):
            return hours.shift_saved(working_hours=shift, **shift_fields)

        return _outside_answer(ShiftChangeQuerySerializer, request, change)

    @extend_schema(
        responses={200: OutsideSerializer(many=True)},
        description=f"If this shift were removed. {OUTSIDE_DOC}",
    )
    @action(detail=True, methods=["get"], url_path="sessions-outside-if-removed")
    def sessions_outside_if_removed(self, request, pk=None):
        outside = hours.sessions_outside(hours.shift_removed(working_hours=self.get_object()))
        return Response(OutsideSerializer(outside, many=True).data)


class ClosedDayViewSet(ResourceViewSet):
    """Days the clinic is closed; nothing can be booked on them. Add or remove a day."""

    queryset = ClosedDay.objects.all()
    serializer_class = ClosedDaySerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def save(self, instance, data):
        return resource_services.closed_day_add(**data)

    def perform_destroy(self, instance):
        resource_services.closed_day_remove(closed_day=instance)

    @extend_schema(
        parameters=[ClosedDayQuerySerializer],
        responses={200: OutsideSerializer(many=True)},
        description=f"If the clinic closed on ``date``. {OUTSIDE_DOC}",
    )
    @action(detail=False, methods=["get"], url_path="sessions-outside")
    def sessions_outside(self, request):
        return _outside_answer(ClosedDayQuerySerializer, request, hours.day_closed)


class DayOffViewSet(ResourceViewSet):
    """One esthetician's days off (issue 13): nothing can be booked with them that day,
    whatever their weekly hours. Add or remove a day; ``?esthetician=``."""

    queryset = DayOff.objects.all()
    serializer_class = DayOffSerializer
    filterset_fields = ["esthetician", "date"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def save(self, instance, data):
        return resource_services.day_off_add(**data)

    def perform_destroy(self, instance):
        resource_services.day_off_remove(day_off=instance)

    @extend_schema(
        parameters=[DayOffQuerySerializer],
        responses={200: OutsideSerializer(many=True)},
        description=f"If ``esthetician`` took ``date`` off. {OUTSIDE_DOC}",
    )
    @action(detail=False, methods=["get"], url_path="sessions-outside")
    def sessions_outside(self, request):
        return _outside_answer(DayOffQuerySerializer, request, hours.day_off_added)


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
        # The author of the record or a manager (sessions_app.treatment): others get 403.
        "correct_treatment": "sessions.treat",
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

    @extend_schema(
        request=TreatmentCorrectSerializer,
        responses={
            200: SessionSerializer,
            400: OpenApiResponse(
                description="no reason, a value out of range, or the correction changes nothing"
            ),
            403: OpenApiResponse(
                description="only the esthetician who recorded the treatment, or a manager, "
                "may correct it"
            ),
            404: OpenApiResponse(description="no such session"),
            409: OpenApiResponse(description="no treatment recorded yet, or the client erased"),
        },
    )
    @action(detail=True, methods=["post"], url_path="correct-treatment")
    def correct_treatment(self, request, pk=None):
        """Correct the session's treatment record: send the fields that change and a
        ``reason``. The version before is kept in the record's history (who, when, why)."""

        def correct(*, session, by, **data):
            return treatment_correct(session=session, by=by, **data).session

        return self._act(correct, TreatmentCorrectSerializer)


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
        "rebook": "sessions.book",
        "cancel": "plans.cancel",
    }

    def get_queryset(self):
        if self.action in ("book", "rebook", "cancel"):
            # The plan acted on: its service reads it again, its row locked, and counts
            # what it needs itself. Its progress (a grouped query of ~2.5 ms just to plan,
            # on each series booking; issue 14) is for the answer, read after.
            return Plan.objects.select_related("client", "protocol")
        # Counting sessions groups the rows, and Django drops Meta.ordering from a
        # grouped query: order explicitly, or pages could repeat or skip plans.
        return self.progress_queryset()

    @staticmethod
    def progress_queryset():
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
            PlanSerializer(self.progress_queryset().get(pk=plan.pk)).data,
            status=status.HTTP_201_CREATED,
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
        return Response(PlanSerializer(self.progress_queryset().get(pk=plan.pk)).data)

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
        return self._book(request)

    @extend_schema(
        request=SeriesBookSerializer,
        responses={
            200: OpenApiResponse(description="preview: the proposed sessions, nothing booked"),
            201: SessionSerializer(many=True),
            409: OpenApiResponse(
                description="every clash, with the nearest free alternative; or nothing "
                "remains to rebook"
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def rebook(self, request, pk=None):
        """Book the sessions that remain after cancellations (the plan's
        ``sessions_to_rebook``), from today to the end of the plan's window, on the
        weekdays at the time given; all or nothing, as ``book``. ``weeks`` is ignored."""
        return self._book(request, rebook=True)

    def _book(self, request, *, rebook: bool = False):
        plan = self.get_object()
        serializer = SeriesBookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        preview = data.pop("preview")
        data["at"] = data.pop("time")
        data["moves"] = {move["day"]: move["start"] for move in data.pop("moves", [])}
        if rebook:
            data.pop("weeks", None)
        if preview:
            proposal = services.series_propose(plan=plan, rebook=rebook, **data)
            return Response(
                {
                    "preview": True,
                    "sessions": [s.as_dict() for s in proposal.sessions],
                    "clashing": len(proposal.clashing),
                    "with_problems": len(proposal.with_problems),
                }
            )
        # The booked sessions as they were written (soonest first, client, staff, room,
        # device and plan on them, no treatment record yet): no query to read them back.
        sessions = services.series_book(plan=plan, by=request.user, rebook=rebook, **data)
        return Response(
            {"sessions": SessionSerializer(sessions, many=True).data},
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
        def compute():
            # Checked here, so a question asked again is answered from the cache without
            # reading the esthetician, room or device it names; a bad one is a 400 (an
            # exception: nothing is stored).
            query = AvailabilityQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            found = free_times(**query.validated_data)
            return list(FreeTimeSerializer(found, many=True).data), free_times_hold_until(found)

        # Kept on the data version (issue 14, P6): the same question asked again before
        # any write is answered from the cache, and never after a start it offers has
        # passed. The answer is the same for every member of staff who may ask. The key
        # is the question as asked (every parameter, every value) and the clinic day
        # (what the question's check allows may depend on it).
        parts = (localdate(), tuple(sorted(request.query_params.lists())))
        return Response(dataversion.cached("availability", parts, compute))
