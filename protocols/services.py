from datetime import date

from django.db import transaction

from clients.models import Client
from clinic.clinic_time import localdate
from clinic.errors import RuleViolation
from protocols.models import Plan, Protocol
from protocols.rules import Band, age_on, band_problems, protocol_number_problems

PROTOCOL_FIELDS = (
    "name",
    "min_age",
    "max_age",
    "sessions_min",
    "sessions_max",
    "weeks_min",
    "weeks_max",
    "session_minutes",
    "default_modality",
)
PROTOCOL_NUMBER_FIELDS = (
    "min_age",
    "max_age",
    "sessions_min",
    "sessions_max",
    "weeks_min",
    "weeks_max",
    "session_minutes",
)


def protocol_for_age(age: int) -> Protocol:
    for protocol in Protocol.objects.all():
        if protocol.min_age <= age and (protocol.max_age is None or age <= protocol.max_age):
            return protocol
    raise RuleViolation(f"No protocol covers age {age}. A manager must fix the age bands.")


def protocol_validate(protocol: Protocol) -> None:
    """The band's own numbers are within bounds and make sense (``protocols.rules``:
    session length, at least one session and one week, the most never below the
    fewest), and all bands together still cover every age once, with no gap and no
    overlap. Raises ``RuleViolation`` naming the first field at fault."""
    problems = protocol_number_problems(
        **{name: getattr(protocol, name) for name in PROTOCOL_NUMBER_FIELDS}
    )
    if problems:
        field, message = problems[0]
        raise RuleViolation(message, field=field)
    others = Protocol.objects.exclude(pk=protocol.pk)
    bands = [Band(p.name, p.min_age, p.max_age) for p in others]
    bands.append(Band(protocol.name, protocol.min_age, protocol.max_age))
    problems = band_problems(bands)
    if problems:
        raise RuleViolation(" ".join(problems), field="min_age")


@transaction.atomic
def protocol_update(*, protocol: Protocol, **fields) -> Protocol:
    """Edit an age band (see ``protocol_validate``). Plans already made keep the numbers
    they were made with."""
    for name, value in fields.items():
        if name in PROTOCOL_FIELDS:
            setattr(protocol, name, value)
    # Serialise edits to the bands, so two managers cannot open a gap between them.
    list(Protocol.objects.select_for_update().values_list("pk", flat=True))
    protocol_validate(protocol)
    protocol.full_clean()
    protocol.save()
    return protocol


def plan_build(*, client: Client, start_date: date, by) -> Plan:
    """An unsaved plan: the protocol follows the client's age on the start date, and
    its numbers are copied into the plan (SPEC, "Age-based treatment plans").

    Plans are saved by ``sessions_app.plans.plan_create``, which also keeps the rule
    that needs the plans' sessions: one active plan per client."""
    if start_date < localdate():
        raise RuleViolation("A plan cannot start in the past.", field="start_date")
    age = age_on(client.date_of_birth, start_date)
    protocol = protocol_for_age(age)
    return Plan(
        client=client,
        protocol=protocol,
        start_date=start_date,
        age_at_start=age,
        sessions_min=protocol.sessions_min,
        sessions_max=protocol.sessions_max,
        weeks_min=protocol.weeks_min,
        weeks_max=protocol.weeks_max,
        session_minutes=protocol.session_minutes,
        modality=protocol.default_modality,
        created_by=by,
    )


@transaction.atomic
def protocol_move_start(*, protocol: Protocol, min_age: int) -> Protocol:
    """Move the age at which a band starts, and with it the end of the band below, so
    the boundary they share moves in one step and no gap or overlap ever exists."""
    bands = list(Protocol.objects.select_for_update().order_by("min_age"))
    band = next(b for b in bands if b.pk == protocol.pk)
    below = next((b for b in bands if b.max_age == band.min_age - 1), None)
    if below is None:
        raise RuleViolation("The youngest band always starts at age 0.", field="min_age")
    band.min_age, below.max_age = min_age, min_age - 1
    problems = band_problems(Band(b.name, b.min_age, b.max_age) for b in bands)
    if min_age <= below.min_age:
        problems.insert(0, f"{below.name} would have no ages left.")
    if problems:
        raise RuleViolation(" ".join(problems), field="min_age")
    below.save(update_fields=["max_age"])
    band.save(update_fields=["min_age"])
    return band
