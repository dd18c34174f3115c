"""Managers' pages for the clinic's resources: rooms, devices, hours, closed days and
estheticians' days off.

A change of hours (a shift saved or removed, a day closed, a day off) first lists the
booked sessions it would leave outside the hours (``sessions_app.hours``), each with a
link to move it, and saves only on "Save anyway" (issue 13). It does not refuse: the
clinic closes on a holiday whatever is booked, and the manager then moves those sessions
with the client; refusing would make them move every session before they may say so.
"""

from datetime import time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.views.generic import FormView, TemplateView

from clinic.clinic_time import local, localdate
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin
from clinic.selectors import active_estheticians
from sessions_app import hours, resource_services
from sessions_app.manage_forms import (
    ClosedDayForm,
    DayOffForm,
    DeviceForm,
    RoomForm,
    WorkingHoursForm,
)
from sessions_app.models import ClosedDay, DayOff, Device, Room, Session, Weekday, WorkingHours


def _day(value) -> str:
    return formats.date_format(value, "l, F j, Y")


def _time(value) -> str:
    return formats.time_format(value, "g:i A")


def _future_sessions():
    return Session.objects.live().filter(start__gte=timezone.now())


class ManageMixin(RoleRequiredMixin):
    permission = "resources.manage"


def _session_label(session: Session) -> str:
    start = local(session.start)
    return f"{session.client.full_name}, {_day(start)} at {_time(start)}"


class OutsideHoursMixin:
    """The confirm step of a change of hours: the sessions it would leave outside, then
    "Save anyway". The button carries the ids of the sessions listed, so a change that
    would leave out a session the manager was not shown asks again."""

    def needs_confirmation(self, outside: list[hours.Outside]) -> bool:
        confirmed = set(self.request.POST.get("confirmed", "").split(","))
        return any(str(o.session.pk) not in confirmed for o in outside)

    def ask_first(self, outside: list[hours.Outside], **context):
        ids = ",".join(str(o.session.pk) for o in outside)
        context = self.get_context_data(outside=outside, confirm_ids=ids, **context)
        return self.render_to_response(context)

    def warn_outside(self, outside: list[hours.Outside]) -> None:
        """After "Save anyway": the sessions left outside, each linked to its page."""
        if not outside:
            return
        links = format_html_join(
            ", ",
            '<a href="{}#change-heading">{}</a>',
            (
                (reverse("sessions:detail", args=[o.session.pk]), _session_label(o.session))
                for o in outside
            ),
        )
        count = len(outside)
        messages.warning(
            self.request,
            format_html(
                "{} now outside the hours and stay{} booked until someone moves {}: {}.",
                f"{count} booked session{'s are' if count != 1 else ' is'}",
                "" if count != 1 else "s",
                "them" if count != 1 else "it",
                links,
            ),
        )


class ResourcesHomeView(ManageMixin, TemplateView):
    template_name = "manage/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        estheticians = list(active_estheticians().order_by("first_name", "last_name", "username"))
        shifts: dict[tuple[int, int], list[WorkingHours]] = {}
        for h in WorkingHours.objects.filter(esthetician__in=estheticians).order_by(
            "weekday", "starts_at"
        ):
            shifts.setdefault((h.esthetician_id, h.weekday), []).append(h)
        context["weekdays"] = Weekday.choices
        context["hours_rows"] = [
            (
                person,
                [(day, label, shifts.get((person.pk, day), [])) for day, label in Weekday.choices],
            )
            for person in estheticians
        ]
        context["rooms"] = Room.objects.all()
        context["devices"] = Device.objects.all()
        context["closed_days"] = ClosedDay.objects.filter(date__gte=localdate())
        context["days_off"] = DayOff.objects.filter(date__gte=localdate()).select_related(
            "esthetician"
        )
        return context


class ResourceFormView(ManageMixin, FormView):
    """Add or edit one resource through its service, then back to the set-up page."""

    model = None
    service = None
    instance_kwarg = ""  # the service's keyword for the row being edited
    noun = ""

    @cached_property
    def object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(self.model, pk=self.kwargs["pk"])

    def get_initial(self):
        if self.object is None:
            return super().get_initial()
        return {name: getattr(self.object, name) for name in self.form_class.base_fields}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["noun"] = self.noun
        return context

    def form_valid(self, form):
        # A fresh copy: a refused save must not change the row the page is about.
        row = self.model.objects.get(pk=self.object.pk) if self.object else None
        try:
            asked = self.before_save(form, row)
            if asked is not None:
                return asked
            saved = self.service(**{self.instance_kwarg: row}, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message(saved))
        self.warn_about_bookings(saved)
        return redirect("manage:home")

    def before_save(self, form, row):
        """A page to show instead of saving (a confirm step), or None to save."""
        return None

    def success_message(self, saved) -> str:
        return f"{'Saved' if self.object else 'Added'} {self.noun} {saved}."

    def warn_about_bookings(self, saved) -> None:
        """Say so when sessions already booked now use something that cannot be booked."""


class RoomFormView(ResourceFormView):
    template_name = "manage/room_form.html"
    form_class = RoomForm
    model = Room
    service = staticmethod(resource_services.room_save)
    instance_kwarg = "room"
    noun = "room"

    def warn_about_bookings(self, saved) -> None:
        count = _future_sessions().filter(room=saved).count() if not saved.is_active else 0
        if count:
            messages.warning(
                self.request,
                f"{saved} is inactive but still has {count} upcoming session"
                f"{'s' if count != 1 else ''}; move them to another room.",
            )


