from django import forms

from protocols.models import Modality


class ProtocolForm(forms.Form):
    """One age band's numbers. Whether the bands still fit together is the service's
    rule (``protocols.services.protocol_update``); its message comes back here."""

    name = forms.CharField(label="Name", max_length=100)
    min_age = forms.IntegerField(label="From age", min_value=0, max_value=150)
    max_age = forms.IntegerField(
        label="To age (inclusive)",
        min_value=0,
        max_value=150,
        required=False,
        help_text="Leave empty for no upper limit (the oldest band).",
    )
    sessions_min = forms.IntegerField(label="Fewest sessions", min_value=1, max_value=100)
    sessions_max = forms.IntegerField(label="Most sessions", min_value=1, max_value=100)
    weeks_min = forms.IntegerField(label="Fewest weeks", min_value=1, max_value=52)
    weeks_max = forms.IntegerField(label="Most weeks", min_value=1, max_value=52)
    session_minutes = forms.IntegerField(
        label="Session length (minutes)", min_value=5, max_value=240
    )
    default_modality = forms.ChoiceField(
        label="Default modality", choices=Modality.choices, widget=forms.RadioSelect
    )


class BoundaryForm(forms.Form):
    min_age = forms.IntegerField(label="Starts at age", min_value=1, max_value=150)
