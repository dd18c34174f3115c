"""Forms for the managers' set-up pages. They check the shape of the input; the rules
(unique names, shifts of one day that do not overlap, ends after starts) live in
``sessions_app.resource_services`` and come back as form errors."""

from django import forms

from sessions_app.forms import DateInput, TimeInput, esthetician_field
from sessions_app.models import Weekday


class RoomForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="e.g. Treatment room 3.")
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Only active rooms can be booked. Past sessions keep their room.",
    )


class DeviceForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="Make and model.")
    serial_number = forms.CharField(
        label="Serial number", max_length=100, help_text="As printed on the device."
    )
    in_service = forms.BooleanField(
        label="In service",
        required=False,
        initial=True,
        help_text="Untick while the device is away for repair: it cannot be booked then.",
    )


class WorkingHoursForm(forms.Form):
    esthetician = esthetician_field(label="Esthetician", empty_label="Choose an esthetician")
    weekday = forms.TypedChoiceField(
        label="Weekday", choices=Weekday.choices, coerce=int, empty_value=None
    )
    starts_at = forms.TimeField(
        label="Starts at", widget=TimeInput(attrs={"step": 900}), help_text="Clinic time."
    )
    ends_at = forms.TimeField(
        label="Ends at", widget=TimeInput(attrs={"step": 900}), help_text="Clinic time."
    )


class ClosedDayForm(forms.Form):
    date = forms.DateField(label="Date", widget=DateInput())
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        required=False,
        help_text="Optional. Shown to staff who try to book that day, e.g. Public holiday.",
    )


class DayOffForm(forms.Form):
    esthetician = esthetician_field(label="Esthetician", empty_label="Choose an esthetician")
    date = forms.DateField(label="Date", widget=DateInput())
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        required=False,
        help_text="Optional. Shown to staff who try to book with them that day, e.g. Training.",
    )
