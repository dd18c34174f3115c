"""Writes under ``/api/``: one transaction per request, answer included, and
``Idempotency-Key`` so that a retried request changes things once (issue 9, rule 8).

``ApiWriteMiddleware`` wraps every POST, PUT, PATCH and DELETE under ``/api/`` in one
transaction that also covers building and rendering the answer: if the answer cannot be
built (any 500), the change is rolled back with it, so a client is never told "error"
about a session (and its confirmation email row) that was in fact booked.

A client may send ``Idempotency-Key: <1 to 255 visible ASCII characters>``. The key is
claimed, per member of staff, by inserting a row under a unique constraint in that same
transaction, before the view runs:

- the first request runs and its 2xx answer is stored with the key;
- a retry with the same key and the same request gets the stored answer (same status and
  body, with ``Idempotent-Replayed: true``) and changes nothing;
- a concurrent duplicate waits on the unique key until the first commits, then replays;
- the same key with a different request (method, path, content type or body) is a 422;
- a request that fails (4xx, 5xx) stores nothing, so it may be retried with the same key.

Keys are kept for ``IDEMPOTENCY_KEY_HOURS`` (24); an expired key may be used again.
"""

import hashlib
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from clinic.errors import is_api_request
from clinic.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
# Visible ASCII, no spaces: a UUID fits, and no proxy can change it on the way.
KEY_PATTERN = r"^[!-~]{1,255}$"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiWriteMiddleware:
    """One transaction per API write, covering the answer; ``Idempotency-Key`` replay."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in WRITE_METHODS or not is_api_request(request):
            return self.get_response(request)
        with transaction.atomic():
            response = self._respond(request)
            if response.status_code >= 500:
                # The answer failed to build, or the change failed half-way: undo it all,
                # so a 500 never hides a booking that happened.
                transaction.set_rollback(True)
        return response

    def _respond(self, request):
        key = request.headers.get(HEADER)
        if key is None:
            return self.get_response(request)
        if not re.fullmatch(KEY_PATTERN, key):
            return JsonResponse(
                {HEADER: [f"Send 1 to {KEY_MAX_LENGTH} visible ASCII characters, e.g. a UUID."]},
                status=400,
            )
        user = _api_user(request)
        if user is None:
            # Not signed in: the view answers 401/403 and nothing is stored.
            return self.get_response(request)
        try:
            fingerprint = _fingerprint(request)
        except RequestDataTooBig:
            return self.get_response(request)
        record, claimed = idempotency_key_claim(
            user=user, key=key, fingerprint=fingerprint, at=timezone.now()
        )
        if not claimed:
            return _replay(record, fingerprint)
        response = self.get_response(request)
        if 200 <= response.status_code < 300 and not response.streaming:
            idempotency_key_store(record=record, response=response)
        else:
            # Nothing was done (or it is being undone): the key stays free for a retry.
            record.delete()
        return response


def idempotency_key_claim(*, user, key: str, fingerprint: str, at) -> tuple[IdempotencyKey, bool]:
    """Claim ``key`` for ``user``: ``(row, True)`` if this request is the first, else the
    stored row of the request that was. Call inside the request's transaction: on
    PostgreSQL a concurrent claim of the same key waits here until the first commits."""
    IdempotencyKey.objects.filter(user=user, key=key, expires_at__lte=at).delete()
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=user,
                key=key,
                fingerprint=fingerprint,
                created_at=at,
                expires_at=at + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS),
            )
    except IntegrityError:
        return IdempotencyKey.objects.get(user=user, key=key), False
    return record, True


def idempotency_key_store(*, record: IdempotencyKey, response: HttpResponse) -> None:
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")
    record.body = response.content
    record.save(update_fields=["status_code", "content_type", "body"])


def idempotency_keys_purge(*, at) -> int:
    """Delete expired keys; the periodic task calls this."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=at).delete()
    return deleted


def _replay(record: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        return JsonResponse(
            {
                "detail": f"This {HEADER} was already used for a different request. "
                "Use a new key for a new request; resend the very same request to "
                "get its answer again."
            },
            status=422,
        )
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.get_full_path(), request.content_type or ""):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _api_user(request):
    """The member of staff the API will see (token or session), or None.

    The API authenticates inside the view, after this middleware has to claim the key;
    ask the same authenticators. The request's ``user`` is put back afterwards, so the
    view authenticates exactly as it would have.
    """
    had_user = "user" in request.__dict__
    original = request.__dict__.get("user")
    drf_request = Request(
        request, authenticators=[auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    )
    try:
        user = drf_request.user
    except APIException:
        user = None
    finally:
        if had_user:
            request.user = original
        else:
            request.__dict__.pop("user", None)
    if user is None or not user.is_authenticated:
        return None
    return user
