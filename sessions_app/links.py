"""Signed, expiring links in client emails (Django's signing).

A link carries its action and the id it acts on, signed with the secret key and a
salt per action, so a token made for "confirm" cannot be replayed as "cancel".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from sessions_app.rules import client_can_cancel

# "client": the client's own page (issue 11), signed with the client's id.
ACTIONS = ("confirm", "cancel", "boost", "unsubscribe", "screening", "client")

# How long after sending we allow for the client to read an email: a cancel link is
# offered only when cancelling will still be open then (issue 11, "An email offers a
# cancel link only when cancelling will still be possible when the client reads it").
EMAIL_READ_MARGIN = timedelta(hours=2)


class LinkInvalid(Exception):
    """The link was tampered with or is for another action."""


class LinkExpired(Exception):
    """The link was genuine but is older than ``EMAIL_LINK_MAX_AGE_DAYS``."""


class LinkRefused(Exception):
    """A client link that opens nothing: ``state`` for the page ("expired" or
    "invalid") and the HTTP ``status`` to answer with."""

    def __init__(self, state: str, status: int):
        super().__init__(state)
        self.state, self.status = state, status


def link_token(action: str, pk: int) -> str:
    if action not in ACTIONS:
        raise ValueError(action)
    return signing.dumps(pk, salt=f"clinic.email.{action}", compress=False)


def link_read(action: str, token: str) -> int:
    max_age = timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS)
    try:
        return int(signing.loads(token, salt=f"clinic.email.{action}", max_age=max_age))
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkInvalid from exc


def link_issued_at(token: str) -> datetime:
    """When the (already verified) token was signed: the timestamp Django's signer puts
    before the signature, in whole seconds."""
    return datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[-2]), tz=UTC)


def link_revoked(token: str, client) -> bool:
    """True when the manager revoked the client's links after this one was issued
    (issue 11, "revocable"). Issue times are whole seconds, and so is the revocation
    time (``client_links_revoke``): a link signed in the second of the revocation is a
    fresh one, and works. Every link of an erased client is refused."""
    if client.erased_at is not None:
        # An erased client's links never work again, whenever they were signed (issue 12).
        return True
    revoked_at = client.links_revoked_at
    return revoked_at is not None and link_issued_at(token) < revoked_at.replace(microsecond=0)


def link_client(action: str, token: str):
    """The client a client link (boost, screening, their own page) is for; otherwise
    ``LinkRefused``: 410 when expired or revoked (it worked once), 400 when tampered
    with or made for another action, 404 when the client is gone."""
    from clients.models import Client

    try:
        pk = link_read(action, token)
    except LinkExpired as exc:
        raise LinkRefused("expired", 410) from exc
    except LinkInvalid as exc:
        raise LinkRefused("invalid", 400) from exc
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        raise LinkRefused("invalid", 404)
    if link_revoked(token, client):
        raise LinkRefused("expired", 410)
    return client


def clinic_card() -> dict:
    """The clinic's name, phone and address, as every link page shows them."""
    return {
        "name": settings.CLINIC_NAME,
        "phone": settings.CLINIC_PHONE,
        "address": settings.CLINIC_ADDRESS,
    }


def client_links_revoke(*, client) -> None:
    """Refuse every link issued to ``client`` so far (a forwarded email, a shared
    device); later emails carry fresh links that work."""
    # Whole seconds, as the links' issue times are (see link_revoked).
    client.links_revoked_at = timezone.now().replace(microsecond=0)
    client.save(update_fields=["links_revoked_at", "updated_at"])


def session_client_confirm(*, session) -> None:
    """The client says they will come (issue 11): the first time is kept, so the front
    desk sees when they confirmed."""
    from sessions_app.models import Session  # links is imported by the models' neighbours

    Session.objects.filter(pk=session.pk, client_confirmed_at__isnull=True).update(
        client_confirmed_at=timezone.now()
    )


def client_reminders_set(*, client, on: bool) -> None:
    """Maintenance reminders on or off (SPEC: an unsubscribed client still gets
    confirmations and care instructions). Turning them back on resumes the open cycle."""
    from clients.models import Client
    from sessions_app.maintenance import maintenance_cycle_sync

    if on:
        if Client.objects.filter(pk=client.pk, unsubscribed_at__isnull=False).update(
            unsubscribed_at=None
        ):
            maintenance_cycle_sync(client_id=client.pk)
    else:
        Client.objects.filter(pk=client.pk, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now()
        )


def cancel_link_offered(*, start: datetime, sent_at: datetime | None = None) -> bool:
    """An email sent at ``sent_at`` offers a cancel link only if cancelling is still open
    once the client has had ``EMAIL_READ_MARGIN`` to read it."""
    sent_at = timezone.now() if sent_at is None else sent_at
    return client_can_cancel(start=start, at=sent_at + EMAIL_READ_MARGIN)


def link_url(action: str, pk: int) -> str:
    path = reverse("links:action", kwargs={"action": action, "token": link_token(action, pk)})
    return f"{settings.SITE_URL}{path}"
