"""Issue 10, "Every wait is bounded": the app refuses to start (a system check at Error
level) unless EMAIL_TIMEOUT and the dispatch task's time limits sit well under the
reclaim timeout."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from clinic.checks import reminder_waits_are_bounded

GOOD = {
    "EMAIL_TIMEOUT": 20,
    "REMINDER_TASK_SOFT_TIME_LIMIT": 90,
    "REMINDER_TASK_TIME_LIMIT": 120,
    "REMINDER_SENDING_TIMEOUT_SECONDS": 180,
    "REMINDER_DISPATCH_BUDGET_SECONDS": 45,
}


def errors(**changes) -> list[checks.CheckMessage]:
    with override_settings(**{**GOOD, **changes}):
        return [e for e in checks.run_checks(tags=["reminders"]) if e.level >= checks.ERROR]


def test_the_defaults_pass():
    assert reminder_waits_are_bounded() == []
    assert errors() == []


@pytest.mark.parametrize("value", [None, 0, -1, "20"])
def test_email_timeout_must_be_set_and_above_zero(value):
    found = errors(EMAIL_TIMEOUT=value)
    assert [e.id for e in found] == ["clinic.E101"]
    assert "EMAIL_TIMEOUT" in found[0].msg


@pytest.mark.parametrize(
    "name",
    [
        "REMINDER_TASK_SOFT_TIME_LIMIT",
        "REMINDER_TASK_TIME_LIMIT",
        "REMINDER_SENDING_TIMEOUT_SECONDS",
    ],
)
def test_each_limit_must_be_a_positive_number(name):
    found = errors(**{name: 0})
    assert [e.id for e in found] == ["clinic.E102"]
    assert name in found[0].msg


@pytest.mark.parametrize(
    "changes",
    [
        {"REMINDER_TASK_SOFT_TIME_LIMIT": 120},  # soft == hard
        {"REMINDER_TASK_SOFT_TIME_LIMIT": 130},  # soft above hard
        {
            "EMAIL_TIMEOUT": 50,
            "REMINDER_TASK_SOFT_TIME_LIMIT": 40,
            "REMINDER_DISPATCH_BUDGET_SECONDS": 30,
        },  # one wait outlasts it
    ],
)
def test_the_waits_must_nest(changes):
    found = errors(**changes)
    assert [e.id for e in found] == ["clinic.E103"]
    assert "REMINDER_TASK_SOFT_TIME_LIMIT" in found[0].msg
    assert "REMINDER_TASK_TIME_LIMIT" in found[0].msg


@pytest.mark.parametrize(
    "changes",
    [
        {"REMINDER_SENDING_TIMEOUT_SECONDS": 120},  # no margin at all
        {"REMINDER_SENDING_TIMEOUT_SECONDS": 139},  # less than one EMAIL_TIMEOUT of margin
        {
            "REMINDER_SENDING_TIMEOUT_SECONDS": 600,
            "REMINDER_TASK_TIME_LIMIT": 590,
            "REMINDER_TASK_SOFT_TIME_LIMIT": 500,
        },
    ],
)
def test_the_hard_limit_plus_one_email_wait_must_fit_under_the_reclaim_timeout(changes):
    found = errors(**changes)
    assert [e.id for e in found] == ["clinic.E104"]
    assert "REMINDER_SENDING_TIMEOUT_SECONDS" in found[0].msg
    assert "REMINDER_TASK_TIME_LIMIT" in found[0].msg


def test_the_app_refuses_to_start_with_unbounded_waits():
    with (
        override_settings(**{**GOOD, "EMAIL_TIMEOUT": None}),
        pytest.raises(SystemCheckError, match="EMAIL_TIMEOUT"),
    ):
        call_command("check")


@pytest.mark.parametrize("budget", [0, 90, 100])
def test_a_runs_time_budget_must_end_before_its_soft_limit(budget):
    found = errors(REMINDER_DISPATCH_BUDGET_SECONDS=budget)
    assert [e.id for e in found] == ["clinic.E105"]
    assert "REMINDER_TASK_SOFT_TIME_LIMIT" in found[0].msg
