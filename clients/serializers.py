from rest_framework import serializers
from rest_framework.fields import empty

from clients.models import Clearance, Client, Screening
from clients.rules import (
    ANSWER_FIELDS,
    CLEARABLE_CODES,
    CONDITION_CODES,
    Outcome,
    unanswered_message,
)
from clients.selectors import SAME_EMAIL, SAME_NAME_AND_BIRTH
from clinic.dates import validate_calendar_date


class ClientSerializer(serializers.ModelSerializer):
    confirm_duplicate_of = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        write_only=True,
        required=False,
        help_text="Registering, or editing the email, name or date of birth. A client with "
        "the same email (any case), or the same name (any case) and date of birth, as one "
        "on file is answered 409 with the `duplicates`. To register (or save) anyway, send "
        "the same body again with the ids of every one of those `duplicates` here. A client "
        "registered since (a double submit) is asked about again.",
    )

    class Meta:
        model = Client
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "notes",
            "created_at",
            "updated_at",
            "confirm_duplicate_of",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class PossibleDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    date_of_birth = serializers.DateField()
    matched_on = serializers.ListField(
        child=serializers.ChoiceField(choices=[SAME_EMAIL, SAME_NAME_AND_BIRTH])
    )


class DuplicateClientSerializer(serializers.Serializer):
    """The 409 of a registration (or an edit) that may be a client already on file."""

    detail = serializers.CharField()
    duplicates = PossibleDuplicateSerializer(many=True)


class StrictBooleanField(serializers.BooleanField):
    """A screening answer is true or false: not 1, not "yes", never left to guess.

    DRF's ``BooleanField`` reads a field missing from a form-encoded or multipart body
    as False (``default_empty_html``), which would turn a question left out into a
    silent "No". Here it is missing in every content type, so ``required`` holds."""

    default_empty_html = empty
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in {"true", "false"}:
            return data.lower() == "true"
        self.fail("invalid")


def screening_answer(name: str) -> StrictBooleanField:
    return StrictBooleanField(error_messages={"required": unanswered_message(name)})


class ScreeningInputSerializer(serializers.Serializer):
    """The six answers, each required (SPEC: a missing answer is an error, never a "No")."""

    pacemaker = screening_answer("pacemaker")
    pregnant = screening_answer("pregnant")
    neurological_disorder = screening_answer("neurological_disorder")
    recent_surgery = screening_answer("recent_surgery")
    cancer_treatment = screening_answer("cancer_treatment")
    implanted_defibrillator = screening_answer("implanted_defibrillator")


class ScreeningSerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(choices=[o.value for o in Outcome], read_only=True)
    reasons = serializers.SerializerMethodField()
    flagged = serializers.ListField(
        child=serializers.ChoiceField(choices=CONDITION_CODES), read_only=True
    )
    recorded_by = serializers.StringRelatedField()

    class Meta:
        model = Screening
        fields = [
            "id",
            "client",
            *ANSWER_FIELDS,
            "outcome",
            "reasons",
            "flagged",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields

    def get_reasons(self, obj) -> list[str]:
        return obj.result.reasons


class ClearanceInputSerializer(serializers.Serializer):
    physician = serializers.CharField(max_length=200)
    issued_on = serializers.DateField(validators=[validate_calendar_date])
    expires_on = serializers.DateField(
        required=False, allow_null=True, validators=[validate_calendar_date]
    )
    conditions = serializers.ListField(
        child=serializers.ChoiceField(choices=CONDITION_CODES), allow_empty=False
    )
    document = serializers.FileField(required=False, allow_null=True)


class ClearanceSerializer(serializers.ModelSerializer):
    conditions = serializers.ListField(child=serializers.ChoiceField(choices=CLEARABLE_CODES))
    document_url = serializers.SerializerMethodField()
    recorded_by = serializers.StringRelatedField()

    class Meta:
        model = Clearance
        fields = [
            "id",
            "client",
            "physician",
            "issued_on",
            "expires_on",
            "conditions",
            "document_url",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields

    def get_document_url(self, obj) -> str | None:
        if not obj.document:
            return None
        request = self.context.get("request")
        path = f"/api/clearances/{obj.pk}/document/"
        return request.build_absolute_uri(path) if request else path


class EligibilitySerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[o.value for o in Outcome])
    reasons = serializers.ListField(child=serializers.CharField())
    missing_clearances = serializers.ListField(
        child=serializers.ChoiceField(choices=CLEARABLE_CODES)
    )
    screening_valid_until = serializers.DateTimeField(allow_null=True)
