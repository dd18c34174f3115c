"""The pure rules behind plans: age on a day, age-band checks, and series placement."""

from datetime import date, timedelta

import pytest

from protocols.rules import Band, age_on, band_problems, spread_evenly, window_days

SEEDED = [Band("Under 35", 0, 34), Band("35 to 50", 35, 50), Band("Over 50", 51, None)]


# age_on ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        pytest.param(date(1992, 3, 10), date(2027, 3, 9), 34, id="day-before-35th-birthday"),
        pytest.param(date(1992, 3, 10), date(2027, 3, 10), 35, id="on-35th-birthday"),
        pytest.param(date(1992, 3, 10), date(2027, 3, 11), 35, id="day-after-35th-birthday"),
        pytest.param(date(1976, 3, 10), date(2027, 3, 9), 50, id="day-before-51st-birthday"),
        pytest.param(date(1976, 3, 10), date(2027, 3, 10), 51, id="on-51st-birthday"),
        pytest.param(date(1976, 12, 31), date(2027, 1, 1), 50, id="new-year-after-birthday"),
        pytest.param(date(2000, 1, 1), date(2000, 1, 1), 0, id="day-of-birth"),
    ],
)
def test_age_on_counts_whole_years(born, day, age):
    assert age_on(born, day) == age


@pytest.mark.parametrize(
    ("day", "age"),
    [
        pytest.param(date(2035, 2, 28), 34, id="28-feb-common-year"),
        pytest.param(date(2035, 3, 1), 35, id="1-mar-common-year"),
        pytest.param(date(2036, 2, 28), 35, id="28-feb-leap-year"),
        pytest.param(date(2036, 2, 29), 36, id="29-feb-leap-year"),
    ],
)
def test_age_on_for_a_29_february_birthday_comes_round_on_1_march_in_common_years(day, age):
    assert age_on(date(2000, 2, 29), day) == age


# band_problems ---------------------------------------------------------------------


def test_seeded_bands_have_no_problems():
    assert band_problems(SEEDED) == []


def test_bands_are_checked_in_age_order_whatever_order_they_come_in():
    assert band_problems(list(reversed(SEEDED))) == []


def test_overlapping_bands_are_a_problem():
    bands = [Band("Under 35", 0, 35), Band("35 to 50", 35, 50), Band("Over 50", 51, None)]

    assert band_problems(bands) == ["Under 35 and 35 to 50 overlap."]


def test_a_gap_between_bands_is_a_problem():
    bands = [Band("Under 35", 0, 33), Band("35 to 50", 35, 50), Band("Over 50", 51, None)]

    assert band_problems(bands) == ["No band covers ages 34 to 34 (between Under 35 and 35 to 50)."]


def test_a_gap_below_the_first_band_is_a_problem():
    bands = [Band("Under 35", 18, 34), *SEEDED[1:]]

    assert band_problems(bands) == ["No band covers ages 0 to 17."]


def test_a_closed_last_band_is_a_problem():
    bands = [*SEEDED[:2], Band("Over 50", 51, 90)]

    assert band_problems(bands) == ["No band covers ages above 90."]


def test_a_band_whose_maximum_is_below_its_minimum_is_a_problem():
    bands = [Band("Under 35", 0, 34), Band("35 to 50", 35, 30), Band("Over 50", 51, None)]

    assert "35 to 50: the maximum age is below the minimum age." in band_problems(bands)


def test_an_open_band_followed_by_another_is_a_problem():
    bands = [Band("Under 35", 0, 34), Band("35 and up", 35, None), Band("Over 50", 51, None)]

    assert "35 and up is open-ended but Over 50 starts after it." in band_problems(bands)


def test_no_bands_at_all_is_a_problem():
    assert band_problems([]) == ["There must be at least one age band."]


# spread_evenly ------------------------------------------------------------------------

DAYS = [date(2027, 3, 1) + timedelta(days=n) for n in range(14)]


@pytest.mark.parametrize("count", [1, 2, 5, 10, 14])
def test_spread_picks_the_count_asked_of_distinct_days_in_order(count):
    picked = spread_evenly(DAYS, count)

    assert len(picked) == count
    assert picked == sorted(set(picked))
    assert set(picked) <= set(DAYS)


def test_spread_uses_the_first_and_the_last_day():
    picked = spread_evenly(DAYS, 5)

    assert (picked[0], picked[-1]) == (DAYS[0], DAYS[-1])


def test_spread_steps_evenly_between_first_and_last():
    picked = spread_evenly(DAYS[:13], 5)  # 12 days apart, 4 steps of 3

    assert [(later - earlier).days for earlier, later in zip(picked, picked[1:], strict=False)] == [
        3,
        3,
        3,
        3,
    ]


def test_spread_of_more_sessions_than_days_is_refused():
    with pytest.raises(ValueError, match="15 sessions do not fit in 14 days"):
        spread_evenly(DAYS, 15)


def test_spread_of_no_sessions_is_empty():
    assert spread_evenly(DAYS, 0) == []


# window_days ----------------------------------------------------------------------------


def test_window_days_are_the_weekdays_asked_within_the_weeks():
    days = window_days(date(2027, 3, 1), 2, [0, 3])

    assert days == [date(2027, 3, 1), date(2027, 3, 4), date(2027, 3, 8), date(2027, 3, 11)]


def test_window_days_end_before_the_window_does():
    days = window_days(date(2027, 3, 1), 1, range(7))

    assert days[-1] == date(2027, 3, 7)
    assert len(days) == 7


def test_window_days_leave_out_closed_days():
    days = window_days(date(2027, 3, 1), 2, [0], closed=[date(2027, 3, 8)])

    assert days == [date(2027, 3, 1)]