class DeviceFormView(ResourceFormView):
    template_name = "manage/device_form.html"
    form_class = DeviceForm
    model = Device
    service = staticmethod(resource_services.device_save)
    instance_kwarg = "device"
    noun = "device"

    def warn_about_bookings(self, saved) -> None:
        count = _future_sessions().filter(device=saved).count() if not saved.in_service else 0
        if count:
            messages.warning(
                self.request,
                f"{saved} is out of service but still has {count} upcoming session"
                f"{'s' if count != 1 else ''}; move them to another device.",
            )


class WorkingHoursFormView(OutsideHoursMixin, ResourceFormView):
    template_name = "manage/working_hours_form.html"
    form_class = WorkingHoursForm
    model = WorkingHours
    service = staticmethod(resource_services.working_hours_save)
    instance_kwarg = "working_hours"
    noun = "shift"

    def get_initial(self):
        initial = super().get_initial()
        if self.object is None:
            # "Add" links on the weekly grid name the esthetician and the weekday.
            for name in ("esthetician", "weekday"):
                if self.request.GET.get(name, "").isdigit():
                    initial[name] = int(self.request.GET[name])
            initial |= {"starts_at": time(9, 0), "ends_at": time(17, 0)}
        return initial

    def before_save(self, form, row):
        data = form.cleaned_data
        errors = resource_services.working_hours_problems(working_hours=row, **data)
        if errors:
            raise ValidationError(errors)
        self.outside = hours.sessions_outside(hours.shift_saved(working_hours=row, **data))
        if self.needs_confirmation(self.outside):
            return self.ask_first(self.outside, form=form)
        return None

    def warn_about_bookings(self, saved) -> None:
        self.warn_outside(self.outside)

    def success_message(self, saved) -> str:
        shift = f"{_time(saved.starts_at)}–{_time(saved.ends_at)}"
        return f"Saved {saved.esthetician}'s {saved.get_weekday_display()} shift, {shift}."


class WorkingHoursDeleteView(ManageMixin, OutsideHoursMixin, TemplateView):
    """The confirm page lists the booked sessions the removal would leave outside."""

    template_name = "manage/working_hours_confirm_delete.html"

    @cached_property
    def object(self) -> WorkingHours:
        queryset = WorkingHours.objects.select_related("esthetician")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    @cached_property
    def outside(self) -> list[hours.Outside]:
        return hours.sessions_outside(hours.shift_removed(working_hours=self.object))

    def get_context_data(self, **kwargs):
        context = {"object": self.object, "outside": self.outside, **kwargs}
        context.setdefault("confirm_ids", ",".join(str(o.session.pk) for o in self.outside))
        return super().get_context_data(**context)

    def post(self, request, *args, **kwargs):
        shift = self.object
        if self.needs_confirmation(self.outside):  # more were booked since the page opened
            return self.ask_first(self.outside)
        label = f"{shift.esthetician}'s {shift.get_weekday_display()} shift"
        others = WorkingHours.objects.filter(
            esthetician_id=shift.esthetician_id, weekday=shift.weekday
        ).exclude(pk=shift.pk)
        resource_services.working_hours_remove(working_hours=shift)
        rest = (
            "Their other shifts that day stay."
            if others.exists()
            else ("They are now off on that day.")
        )
        messages.success(request, f"Removed {label}. {rest}")
        self.warn_outside(self.outside)
        return redirect("manage:home")


class ClosedDayCreateView(ManageMixin, OutsideHoursMixin, FormView):
    template_name = "manage/closed_day_form.html"
    form_class = ClosedDayForm

    def form_valid(self, form):
        data = form.cleaned_data
        outside = hours.sessions_outside(hours.day_closed(**data))
        try:
            if self.needs_confirmation(outside):
                # The service's own refusals (a past day, closed already) come first.
                resource_services.closed_day_check(date=data["date"])
                return self.ask_first(outside, form=form)
            closed = resource_services.closed_day_add(**data)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"The clinic is closed on {_day(closed.date)}.")
        self.warn_outside(outside)
        return redirect("manage:home")


class DayOffCreateView(ManageMixin, OutsideHoursMixin, FormView):
    """One esthetician's day off (issue 13)."""

    template_name = "manage/day_off_form.html"
    form_class = DayOffForm

    def get_initial(self):
        initial = super().get_initial()
        if self.request.GET.get("esthetician", "").isdigit():
            initial["esthetician"] = int(self.request.GET["esthetician"])
        return initial

    def form_valid(self, form):
        data = form.cleaned_data
        outside = hours.sessions_outside(hours.day_off_added(**data))
        try:
            if self.needs_confirmation(outside):
                resource_services.day_off_check(esthetician=data["esthetician"], date=data["date"])
                return self.ask_first(outside, form=form)
            day_off = resource_services.day_off_add(**data)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{day_off.esthetician} is off on {_day(day_off.date)}.")
        self.warn_outside(outside)
        return redirect("manage:home")


class DayOffDeleteView(ManageMixin, TemplateView):
    template_name = "manage/day_off_confirm_delete.html"

    @cached_property
    def object(self) -> DayOff:
        return get_object_or_404(DayOff.objects.select_related("esthetician"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.object}

    def post(self, request, *args, **kwargs):
        day_off = self.object
        resource_services.day_off_remove(day_off=day_off)
        messages.success(
            request,
            f"{day_off.esthetician} works on {_day(day_off.date)} after all: their weekly "
            "hours apply again.",
        )
        return redirect("manage:home")


class ClosedDayDeleteView(ManageMixin, TemplateView):
    template_name = "manage/closed_day_confirm_delete.html"

    @cached_property
    def object(self) -> ClosedDay:
        return get_object_or_404(ClosedDay, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.object}

    def post(self, request, *args, **kwargs):
        day = self.object.date
        resource_services.closed_day_remove(closed_day=self.object)
        messages.success(request, f"The clinic is open again on {_day(day)}.")
        return redirect("manage:home")
