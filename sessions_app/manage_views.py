"""Managers' pages for the clinic's resources: rooms, devices, hours, closed days."""

from datetime import time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.views.generic import FormView, TemplateView

from clinic.clinic_time import localdate
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin
from clinic.selectors import active_estheticians
from sessions_app import resource_services, selectors
from sessions_app.manage_forms import ClosedDayForm, DeviceForm, RoomForm, WorkingHoursForm
from sessions_app.models import ClosedDay, Device, Room, Session, Weekday, WorkingHours


def _day(value) -> str:
    return formats.date_format(value, "l, F j, Y")


def _time(value) -> str:
    return formats.time_format(value, "g:i A")


def _future_sessions():
    return Session.objects.live().filter(start__gte=timezone.now())


class ManageMixin(RoleRequiredMixin):
    permission = "resources.manage"


class ResourcesHomeView(ManageMixin, TemplateView):
    template_name = "manage/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        estheticians = list(active_estheticians().order_by("first_name", "last_name", "username"))
        shifts = {
            (h.esthetician_id, h.weekday): h
            for h in WorkingHours.objects.filter(esthetician__in=estheticians)
        }
        context["weekdays"] = Weekday.choices
        context["hours_rows"] = [
            (person, [(day, label, shifts.get((person.pk, day))) for day, label in Weekday.choices])
            for person in estheticians
        ]
        context["rooms"] = Room.objects.all()
        context["devices"] = Device.objects.all()
        context["closed_days"] = ClosedDay.objects.filter(date__gte=localdate())
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
            saved = self.service(**{self.instance_kwarg: row}, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message(saved))
        self.warn_about_bookings(saved)
        return redirect("manage:home")

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


class WorkingHoursFormView(ResourceFormView):
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

    def success_message(self, saved) -> str:
        hours = f"{_time(saved.starts_at)}–{_time(saved.ends_at)}"
        return f"Saved {saved.esthetician}'s {saved.get_weekday_display()} shift, {hours}."


class WorkingHoursDeleteView(ManageMixin, TemplateView):
    template_name = "manage/working_hours_confirm_delete.html"

    @cached_property
    def object(self) -> WorkingHours:
        queryset = WorkingHours.objects.select_related("esthetician")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.object}

    def post(self, request, *args, **kwargs):
        shift = self.object
        label = f"{shift.esthetician}'s {shift.get_weekday_display()} shift"
        resource_services.working_hours_remove(working_hours=shift)
        messages.success(request, f"Removed {label}. They are now off on that day.")
        return redirect("manage:home")


class ClosedDayCreateView(ManageMixin, FormView):
    template_name = "manage/closed_day_form.html"
    form_class = ClosedDayForm

    def form_valid(self, form):
        try:
            closed = resource_services.closed_day_add(**form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"The clinic is closed on {_day(closed.date)}.")
        count = selectors.sessions_on(closed.date).live().count()
        if count:
            schedule = f"{reverse('sessions:schedule')}?date={closed.date:%Y-%m-%d}"
            messages.warning(
                self.request,
                format_html(
                    "{} already booked that day; they stay booked until someone moves or "
                    'cancels them. <a href="{}">See that day\'s schedule</a>.',
                    f"{count} session{'s are' if count != 1 else ' is'}",
                    schedule,
                ),
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
