"""The OpenAPI schema says what the API really answers, errors included.

Every operation may answer 400 (bad input, named by field), 401 (not signed in), 403
(the role may not), 404 (no such object or page), 429 (throttled); every write may also
answer 409 (a clash or a state that forbids it) and 422 (an ``Idempotency-Key`` reused for
another request), and takes the optional ``Idempotency-Key`` header (``clinic.idempotency``).
An operation's own ``@extend_schema(responses=...)`` wins over these defaults.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from clinic.idempotency import HEADER, KEY_MAX_LENGTH, KEY_PATTERN, WRITE_METHODS

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# Field errors name the field ({"start": ["..."]}); a domain error may add more keys
# ("eligibility", "reasons", "clashes"), and a parse error says {"detail": "..."}.
FIELD_ERRORS = {
    "type": "object",
    "description": "Each key names a field (or non_field_errors, or detail) and says what "
    "is wrong with it.",
    "additionalProperties": {},
}

ERRORS = {
    "400": ("BadRequest", FIELD_ERRORS, "Bad input: the fields at fault and why."),
    "401": ("Unauthenticated", DETAIL, "Not signed in: send a token or a session cookie."),
    "403": ("Forbidden", DETAIL, "The signed-in role may not do this."),
    "404": ("NotFound", DETAIL, "No such object (or page of results)."),
    "409": (
        "Conflict",
        FIELD_ERRORS,
        "A clash with another booking, or a state that forbids the change; says which.",
    ),
    "422": (
        "IdempotencyKeyReused",
        DETAIL,
        f"The {HEADER} was already used for a different request.",
    ),
    "429": (
        "TooManyRequests",
        DETAIL,
        "Too many requests: the API's rate for this address or member of staff is used up "
        "(Retry-After says when to try again), or, on the token endpoint, a log-in lockout.",
    ),
}
# Every operation is throttled (clinic.throttles), hence 429 everywhere.
READ_ERRORS = ("400", "401", "403", "404", "429")
WRITE_ERRORS = (*READ_ERRORS, "409", "422")


# Clinic times are wall-clock times without an offset ("09:00:00", "10:00"): OpenAPI's
# "time" format is RFC 3339's, which requires one ("09:00:00Z"), so it would be untrue.
HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
HH_MM_SS = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


class ClinicAutoSchema(AutoSchema):
    def _get_paginator(self):
        # Only a viewset's own list pages its results; custom actions that answer a list
        # (a client's screenings) answer a plain array.
        if getattr(self.view, "action", "list") not in ("list", None):
            return None
        return super()._get_paginator()

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.TimeField):
            formats = getattr(field, "input_formats", None)
            only_hh_mm = direction == "request" and list(formats or []) == ["%H:%M"]
            schema = {
                "type": "string",
                "pattern": HH_MM if only_hh_mm else HH_MM_SS,
                "example": "10:00" if only_hh_mm else "10:00:00",
                "description": "Clinic time (local wall clock), no offset.",
            }
            if field.read_only:
                schema["readOnly"] = True
            if field.allow_null:
                schema["nullable"] = True
            return schema
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in WRITE_METHODS:
            parameters.append(
                OpenApiParameter(
                    name=HEADER,
                    type={"type": "string", "maxLength": KEY_MAX_LENGTH, "pattern": KEY_PATTERN},
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Optional. A retry with the same key and the same request gets the "
                        "first answer again and changes nothing; the same key with another "
                        "request is a 422. Kept 24 hours per member of staff. Use a UUID."
                    ),
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = WRITE_ERRORS if self.method in WRITE_METHODS else READ_ERRORS
        for code in codes:
            if code not in responses:
                responses[code] = self._error_response(code)
        return responses

    def _error_response(self, code: str) -> dict:
        name, schema, description = ERRORS[code]
        component = ResolvedComponent(
            name=f"{name}Error", type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return {
            "content": {"application/json": {"schema": component.ref}},
            "description": description,
        }
