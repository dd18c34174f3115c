"""Erasing a client's personal data, the part that lives in ``clients`` (issue 12, item
5). ``sessions_app.client_data.client_erase`` is the one service: it locks the client,
cancels what would still reach them (sessions, emails) and calls ``client_anonymise``
for the client's own rows. Nothing here is called on its own.

What is kept, anonymised: the client row (so sessions, plans and treatment records
still count), screenings (answers and outcome, now of nobody) and clearances (dates
and the conditions covered). What goes: name, email, phone, notes, the day and month
of birth, the physician's name, the letters (files removed from
``PRIVATE_MEDIA_ROOT``), the notes of reported health changes, and the same in every
history row of the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from clients.models import Clearance, Client, HealthChange


def erased_first_name() -> str:
    return "Erased"


def erased_last_name(pk: int) -> str:
    return f"client {pk}"


def erased_email(pk: int) -> str:
    """An address that can never be delivered (RFC 2606 reserves ``.invalid``), so an
    email written to it anyway reaches nobody."""
    return f"erased-client-{pk}@erased.invalid"


def erased_date_of_birth(born: date) -> date:
    """The year of birth is kept for statistics (plans keep the age at their start);
    the day and month, which identify, become 1 July, the middle of the year."""
    return date(born.year, 7, 1)


def client_identifiers(client: Client) -> list[str]:
    """The strings that identify ``client``: what erasure must leave nowhere."""
    values = [client.full_name, client.email]
    if client.phone:
        values.append(str(client.phone))
    return [value for value in values if value]


@dataclass
class Anonymised:
    letters_removed: int = 0
    history_rows: int = 0


def client_anonymise(*, client: Client, by, at: datetime) -> Anonymised:
    """Anonymise ``client`` (already locked by the caller) and their own rows: the
    profile, every history row, clearances and their letters, health-change notes and
    the admin's log of the client. Returns what was removed."""
    pk = client.pk
    born = erased_date_of_birth(client.date_of_birth)
    anonymous = {
        "first_name": erased_first_name(),
        "last_name": erased_last_name(pk),
        "email": erased_email(pk),
        "phone": "",
        "notes": "",
        "date_of_birth": born,
    }
    for name, value in anonymous.items():
        setattr(client, name, value)
    # Preferences: an erased client is never emailed again, maintenance reminders
    # included; every link already sent stops working.
    client.unsubscribed_at = client.unsubscribed_at or at
    client.links_revoked_at = at.replace(microsecond=0)
    client.erased_at, client.erased_by = at, by
    client._history_user = by
    client._change_reason = "Erased"
    client.save()
    # Every history row, the one just written included: the old name and email would
    # otherwise stay in the history table (issue 12).
    history_rows = Client.history.filter(id=pk).update(**anonymous)

    letters = list(Clearance.objects.filter(client=client).exclude(document=""))
    for clearance in letters:
        # Removed inside the transaction, after every row is written: if the commit
        # failed the rows would still name a file that is gone (the letter view says so),
        # but a letter is never left behind on disk by an erasure that went through.
        clearance.document.storage.delete(clearance.document.name)
    Clearance.objects.filter(client=client).update(
        physician="", document="", document_content_type=""
    )
    HealthChange.objects.filter(client=client).exclude(note="").update(note="")

    # The admin's log names the object as it was (object_repr).
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Client), object_id=str(pk)
    ).update(object_repr=str(client))
    return Anonymised(letters_removed=len(letters), history_rows=history_rows)
