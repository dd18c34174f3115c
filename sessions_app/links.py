"""Signed, expiring links in client emails (Django's signing).

A link carries its action and the id it acts on, signed with the secret key and a
salt per action, so a token made for "confirm" cannot be replayed as "cancel".
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

ACTIONS = ("confirm", "cancel", "boost", "unsubscribe")


class LinkInvalid(Exception):
    """The link was tampered with or is for another action."""


class LinkExpired(Exception):
    """The link was genuine but is older than ``EMAIL_LINK_MAX_AGE_DAYS``."""


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


def link_url(action: str, pk: int) -> str:
    path = reverse("links:action", kwargs={"action": action, "token": link_token(action, pk)})
    return f"{settings.SITE_URL}{path}"
