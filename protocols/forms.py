from django import forms

from protocols.models import Modality
from protocols.rules import AGE, SERIES_SESSIONS, SERIES_WEEKS, SESSION_MINUTES


class ProtocolForm(forms.Form):
    """One age band's numbers, each within the bounds of ``protocols.rules`` and refused
    with the rule's message. Whether the numbers and the bands fit together is the
    service's rule (``protocols.services.protocol_update``); its message comes back here."""

    name = forms.CharField(label="Name", max_length=100)
    min_age = forms.IntegerField(label="From age", **AGE.field_limits())
    max_age = forms.IntegerField(
        label="To age (inclusive)",
        required=False,
        help_text="Leave empty for no upper limit (the oldest band).",
        **AGE.field_limits(),
    )
    sessions_min = forms.IntegerField(label="Fewest sessions", **SERIES_SESSIONS.field_limits())
    sessions_max = forms.IntegerField(label="Most sessions", **SERIES_SESSIONS.field_limits())
    weeks_min = forms.IntegerField(label="Fewest weeks", **SERIES_WEEKS.field_limits())
    weeks_max = forms.IntegerField(label="Most weeks", **SERIES_WEEKS.field_limits())
    session_minutes = forms.IntegerField(
        label="Session length (minutes)", **SESSION_MINUTES.field_limits()
    )
    default_modality = forms.ChoiceField(
        label="Default modality", choices=Modality.choices, widget=forms.RadioSelect
    )


class BoundaryForm(forms.Form):
    # Above 0: the youngest band always starts at age 0, so a boundary is never there.
    min_age = forms.IntegerField(label="Starts at age", min_value=1, max_value=AGE.high)
