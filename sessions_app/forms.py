from datetime import time, timedelta

from django import forms
from django.utils import timezone

from clinic.models import User
from clinic.roles import Role
from protocols.models import Modality
from sessions_app.models import (
    INTENSITY_MAX_MICROAMPS,
    INTENSITY_MIN_MICROAMPS,
    AddOn,
    Area,
    Device,
    Room,
    Weekday,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class EstheticianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


def esthetician_field(**kwargs) -> EstheticianChoiceField:
    return EstheticianChoiceField(
        queryset=User.objects.filter(role=Role.ESTHETICIAN, is_active=True).order_by(
            "first_name", "last_name"
        ),
        **kwargs,
    )


def _default_resources(form: forms.Form, user) -> None:
    """Start a booking form with the esthetician who opens it and the first room and
    device in use."""
    if user is not None and user.role == Role.ESTHETICIAN:
        form.initial.setdefault("esthetician", user.pk)
    for name in ("room", "device"):
        first = form.fields[name].queryset.first()
        if first is not None:
            form.initial.setdefault(name, first.pk)


class SeriesForm(forms.Form):
    """Book a client's whole initial series: where, with whom, which weekdays, what time."""

    start_date = forms.DateField(label="First day of the series", widget=DateInput())
    esthetician = esthetician_field(label="Esthetician")
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True), label="Room")
    device = forms.ModelChoiceField(
        queryset=Device.objects.filter(in_service=True),
        label="Device",
        help_text="Only devices in service are listed.",
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="On these weekdays",
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    time = forms.TimeField(label="At (clinic time)", widget=TimeInput(attrs={"step": 900}))
    sessions = forms.IntegerField(label="Sessions", min_value=1)
    weeks = forms.IntegerField(label="Over how many weeks", min_value=1)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("start_date", timezone.localdate() + timedelta(days=1))
            self.initial.setdefault("time", time(10, 0))
            self.initial.setdefault("weekdays", [Weekday.MONDAY, Weekday.THURSDAY])
            _default_resources(self, user)


class CheckInForm(forms.Form):
    nothing_changed = forms.BooleanField(
        label="The client confirms nothing has changed since their screening "
        "(not pregnant, no pacemaker, no new surgery, treatment or diagnosis).",
        required=False,
    )


class CompleteForm(forms.Form):
    modality = forms.ChoiceField(choices=Modality.choices, widget=forms.RadioSelect)
    intensity_microamps = forms.IntegerField(
        label=f"Intensity (µA, {INTENSITY_MIN_MICROAMPS}–{INTENSITY_MAX_MICROAMPS})",
        help_text="Microamps. Values outside the range are refused.",
    )
    frequency_hz = forms.DecimalField(label="Frequency (Hz)", max_digits=6, decimal_places=2)
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=1, max_value=180)
    areas = forms.MultipleChoiceField(
        label="Areas treated",
        choices=Area.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    add_ons = forms.MultipleChoiceField(
        label="Add-on services",
        choices=AddOn.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 3}), required=False)


class RescheduleForm(forms.Form):
    date = forms.DateField(label="New date", widget=DateInput())
    time = forms.TimeField(label="New time (clinic time)", widget=TimeInput(attrs={"step": 900}))


class SessionBookForm(forms.Form):
    """Book one session: a single treatment or a maintenance boost."""

    kind = forms.ChoiceField(
        label="Kind",
        choices=[("single", "Single session"), ("maintenance", "Maintenance boost")],
        widget=forms.RadioSelect,
        initial="single",
    )
    date = forms.DateField(label="Date", widget=DateInput())
    time = forms.TimeField(label="Time (clinic time)", widget=TimeInput(attrs={"step": 900}))
    minutes = forms.IntegerField(label="Length (minutes)", min_value=15, max_value=180, initial=45)
    esthetician = esthetician_field(label="Esthetician")
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True), label="Room")
    device = forms.ModelChoiceField(
        queryset=Device.objects.filter(in_service=True),
        label="Device",
        help_text="Only devices in service are listed.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate() + timedelta(days=1))
            self.initial.setdefault("time", time(10, 0))
            _default_resources(self, user)
