from datetime import date, time, timedelta

import factory
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from clients.models import Clearance, Client, Screening
from clients.rules import ANSWER_FIELDS
from clinic.models import User
from clinic.roles import Role
from protocols.models import Plan
from protocols.rules import age_on
from protocols.services import protocol_for_age
from sessions_app.models import ClosedDay, Device, Room, Session, WorkingHours

PASSWORD = "a-long-test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.FRONT_DESK
    password = factory.django.Password(PASSWORD)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    date_of_birth = date(1985, 6, 15)


def screening_answers(*yes: str) -> dict[str, bool]:
    """The six screening answers: "yes" to those named, "no" to the rest."""
    unknown = set(yes) - set(ANSWER_FIELDS)
    if unknown:
        raise ValueError(f"Not a screening question: {', '.join(sorted(unknown))}")
    return {name: name in yes for name in ANSWER_FIELDS}


class ScreeningFactory(factory.django.DjangoModelFactory):
    """A screening with every answer "no" (eligible) unless told otherwise."""

    class Meta:
        model = Screening

    client = factory.SubFactory(ClientFactory)
    pacemaker = False
    pregnant = False
    neurological_disorder = False
    recent_surgery = False
    cancer_treatment = False
    implanted_defibrillator = False
    outcome = "eligible"
    flagged = factory.LazyFunction(list)
    recorded_by = factory.SubFactory(UserFactory)
    recorded_at = factory.LazyFunction(timezone.now)


class ClearanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clearance

    client = factory.SubFactory(ClientFactory)
    physician = "Dr. Ada Park"
    issued_on = factory.LazyFunction(timezone.localdate)
    # relativedelta, not date.replace(year=...), so an issue date of Feb 29 works.
    expires_on = factory.LazyAttribute(lambda c: c.issued_on + relativedelta(years=1))
    conditions = factory.LazyFunction(lambda: ["recent_surgery"])
    recorded_by = factory.SubFactory(UserFactory)


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    name = factory.Sequence(lambda n: f"Room {n}")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    # Device names are unique regardless of case (issue 13).
    name = factory.Sequence(lambda n: f"NuFACE Pro {n}")
    serial_number = factory.Sequence(lambda n: f"SN-{n:05d}")


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    """One weekday's shift for an esthetician, 09:00-18:00 clinic time unless told."""

    class Meta:
        model = WorkingHours
        django_get_or_create = ("esthetician", "weekday")

    esthetician = factory.SubFactory(UserFactory, role=Role.ESTHETICIAN)
    weekday = 0
    starts_at = time(9)
    ends_at = time(18)


class ClosedDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClosedDay
        django_get_or_create = ("date",)

    date = factory.LazyFunction(timezone.localdate)
    reason = "Staff training"


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan whose protocol and numbers follow the client's age on the start date,
    as ``protocols.services.plan_build`` makes them."""

    class Meta:
        model = Plan

    client = factory.SubFactory(ClientFactory)
    start_date = factory.LazyFunction(timezone.localdate)
    age_at_start = factory.LazyAttribute(lambda p: age_on(p.client.date_of_birth, p.start_date))
    protocol = factory.LazyAttribute(lambda p: protocol_for_age(p.age_at_start))
    sessions_min = factory.SelfAttribute("protocol.sessions_min")
    sessions_max = factory.SelfAttribute("protocol.sessions_max")
    weeks_min = factory.SelfAttribute("protocol.weeks_min")
    weeks_max = factory.SelfAttribute("protocol.weeks_max")
    session_minutes = factory.SelfAttribute("protocol.session_minutes")
    modality = factory.SelfAttribute("protocol.default_modality")
    created_by = factory.SubFactory(UserFactory)


class SessionFactory(factory.django.DjangoModelFactory):
    """A booked 45-minute session tomorrow, written straight to the table (no checks)."""

    class Meta:
        model = Session

    client = factory.SubFactory(ClientFactory)
    esthetician = factory.SubFactory(UserFactory, role=Role.ESTHETICIAN)
    room = factory.SubFactory(RoomFactory)
    device = factory.SubFactory(DeviceFactory)
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    end = factory.LazyAttribute(lambda s: s.start + timedelta(minutes=45))
    kind = Session.Kind.SINGLE
    status = Session.Status.BOOKED
    booked_by = factory.SelfAttribute("esthetician")


class ReminderFactory(factory.django.DjangoModelFactory):
    """A scheduled hydration prompt for a booked session, due now, written straight to
    the outbox (no planning service)."""

    class Meta:
        model = "sessions_app.Reminder"

    session = factory.SubFactory(SessionFactory)
    client = factory.SelfAttribute("session.client")
    kind = "hydration_before"
    due_at = factory.LazyFunction(timezone.now)
    status = "scheduled"
    key = factory.Sequence(lambda n: f"test-reminder:{n}")
