"""Domain errors raised by services, and their one mapping to HTTP answers.

Services raise these; the API handler below and the pages' forms turn them into
a 400 or 409 naming the field or the clash, with the same message.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A rule of the clinic was broken. ``field`` names the input at fault, if any."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict:
        key = self.field or "non_field_errors"
        return {key: [self.message]}


class RuleViolation(DomainError):
    """Input that is well-formed but breaks a clinic rule (400)."""


class Conflict(DomainError):
    """The change clashes with the current state (409)."""

    status_code = status.HTTP_409_CONFLICT


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)


class NotEligible(RuleViolation):
    """The client may not be booked or treated now; the reasons say why (400)."""

    def __init__(self, outcome: str, reasons: list[str]):
        super().__init__("This client may not be booked or treated: " + " ".join(reasons))
        self.outcome = outcome
        self.reasons = reasons

    def as_dict(self) -> dict:
        return {
            "non_field_errors": [self.message],
            "eligibility": self.outcome,
            "reasons": self.reasons,
        }


class BookingClash(Conflict):
    """One or more wished slots are taken (409); ``clashes`` names each one."""

    def __init__(self, message: str, clashes: list[dict]):
        super().__init__(message)
        self.clashes = clashes

    def as_dict(self) -> dict:
        return {"detail": self.message, "clashes": self.clashes}
