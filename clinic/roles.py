"""Who may do what: the one table, enforced on every page and endpoint.

Each permission names an action in the clinic's words; the set lists the roles
that may take it. Superusers may do everything a manager may.
"""

from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    ESTHETICIAN = "esthetician", "Esthetician"
    MANAGER = "manager", "Manager"


FD, ES, MG = Role.FRONT_DESK, Role.ESTHETICIAN, Role.MANAGER

PERMISSIONS: dict[str, frozenset[str]] = {
    # Clients: everyone looks a client up; the front desk registers and edits.
    "clients.view": frozenset({FD, ES, MG}),
    "clients.edit": frozenset({FD, MG}),
    # The client's email links (issue 11): only the manager makes them all stop working.
    "clients.revoke_links": frozenset({MG}),
    # A client's data (issue 12): only the manager exports it or erases the client.
    "clients.export": frozenset({MG}),
    "clients.erase": frozenset({MG}),
    # The access log of health data (issue 12): who read or changed what, for managers.
    "audit.view": frozenset({MG}),
    # Screening: front desk at registration, esthetician when a client reports
    # a change at check-in.
    "screenings.record": frozenset({FD, ES, MG}),
    # Clearances: the front desk files the doctor's letter; everyone may read it.
    "clearances.record": frozenset({FD, MG}),
    "clearances.view_document": frozenset({FD, ES, MG}),
    # Protocols: everyone reads the age bands; managers edit them.
    "protocols.view": frozenset({FD, ES, MG}),
    "protocols.edit": frozenset({MG}),
    # Sessions: the front desk books and cancels, estheticians book whole series and
    # treat; check-in and completion belong to whoever gives the treatment.
    "sessions.view": frozenset({FD, ES, MG}),
    "sessions.book": frozenset({FD, ES, MG}),
    "sessions.cancel": frozenset({FD, ES, MG}),
    "sessions.no_show": frozenset({FD, ES, MG}),
    "sessions.treat": frozenset({ES, MG}),
    # Plans: whoever books a series may cancel the plan (and its booked sessions).
    "plans.cancel": frozenset({FD, ES, MG}),
    # Reminders: managers watch delivery and resend failures; the front desk (and the
    # estheticians) see who is due a maintenance boost.
    "reminders.view": frozenset({MG}),
    "reminders.manage": frozenset({MG}),
    "maintenance.view": frozenset({FD, ES, MG}),
    # What clients did from their emails (issue 11): the front desk acts on it.
    "activity.view": frozenset({FD, MG}),
    # Clinic resources (rooms, devices, hours, closed days) and staff are the manager's.
    "resources.view": frozenset({FD, ES, MG}),
    "resources.manage": frozenset({MG}),
    "staff.manage": frozenset({MG}),
    # One's own password and API tokens (issue 12); unlocking log-ins and revoking someone
    # else's tokens is staff.manage.
    "account.tokens": frozenset({FD, ES, MG}),
}


def role_can(role: str | None, permission: str) -> bool:
    """True when ``role`` may take ``permission``; unknown permissions are refused."""
    return role in PERMISSIONS.get(permission, frozenset())
