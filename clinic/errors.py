"""Domain errors raised by services, and their one mapping to HTTP answers.

Services raise these; the API handler below and the pages' forms turn them into
a 400 or 409 naming the field or the clash, with the same message.
"""

import logging
import sys

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from clinic import views as pages

logger = logging.getLogger("clinic.api")

API_PREFIX = "/api/"

SERVER_ERROR_MESSAGE = (
    "Something went wrong on our side and nothing was changed. Please try again; "
    "if it keeps happening, tell the clinic's manager."
)
DATABASE_UNAVAILABLE_MESSAGE = (
    "The clinic's database is unavailable for a moment. Please try again; sent again with "
    "the same Idempotency-Key, a request is never done twice."
)
# What a 503 tells a client (Retry-After) to wait before trying again.
RETRY_AFTER_SECONDS = 5


def database_unavailable(error: BaseException | None) -> bool:
    """The database went away under the request: its connection was ended (a restart, a
    fail-over, an administrator), it cannot be reached, or it gave up on the query. The
    request may be tried again; it is not a bug, so it answers 503, not 500. The
    connection is dropped at the end of the request and the next one opens a new one
    (``CONN_HEALTH_CHECKS`` in the settings)."""
    return isinstance(error, (OperationalError, InterfaceError))


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
    response = exception_handler(exc, context)
    if response is not None:
        return response
    request = context.get("request")
    if database_unavailable(exc):
        logger.warning(
            "The database is unavailable answering %s %s: %r",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc,
        )
        # A 5xx, so clinic.idempotency rolls back whatever the request had begun.
        return Response(
            {"detail": DATABASE_UNAVAILABLE_MESSAGE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    # A bug, not bad input: log it with its traceback and answer JSON, as every other
    # API error is. clinic.idempotency rolls back a write that answers 500.
    logger.error(
        "Unexpected error answering %s %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        exc_info=exc,
    )
    return Response({"detail": SERVER_ERROR_MESSAGE}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


# Django's own error views (a URL no route matches, an error outside any API view):
# JSON under /api/, the HTML pages everywhere else.


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def bad_request(request, exception=None):
    if is_api_request(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api_request(request):
        message = str(exception) if exception and str(exception) else "Permission denied."
        return JsonResponse({"detail": message}, status=403)
    return pages.permission_denied(request, exception)


def not_found(request, exception=None):
    if is_api_request(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return pages.page_not_found(request, exception)


def server_error(request):
    # Django calls this while it handles the error, which is the one in hand here (an
    # error in a middleware, or in a page's view; the API's own go through the handler
    # above).
    if database_unavailable(sys.exception()):
        if is_api_request(request):
            return JsonResponse(
                {"detail": DATABASE_UNAVAILABLE_MESSAGE},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        response = pages.database_unavailable(request)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if is_api_request(request):
        return JsonResponse({"detail": SERVER_ERROR_MESSAGE}, status=500)
    return pages.server_error(request)


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
