"""The log-in backend: Django's ``ModelBackend``, with the member of staff behind a
logged-in session read once per data version in each process (issue 14), as the API
token lookup is (``clinic.tokens``). Every page a logged-in member of staff opens asks
for them; most opens change nothing about them.

Every change to a member of staff (a new password, made inactive, a new role, a log-in's
``last_login``) is a write to their row, so a new data version: the next request reads
them again, and Django's own checks on it (active, the session's password hash) see the
change there. Each request gets its own copy (``dataversion.remembered`` keeps values
pickled), so what one request caches on the object (its permissions) never reaches the
next."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.db import router

from clinic import dataversion
from clinic.models import User


def _staff_member(using: str, user_id) -> User | None:
    try:
        return User._default_manager.db_manager(using).get(pk=user_id)
    except User.DoesNotExist:
        return None


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        using = router.db_for_read(User)
        user = dataversion.remembered(
            "session-staff-member", (using, user_id), lambda: _staff_member(using, user_id)
        )
        return user if user is not None and self.user_can_authenticate(user) else None
