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
    # A treatment record is corrected by the esthetician who recorded it (sessions.treat)
    # or by a manager, whoever recorded it (issue 13; ``sessions_app.treatment``).
    "treatments.correct_any": frozenset({MG}),
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


# What each permission lets one do, in words: the 403 page says "Your role (Front desk)
# may not <this>." (issue 13: once, and never the permission's code).
PERMISSION_WORDS: dict[str, str] = {
    "clients.view": "look up clients",
    "clients.edit": "register clients or change their details",
    "clients.revoke_links": "revoke the links in a client's emails",
    "clients.export": "export a client's data",
    "clients.erase": "erase a client's data",
    "audit.view": "see the access log of health data",
    "screenings.record": "record a screening",
    "clearances.record": "record a doctor's clearance",
    "clearances.view_document": "open a clearance letter",
    "protocols.view": "see the treatment protocols",
    "protocols.edit": "change the treatment protocols",
    "sessions.view": "see the schedule and sessions",
    "sessions.book": "book or move sessions",
    "sessions.cancel": "cancel sessions",
    "sessions.no_show": "mark a session as a no-show",
    "sessions.treat": "check clients in or record treatments",
    "treatments.correct_any": "correct a treatment record someone else recorded",
    "plans.cancel": "cancel a treatment plan",
    "reminders.view": "see the reminder emails",
    "reminders.manage": "resend reminder emails",
    "maintenance.view": "see who is due a maintenance boost",
    "activity.view": "see what clients did from their emails",
    "resources.view": "see the rooms, devices and hours",
    "resources.manage": "change the clinic's rooms, devices, hours and closed days",
    "staff.manage": "manage staff, log-in lockouts and other people's API tokens",
    "account.tokens": "hold API tokens",
}


def role_refusal(role_label: str, permission: str) -> str:
    """The one sentence a refused page or request says: what the role may not do."""
    what = PERMISSION_WORDS.get(permission, "do this")
    return f"Your role ({role_label}) may not {what}."


def role_can(role: str | None, permission: str) -> bool:
    """True when ``role`` may take ``permission``; unknown permissions are refused."""
    return role in PERMISSIONS.get(permission, frozenset())
