"""Start-up checks (``manage.py check``, and every ``runserver``/``migrate``/worker start).

Issue 10, "Every wait is bounded": a row in ``sending`` is taken up again after
``REMINDER_SENDING_TIMEOUT_SECONDS`` on the presumption that its worker is dead. That is
only true if a live worker can never wait that long: every mail-server wait is bounded by
``EMAIL_TIMEOUT`` and the whole dispatch task by its soft and hard time limits, and the
hard limit plus one mail-server wait still fits under the reclaim timeout. Settings that
break this would let two workers send the same email, so the app refuses to start.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

SETTINGS_HINT = "Set them in the environment (see the Settings table in the README)."


def _number(name: str) -> float | None:
    value = getattr(settings, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


@register("reminders")
def reminder_waits_are_bounded(app_configs=None, **kwargs) -> list[Error]:
    """EMAIL_TIMEOUT set and > 0, and EMAIL_TIMEOUT < soft limit < hard limit, with the
    hard limit plus one EMAIL_TIMEOUT under REMINDER_SENDING_TIMEOUT_SECONDS; a dispatch
    run's time budget under the soft limit."""
    email = _number("EMAIL_TIMEOUT")
    soft = _number("REMINDER_TASK_SOFT_TIME_LIMIT")
    hard = _number("REMINDER_TASK_TIME_LIMIT")
    reclaim = _number("REMINDER_SENDING_TIMEOUT_SECONDS")
    errors = []
    if email is None or email <= 0:
        errors.append(
            Error(
                f"EMAIL_TIMEOUT must be a number of seconds above 0 (it is {email!r}): "
                "without it a stalled mail server holds a worker, and its claimed "
                "reminders, for ever.",
                hint=SETTINGS_HINT,
                id="clinic.E101",
            )
        )
    for name, value in (
        ("REMINDER_TASK_SOFT_TIME_LIMIT", soft),
        ("REMINDER_TASK_TIME_LIMIT", hard),
        ("REMINDER_SENDING_TIMEOUT_SECONDS", reclaim),
    ):
        if value is None or value <= 0:
            errors.append(
                Error(
                    f"{name} must be a number of seconds above 0 (it is {value!r}).",
                    hint=SETTINGS_HINT,
                    id="clinic.E102",
                )
            )
    if errors:
        return errors
    if not email < soft < hard:
        errors.append(
            Error(
                "The reminder waits must nest: EMAIL_TIMEOUT "
                f"({email:g} s) < REMINDER_TASK_SOFT_TIME_LIMIT ({soft:g} s) < "
                f"REMINDER_TASK_TIME_LIMIT ({hard:g} s).",
                hint=SETTINGS_HINT,
                id="clinic.E103",
            )
        )
    if hard + email > reclaim:
        errors.append(
            Error(
                "REMINDER_SENDING_TIMEOUT_SECONDS "
                f"({reclaim:g} s) must exceed REMINDER_TASK_TIME_LIMIT ({hard:g} s) by at "
                f"least EMAIL_TIMEOUT ({email:g} s): otherwise a live worker's rows can be "
                "taken up again by another worker and sent twice.",
                hint=SETTINGS_HINT,
                id="clinic.E104",
            )
        )
    budget = _number("REMINDER_DISPATCH_BUDGET_SECONDS")
    if budget is not None and not 0 < budget < soft:
        errors.append(
            Error(
                f"REMINDER_DISPATCH_BUDGET_SECONDS ({budget:g} s) must be above 0 and under "
                f"REMINDER_TASK_SOFT_TIME_LIMIT ({soft:g} s): a run should hand over to the "
                "next one before its time limit stops it.",
                hint=SETTINGS_HINT,
                id="clinic.E105",
            )
        )
    return errors
