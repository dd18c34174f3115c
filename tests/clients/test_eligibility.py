"""client_eligibility as the clock moves (SPEC, "Contraindication screening")."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from clients.selectors import client_eligibility
from clients.services import screening_record
from tests.factories import ClearanceFactory, screening_answers

pytestmark = pytest.mark.django_db

# A Monday afternoon in Los Angeles (17:00 UTC is 09:00 PST).
RECORDED = datetime(2025, 1, 6, 17, 0, tzinfo=UTC)
NINETY_DAYS = timedelta(days=90)
SECOND = timedelta(seconds=1)


def screen(client, by, *yes, at=RECORDED):
    """Record a screening with the clock at ``at``, as the front desk would."""
    with time_machine.travel(at, tick=False):
        return screening_record(client=client, answers=screening_answers(*yes), by=by)


def outcome_when(client, when):
    """The outcome with the clock moved to ``when`` (no ``at=`` passed)."""
    with time_machine.travel(when, tick=False):
        return client_eligibility(client=client).outcome


def test_client_with_no_screening_needs_one(a_client):
    result = client_eligibility(client=a_client, at=RECORDED)
    assert result.outcome == "screening_required"
    assert result.screening is None
    assert "No screening on file" in result.reasons[0]


def test_screening_is_recorded_at_the_current_clock(a_client, front_desk):
    screening = screen(a_client, front_desk)
    assert screening.recorded_at == RECORDED


def test_screening_is_current_right_after_it_is_taken(a_client, front_desk):
    screen(a_client, front_desk)
    assert outcome_when(a_client, RECORDED) == "eligible"


def test_screening_is_current_a_second_before_ninety_days(a_client, front_desk):
    screen(a_client, front_desk)
    assert outcome_when(a_client, RECORDED + NINETY_DAYS - SECOND) == "eligible"


def test_screening_lapses_at_exactly_ninety_days(a_client, front_desk):
    screen(a_client, front_desk)
    assert outcome_when(a_client, RECORDED + NINETY_DAYS) == "screening_required"


def test_screening_lapse_is_the_same_when_asked_with_at(a_client, front_desk):
    screen(a_client, front_desk)
    before = client_eligibility(client=a_client, at=RECORDED + NINETY_DAYS - SECOND)
    after = client_eligibility(client=a_client, at=RECORDED + NINETY_DAYS)
    assert (before.outcome, after.outcome) == ("eligible", "screening_required")


def test_current_screening_reports_when_it_stops_being_valid(a_client, front_desk):
    screening = screen(a_client, front_desk)
    result = client_eligibility(client=a_client, at=RECORDED + timedelta(days=10))
    assert result.screening == screening
    assert result.screening_valid_until == RECORDED + NINETY_DAYS


def test_lapsed_screening_reason_mentions_ninety_days(a_client, front_desk):
    screen(a_client, front_desk)
    result = client_eligibility(client=a_client, at=RECORDED + NINETY_DAYS)
    assert len(result.reasons) == 1
    assert "90 days" in result.reasons[0]
    assert "Jan 6, 2025" in result.reasons[0]


def test_shorter_screening_validity_setting_shortens_the_window(a_client, front_desk, settings):
    settings.SCREENING_VALID_DAYS = 30
    screen(a_client, front_desk)
    assert outcome_when(a_client, RECORDED + timedelta(days=30) - SECOND) == "eligible"
    assert outcome_when(a_client, RECORDED + timedelta(days=30)) == "screening_required"


def test_longer_screening_validity_setting_keeps_an_old_screening_current(
    a_client, front_desk, settings
):
    settings.SCREENING_VALID_DAYS = 180
    screen(a_client, front_desk)
    assert outcome_when(a_client, RECORDED + NINETY_DAYS) == "eligible"


def test_lapsed_screening_reason_follows_the_validity_setting(a_client, front_desk, settings):
    settings.SCREENING_VALID_DAYS = 30
    screen(a_client, front_desk)
    result = client_eligibility(client=a_client, at=RECORDED + timedelta(days=31))
    assert "30 days" in result.reasons[0]


def test_newer_screening_supersedes_the_older_one(a_client, front_desk):
    screen(a_client, front_desk, at=RECORDED)
    screen(a_client, front_desk, "pacemaker", at=RECORDED + timedelta(days=5))
    result = client_eligibility(client=a_client, at=RECORDED + timedelta(days=6))
    assert result.outcome == "ineligible"
    assert "pacemaker" in result.reasons[0].lower()


def test_newer_eligible_screening_supersedes_a_needs_clearance_one(a_client, front_desk):
    screen(a_client, front_desk, "recent_surgery", at=RECORDED)
    screen(a_client, front_desk, at=RECORDED + timedelta(days=5))
    assert outcome_when(a_client, RECORDED + timedelta(days=6)) == "eligible"


def test_newer_screening_restarts_the_ninety_days(a_client, front_desk):
    screen(a_client, front_desk, at=RECORDED)
    screen(a_client, front_desk, at=RECORDED + timedelta(days=60))
    assert outcome_when(a_client, RECORDED + NINETY_DAYS + SECOND) == "eligible"


def test_screening_taken_after_at_is_ignored(a_client, front_desk):
    screen(a_client, front_desk, at=RECORDED)
    screen(a_client, front_desk, "pacemaker", at=RECORDED + timedelta(days=5))
    result = client_eligibility(client=a_client, at=RECORDED + timedelta(days=1))
    assert result.outcome == "eligible"


def test_eligibility_screening_is_the_latest_taken(a_client, front_desk):
    screen(a_client, front_desk, at=RECORDED)
    newer = screen(a_client, front_desk, "recent_surgery", at=RECORDED + timedelta(days=5))
    current = client_eligibility(client=a_client, at=RECORDED + timedelta(days=7)).screening
    assert current == newer


def test_eligibility_screening_is_none_once_lapsed(a_client, front_desk):
    screen(a_client, front_desk, at=RECORDED)
    assert client_eligibility(client=a_client, at=RECORDED + NINETY_DAYS).screening is None


# Clearances ------------------------------------------------------------------

EXPIRES = date(2025, 3, 31)


def needs_surgery_clearance(client, by):
    return screen(client, by, "recent_surgery", at=datetime(2025, 3, 1, 17, 0, tzinfo=UTC))


def test_flagged_condition_without_clearance_needs_clearance(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    result = client_eligibility(client=a_client, at=datetime(2025, 3, 2, 17, 0, tzinfo=UTC))
    assert result.outcome == "needs_clearance"
    assert result.missing_clearances == ["recent_surgery"]


def test_clearance_for_the_flagged_condition_makes_client_eligible(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(
        client=a_client, issued_on=date(2025, 3, 1), expires_on=EXPIRES, physician="Dr. Lee"
    )
    result = client_eligibility(client=a_client, at=datetime(2025, 3, 2, 17, 0, tzinfo=UTC))
    assert result.outcome == "eligible"
    assert "Dr. Lee" in result.reasons[0]


def test_clearance_for_another_condition_does_not_count(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(
        client=a_client,
        issued_on=date(2025, 3, 1),
        expires_on=EXPIRES,
        conditions=["cancer_treatment"],
    )
    result = client_eligibility(client=a_client, at=datetime(2025, 3, 2, 17, 0, tzinfo=UTC))
    assert result.outcome == "needs_clearance"


def test_clearance_is_valid_on_its_expiry_day(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(client=a_client, issued_on=date(2025, 3, 1), expires_on=EXPIRES)
    # 23:59 on the expiry day in Los Angeles (PDT, UTC-7).
    assert outcome_when(a_client, datetime(2025, 4, 1, 6, 59, tzinfo=UTC)) == "eligible"


def test_clearance_is_expired_the_day_after(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(client=a_client, issued_on=date(2025, 3, 1), expires_on=EXPIRES)
    # Midnight after the expiry day in Los Angeles.
    result = client_eligibility(client=a_client, at=datetime(2025, 4, 1, 7, 0, tzinfo=UTC))
    assert result.outcome == "needs_clearance"
    assert result.missing_clearances == ["recent_surgery"]


def test_clearance_expiry_is_judged_in_clinic_time_not_utc(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(client=a_client, issued_on=date(2025, 3, 1), expires_on=EXPIRES)
    # Already April 1st in UTC, still the evening of March 31st in Los Angeles.
    evening = datetime(2025, 4, 1, 3, 0, tzinfo=UTC)
    assert evening.date() > EXPIRES
    assert client_eligibility(client=a_client, at=evening).outcome == "eligible"


def test_clearance_issued_after_at_does_not_count(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(client=a_client, issued_on=date(2025, 3, 10), expires_on=date(2026, 3, 10))
    result = client_eligibility(client=a_client, at=datetime(2025, 3, 9, 17, 0, tzinfo=UTC))
    assert result.outcome == "needs_clearance"


def test_clearance_counts_from_its_issue_day(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(client=a_client, issued_on=date(2025, 3, 10), expires_on=date(2026, 3, 10))
    # 00:30 on March 10th in Los Angeles (PDT since March 9th).
    assert outcome_when(a_client, datetime(2025, 3, 10, 7, 30, tzinfo=UTC)) == "eligible"


def test_clearance_does_not_revive_a_lapsed_screening(a_client, front_desk):
    needs_surgery_clearance(a_client, front_desk)
    ClearanceFactory(client=a_client, issued_on=date(2025, 3, 1), expires_on=date(2026, 3, 1))
    lapsed = datetime(2025, 3, 1, 17, 0, tzinfo=UTC) + NINETY_DAYS
    assert outcome_when(a_client, lapsed) == "screening_required"


def test_clearance_does_not_make_a_pregnant_client_eligible(a_client, front_desk):
    screen(a_client, front_desk, "pregnant", at=datetime(2025, 3, 1, 17, 0, tzinfo=UTC))
    ClearanceFactory(
        client=a_client,
        issued_on=date(2025, 3, 1),
        expires_on=EXPIRES,
        conditions=["pregnancy"],
    )
    result = client_eligibility(client=a_client, at=datetime(2025, 3, 2, 17, 0, tzinfo=UTC))
    assert result.outcome == "ineligible"


def test_each_flagged_condition_needs_its_own_clearance(a_client, front_desk):
    screen(
        a_client,
        front_desk,
        "neurological_disorder",
        "implanted_defibrillator",
        at=datetime(2025, 3, 1, 17, 0, tzinfo=UTC),
    )
    ClearanceFactory(
        client=a_client,
        issued_on=date(2025, 3, 1),
        expires_on=EXPIRES,
        conditions=["neurological_disorder"],
    )
    result = client_eligibility(client=a_client, at=datetime(2025, 3, 2, 17, 0, tzinfo=UTC))
    assert result.outcome == "needs_clearance"
    assert result.missing_clearances == ["implanted_defibrillator"]
    assert result.missing_clearance_labels == ["Implanted defibrillator"]
