"""API tokens (issue 12, item 3): django-rest-knox tokens that expire, end when their
owner's password changes, and can be revoked by their owner or a manager.

``POST /api/auth/token/`` answers ``{"token": ..., "expiry": ...}``; requests then send
``Authorization: Token <token>``. Only a hash of each token is stored. Every write goes
through the services below; pages and API views call them.
"""

import binascii
import logging
from hmac import compare_digest

from django.db import router
from django.db.models import Count
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from clinic import dataversion
from clinic.models import User
from clinic.prepared import Statement

logger = logging.getLogger("clinic.tokens")


_TOKEN_FIELDS = [f.attname for f in AuthToken._meta.concrete_fields]
_USER_FIELDS = [f.attname for f in User._meta.concrete_fields]
# The tokens whose key (the first characters) is the one presented, with their owner: on
# every API request, so written once and planned once per connection (issue 14).
_TOKENS_WITH_KEY = Statement(
    "clinic_api_tokens_with_key",
    lambda key: (
        AuthToken.objects.filter(token_key=key)
        .order_by()
        .values_list(*_TOKEN_FIELDS, *(f"user__{name}" for name in _USER_FIELDS))
    ),
    stand_ins={"key": "~stand-in-key~"},
    fields={"key": AuthToken._meta.get_field("token_key")},
)


def _tokens_with_key(key: str) -> list[AuthToken]:
    """The tokens with ``key``, each with its owner. The rows are kept in this process's
    memory for the data version (``dataversion.remembered``): every end of a token (its
    DELETE) and every change to a member of staff is a new version, so a token revoked,
    logged out or expired, or an owner made inactive or given a new password or role, is
    refused or seen at the next request. A token that expires with no write is refused
    by its expiry, which is checked on every request (``_cleanup_token``)."""
    using = router.db_for_read(AuthToken)
    rows = dataversion.remembered(
        "api-tokens-with-key",
        (using, key),
        lambda: list(_TOKENS_WITH_KEY.rows(using=using, key=key)),
    )
    tokens = []
    for row in rows:
        token = AuthToken.from_db(using, _TOKEN_FIELDS, row[: len(_TOKEN_FIELDS)])
        token.user = User.from_db(using, _USER_FIELDS, row[len(_TOKEN_FIELDS) :])
        tokens.append(token)
    return tokens


class ExpiringTokenAuthentication(TokenAuthentication):
    """knox's authentication (expired tokens are refused and deleted), but a header that
    is not UTF-8 (or holds a NUL) is a 401 like any other bad token, not a 500."""

    def authenticate_credentials(self, token):
        """knox 5.1's ``authenticate_credentials``, step for step, but the tokens with
        the key presented come from ``_tokens_with_key`` (one prepared statement) rather
        than a query the ORM builds anew on every request."""
        msg = _("Invalid token.")
        try:
            token = token.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(msg) from exc
        if "\x00" in token:
            raise exceptions.AuthenticationFailed(msg)
        for auth_token in _tokens_with_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error) as exc:
                raise exceptions.AuthenticationFailed(msg) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

    def _cleanup_token(self, auth_token) -> bool:
        """knox's check of the token presented: expired, it is deleted and refused. knox
        also reads all the owner's other tokens on every request to delete the expired
        ones among them (a second query per API call, issue 14); ``token_issue`` sweeps
        those instead, and an expired token is refused whenever it is presented."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    """The schema's word for it: ``Authorization: Token <token>``, as before knox."""

    target_class = ExpiringTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )


def token_issue(*, user) -> tuple[AuthToken, str]:
    """A new token for ``user``, expiring after ``API_TOKEN_TTL_HOURS``; the caller shows
    the returned string once (it is not stored). The user's expired tokens go (they are
    refused anyway; authentication no longer sweeps them on every request)."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return AuthToken.objects.create(user=user)


def tokens_active(*, user, at=None):
    """``user``'s tokens that still work, newest first."""
    at = at or timezone.now()
    return AuthToken.objects.filter(user=user, expiry__gt=at).order_by("-created")


def token_revoke(*, user, digest: str, by) -> bool:
    """Revoke one of ``user``'s tokens; False if there was no such token."""
    deleted, _ = AuthToken.objects.filter(user=user, digest=digest).delete()
    if deleted:
        logger.info("%s revoked a token of %s", by, user)
    return bool(deleted)


def tokens_revoke_all(*, user, by) -> int:
    """Revoke every token of ``user``; returns how many."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    if deleted:
        logger.info("%s revoked all %d tokens of %s", by, deleted, user)
    return deleted


def tokens_per_staff(*, at=None) -> dict[int, int]:
    """How many working tokens each member of staff holds (one query)."""
    at = at or timezone.now()
    rows = (
        AuthToken.objects.filter(expiry__gt=at)
        .values("user_id")
        .annotate(count=Count("digest"))
        .values_list("user_id", "count")
    )
    return dict(rows)


# A password change, by any path that saves the user (the admin, the "Change password"
# page, set_password() and save(), a new hash assigned), ends every token of that user:
# a token handed out under the old password is no proof of knowing the new one.


@receiver(pre_save, sender=User)
def _note_password_change(sender, instance, update_fields=None, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. the last_login update on every log-in: no query
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=User)
def _end_tokens_on_password_change(sender, instance, raw=False, **kwargs):
    if raw or not getattr(instance, "_password_changed", False):
        return
    instance._password_changed = False
    tokens_revoke_all(user=instance, by="password change")
