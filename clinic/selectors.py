"""Who may be booked: the one definition of an active esthetician, asked by the
booking services, the API's and pages' choice lists and the calendars alike."""

from __future__ import annotations

from django.db.models import QuerySet

from clinic.models import User
from clinic.roles import Role


def active_estheticians() -> QuerySet[User]:
    """Staff who give treatments now: the esthetician role, and an account in use."""
    return User.objects.filter(role=Role.ESTHETICIAN, is_active=True)


def is_active_esthetician(user: User) -> bool:
    """The same rule as ``active_estheticians`` for one person already loaded."""
    return user.role == Role.ESTHETICIAN and user.is_active
