from django import forms
from django.conf import settings

from clients.models import Client
from clients.rules import CLEARABLE, CONDITION_LABELS, unanswered_message
from clients.services import DOCUMENT_TYPES
from clinic.dates import validate_calendar_date


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["first_name", "last_name", "email", "phone", "date_of_birth", "notes"]
        widgets = {
            "date_of_birth": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }
        help_texts = {"phone": "Optional. Include the area code, e.g. (415) 555-0134."}


class YesNoField(forms.TypedChoiceField):
    """A required yes/no question: the staff member must answer it, not skip it.

    Two radios with neither ticked, never a checkbox: an unticked box cannot be told
    from "No", and a missing answer must be an error (SPEC, "Contraindication
    screening")."""

    widget = forms.RadioSelect

    def __init__(self, *, answer: str, **kwargs):
        super().__init__(
            choices=[("yes", "Yes"), ("no", "No")],
            coerce=lambda value: value == "yes",
            empty_value=None,
            error_messages={"required": unanswered_message(answer)},
            **kwargs,
        )


class ScreeningForm(forms.Form):
    pacemaker = YesNoField(answer="pacemaker", label="Does the client have a cardiac pacemaker?")
    pregnant = YesNoField(answer="pregnant", label="Is the client pregnant, or could she be?")
    neurological_disorder = YesNoField(
        answer="neurological_disorder",
        label="Does the client have a neurological disorder such as epilepsy?",
    )
    recent_surgery = YesNoField(answer="recent_surgery", label="")
    cancer_treatment = YesNoField(answer="cancer_treatment", label="")
    implanted_defibrillator = YesNoField(
        answer="implanted_defibrillator",
        label="Does the client have an implanted defibrillator?",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The "recent" windows are settings; the questions say what they are.
        surgery = settings.SCREENING_RECENT_SURGERY_MONTHS
        cancer = settings.SCREENING_CANCER_TREATMENT_MONTHS
        self.fields[
            "recent_surgery"
        ].label = f"Has the client had surgery in the last {surgery} months?"
        self.fields[
            "cancer_treatment"
        ].label = f"Is the client having cancer treatment, or had any in the last {cancer} months?"


class ClearanceForm(forms.Form):
    physician = forms.CharField(
        label="Physician", max_length=200, help_text="The doctor who signed the clearance."
    )
    issued_on = forms.DateField(
        label="Issued on", widget=DateInput(), validators=[validate_calendar_date]
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=DateInput(),
        validators=[validate_calendar_date],
        help_text=f"Leave empty for {settings.CLEARANCE_VALID_MONTHS} months after the issue date.",
    )
    conditions = forms.MultipleChoiceField(
        label="Conditions cleared",
        choices=[(c.value, CONDITION_LABELS[c]) for c in CLEARABLE],
        widget=forms.CheckboxSelectMultiple,
    )
    document = forms.FileField(
        label="Scanned letter",
        required=False,
        help_text=f"Optional. PDF, JPEG or PNG, up to {settings.CLEARANCE_DOCUMENT_MAX_MB} MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(f".{ext}" for ext in DOCUMENT_TYPES.values()) + ",.jpeg"}
        ),
    )

    def __init__(self, *args, missing: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if missing and not self.is_bound:
            self.initial.setdefault("conditions", missing)


class AccessLogFilterForm(forms.Form):
    """The Access log's filters: a client (picked, or found by name) and who acted."""

    client = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    q = forms.CharField(
        label="Client", required=False, max_length=100, help_text="Part of a name, email or phone."
    )
    staff = forms.ChoiceField(label="Who", required=False)

    def __init__(self, *args, staff_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].choices = [("", "Anyone"), *staff_choices]
