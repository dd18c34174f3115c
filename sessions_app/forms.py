from datetime import time, timedelta

from django import forms

from clients.models import HEALTH_CHANGE_NOTE_MAX_LENGTH
from clinic.clinic_time import localdate
from clinic.dates import validate_calendar_date
from clinic.selectors import active_estheticians, is_active_esthetician
from protocols.models import Modality
from sessions_app.models import (
    CANCEL_REASON_MAX_LENGTH,
    AddOn,
    Area,
    Device,
    Room,
    Weekday,
)
from sessions_app.rules import (
    DURATION_MINUTES,
    FREQUENCY_HZ,
    INTENSITY_MICROAMPS,
    SESSION_MINUTES,
)
from sessions_app.treatment import CORRECTION_REASON_MAX_LENGTH


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
        queryset=active_estheticians().order_by("first_name", "last_name"),
        **kwargs,
    )


def _default_resources(form: forms.Form, user) -> None:
    """Start a booking form with the esthetician who opens it and the first room and
    device in use."""
    if user is not None and is_active_esthetician(user):
        form.initial.setdefault("esthetician", user.pk)
    for name in ("room", "device"):
        first = form.fields[name].queryset.first()
        if first is not None:
            form.initial.setdefault(name, first.pk)


class SeriesForm(forms.Form):
    """Book a client's whole initial series: where, with whom, which weekdays, what time."""

    start_date = forms.DateField(
        label="First day of the series", widget=DateInput(), validators=[validate_calendar_date]
    )
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
    # The age band (protocol) the sessions and weeks were chosen for: when a new start
    # date puts the client in another band, they follow it (issue 13).
    band = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("start_date", localdate() + timedelta(days=1))
            self.initial.setdefault("time", time(10, 0))
            self.initial.setdefault("weekdays", [Weekday.MONDAY, Weekday.THURSDAY])
            _default_resources(self, user)


ASK_WHAT_CHANGED = "Ask the client whether anything has changed, then press one of the two buttons."


class CheckInForm(forms.Form):
    """The check-in question. The answer is the button pressed: there is no tick box to
    forget, so a missing answer is never read as a change in health, nor as "nothing
    has changed" (issue 9, "A reported change holds")."""

    NOTHING_CHANGED, SOMETHING_CHANGED = "true", "false"

    nothing_changed = forms.TypedChoiceField(
        label="Has anything changed since the client's screening? Pregnancy, a pacemaker, "
        "new surgery, cancer treatment or a new diagnosis.",
        choices=[
            (NOTHING_CHANGED, "Nothing has changed — check in"),
            (SOMETHING_CHANGED, "Something has changed — record a new screening"),
        ],
        coerce=lambda value: value == CheckInForm.NOTHING_CHANGED,
        error_messages={"required": ASK_WHAT_CHANGED, "invalid_choice": ASK_WHAT_CHANGED},
    )
    note = forms.CharField(
        label="If something has changed: what? (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=HEALTH_CHANGE_NOTE_MAX_LENGTH,
        required=False,
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=CANCEL_REASON_MAX_LENGTH,
        required=False,
    )


class CompleteForm(forms.Form):
    """The treatment record: ranges and messages from ``sessions_app.rules``, the same
    that ``session_complete`` checks and the API answers."""

    modality = forms.ChoiceField(choices=Modality.choices, widget=forms.RadioSelect)
    intensity_microamps = forms.IntegerField(
        label=f"Intensity (µA, {INTENSITY_MICROAMPS.low}–{INTENSITY_MICROAMPS.high})",
        help_text="Microamps. Values outside the range are refused.",
        **INTENSITY_MICROAMPS.field_limits(),
    )
    frequency_hz = forms.DecimalField(
        label="Frequency (Hz)",
        help_text=f"From {FREQUENCY_HZ.low} to {FREQUENCY_HZ.high} Hz.",
        max_digits=12,
        decimal_places=2,
        **FREQUENCY_HZ.field_limits(),
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", **DURATION_MINUTES.field_limits()
    )
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
    """Move a session: a new date and time, and perhaps another esthetician, room or
    device (issue 13). Left out, each stays as it is."""

    date = forms.DateField(
        label="New date", widget=DateInput(), validators=[validate_calendar_date]
    )
    time = forms.TimeField(label="New time (clinic time)", widget=TimeInput(attrs={"step": 900}))
    esthetician = esthetician_field(label="Esthetician", required=False, empty_label=None)
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(is_active=True),
        label="Room",
        required=False,
        empty_label=None,
    )
    device = forms.ModelChoiceField(
        queryset=Device.objects.filter(in_service=True),
        label="Device",
        required=False,
        empty_label=None,
        help_text="Only devices in service are listed.",
    )


class FreeTimeFinderForm(forms.Form):
    """Which free times to offer for moving a session: with anyone, or with one
    esthetician, room or device (a GET form; the names keep clear of the move's own)."""

    find_esthetician = esthetician_field(
        label="With", required=False, empty_label="Any esthetician"
    )
    find_room = forms.ModelChoiceField(
        queryset=Room.objects.filter(is_active=True),
        label="Room",
        required=False,
        empty_label="Any room",
    )
    find_device = forms.ModelChoiceField(
        queryset=Device.objects.filter(in_service=True),
        label="Device",
        required=False,
        empty_label="Any device",
    )


class SessionBookForm(forms.Form):
    """Book one session: a single treatment or a maintenance boost."""

    kind = forms.ChoiceField(
        label="Kind",
        choices=[("single", "Single session"), ("maintenance", "Maintenance boost")],
        widget=forms.RadioSelect,
        initial="single",
    )
    date = forms.DateField(label="Date", widget=DateInput(), validators=[validate_calendar_date])
    time = forms.TimeField(label="Time (clinic time)", widget=TimeInput(attrs={"step": 900}))
    minutes = forms.IntegerField(
        label="Length (minutes)", initial=45, **SESSION_MINUTES.field_limits()
    )
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
            self.initial.setdefault("date", localdate() + timedelta(days=1))
            self.initial.setdefault("time", time(10, 0))
            _default_resources(self, user)


class TreatmentCorrectForm(CompleteForm):
    """Correct a treatment record (issue 13): the same fields and limits as completing
    the session, and why (kept with the earlier version in the record's history)."""

    reason = forms.CharField(
        label="Why the correction",
        max_length=CORRECTION_REASON_MAX_LENGTH,
        help_text="Kept with the earlier version, e.g. “intensity typed wrong”.",
    )
