"""The contraindication rules as tables (SPEC, "Contraindication screening")."""

import itertools

import pytest

from clients.rules import (
    ClearanceFact,
    Condition,
    Outcome,
    eligibility_decide,
    screening_outcome,
)

# The screening's questions and the code a "yes" flags, in the order they are asked.
QUESTIONS = (
    ("pacemaker", "pacemaker"),
    ("pregnant", "pregnancy"),
    ("neurological_disorder", "neurological_disorder"),
    ("recent_surgery", "recent_surgery"),
    ("cancer_treatment", "cancer_treatment"),
    ("implanted_defibrillator", "implanted_defibrillator"),
)
ANSWER_NAMES = tuple(name for name, _ in QUESTIONS)
NO_SCREENING = "No screening on file."


def expected_outcome(answers):
    """The SPEC's rule, stated independently of clients.rules."""
    if answers["pacemaker"] or answers["pregnant"]:
        return "ineligible"
    clearable = ("neurological_disorder", "recent_surgery", "cancer_treatment")
    if any(answers[name] for name in clearable) or answers["implanted_defibrillator"]:
        return "needs_clearance"
    return "eligible"


def expected_flagged(answers):
    return [code for name, code in QUESTIONS if answers[name]]


def answers_with(*yes):
    return {name: name in yes for name in ANSWER_NAMES}


ALL_ANSWERS = [
    dict(zip(ANSWER_NAMES, combo, strict=True))
    for combo in itertools.product([False, True], repeat=len(ANSWER_NAMES))
]


def answers_id(answers):
    return "+".join(name for name, yes in answers.items() if yes) or "all-no"


def test_the_table_covers_all_64_combinations():
    assert len({tuple(a.values()) for a in ALL_ANSWERS}) == 64


@pytest.mark.parametrize("answers", ALL_ANSWERS, ids=answers_id)
def test_screening_outcome_follows_the_rule(answers):
    assert screening_outcome(answers).outcome == expected_outcome(answers)


@pytest.mark.parametrize("answers", ALL_ANSWERS, ids=answers_id)
def test_screening_flags_exactly_the_conditions_answered_yes(answers):
    assert [str(code) for code in screening_outcome(answers).flagged] == expected_flagged(answers)


@pytest.mark.parametrize("answers", ALL_ANSWERS, ids=answers_id)
def test_screening_gives_one_reason_per_flagged_condition(answers):
    result = screening_outcome(answers)
    assert len(result.reasons) == max(1, len(expected_flagged(answers)))
    assert len(set(result.reasons)) == len(result.reasons)


@pytest.mark.parametrize("answers", ALL_ANSWERS, ids=answers_id)
def test_screening_reasons_are_plain_sentences(answers):
    for reason in screening_outcome(answers).reasons:
        assert isinstance(reason, str)
        assert reason.strip()
        assert reason[0].isupper()
        assert reason.rstrip().endswith(".")


def test_pregnant_answer_is_flagged_as_pregnancy():
    result = screening_outcome(answers_with("pregnant"))
    assert result.flagged == [Condition.PREGNANCY]
    assert result.flagged[0] == "pregnancy"


def test_pacemaker_makes_client_ineligible():
    result = screening_outcome(answers_with("pacemaker"))
    assert result.outcome == Outcome.INELIGIBLE
    assert "pacemaker" in result.reasons[0].lower()


def test_pacemaker_outweighs_clearable_conditions():
    result = screening_outcome(answers_with("pacemaker", "recent_surgery"))
    assert result.outcome == Outcome.INELIGIBLE
    assert result.flagged == [Condition.PACEMAKER, Condition.RECENT_SURGERY]


@pytest.mark.parametrize("missing", ANSWER_NAMES)
def test_missing_answer_raises_key_error(missing):
    answers = answers_with()
    del answers[missing]
    with pytest.raises(KeyError, match=missing):
        screening_outcome(answers)


def clearance(*codes, physician="Dr. Ada Park"):
    return ClearanceFact(physician=physician, expires_on="Jan 1, 2026", conditions=frozenset(codes))


def test_no_screening_means_screening_required():
    decision = eligibility_decide(None, [], no_screening_reason=NO_SCREENING)
    assert decision.outcome == Outcome.SCREENING_REQUIRED
    assert decision.reasons == [NO_SCREENING]
    assert decision.missing_clearances == []


def test_no_screening_means_screening_required_even_with_clearances():
    decision = eligibility_decide(
        None, [clearance("recent_surgery")], no_screening_reason=NO_SCREENING
    )
    assert decision.outcome == Outcome.SCREENING_REQUIRED


def test_eligible_screening_needs_no_clearance():
    decision = eligibility_decide(
        screening_outcome(answers_with()), [], no_screening_reason=NO_SCREENING
    )
    assert decision.outcome == Outcome.ELIGIBLE
    assert decision.missing_clearances == []


@pytest.mark.parametrize(
    ("flagged", "clearances"),
    [
        (["recent_surgery"], [clearance("recent_surgery")]),
        (["neurological_disorder"], [clearance("neurological_disorder")]),
        (["cancer_treatment"], [clearance("cancer_treatment")]),
        (["implanted_defibrillator"], [clearance("implanted_defibrillator")]),
        (
            ["recent_surgery", "cancer_treatment"],
            [clearance("recent_surgery", "cancer_treatment")],
        ),
        (
            ["recent_surgery", "cancer_treatment"],
            [clearance("recent_surgery"), clearance("cancer_treatment")],
        ),
        (
            [
                "neurological_disorder",
                "recent_surgery",
                "cancer_treatment",
                "implanted_defibrillator",
            ],
            [
                clearance(
                    "neurological_disorder",
                    "recent_surgery",
                    "cancer_treatment",
                    "implanted_defibrillator",
                )
            ],
        ),
        (["recent_surgery"], [clearance("recent_surgery", "cancer_treatment")]),
    ],
    ids=["surgery", "neuro", "cancer", "defib", "one-covers-two", "two-cover-two", "all", "extra"],
)
def test_clearances_covering_every_flagged_condition_make_client_eligible(flagged, clearances):
    screening = screening_outcome(answers_with(*flagged))
    decision = eligibility_decide(screening, clearances, no_screening_reason=NO_SCREENING)
    assert decision.outcome == Outcome.ELIGIBLE
    assert decision.missing_clearances == []
    assert len(decision.reasons) == len(flagged)


def test_cleared_condition_reason_names_the_physician_and_expiry():
    screening = screening_outcome(answers_with("recent_surgery"))
    decision = eligibility_decide(
        screening,
        [clearance("recent_surgery", physician="Dr. Lee")],
        no_screening_reason=NO_SCREENING,
    )
    assert "Dr. Lee" in decision.reasons[0]
    assert "Jan 1, 2026" in decision.reasons[0]


@pytest.mark.parametrize(
    ("flagged", "clearances", "missing"),
    [
        (["recent_surgery"], [], ["recent_surgery"]),
        (["recent_surgery"], [clearance("cancer_treatment")], ["recent_surgery"]),
        (
            ["neurological_disorder", "recent_surgery", "cancer_treatment"],
            [clearance("recent_surgery")],
            ["neurological_disorder", "cancer_treatment"],
        ),
        (
            ["recent_surgery", "implanted_defibrillator"],
            [clearance("recent_surgery"), clearance("neurological_disorder")],
            ["implanted_defibrillator"],
        ),
        (
            [
                "neurological_disorder",
                "recent_surgery",
                "cancer_treatment",
                "implanted_defibrillator",
            ],
            [],
            [
                "neurological_disorder",
                "recent_surgery",
                "cancer_treatment",
                "implanted_defibrillator",
            ],
        ),
    ],
    ids=["none-filed", "wrong-condition", "one-of-three", "unrelated-extra", "all-four-missing"],
)
def test_partial_clearance_still_needs_clearance_for_the_missing_codes(
    flagged, clearances, missing
):
    screening = screening_outcome(answers_with(*flagged))
    decision = eligibility_decide(screening, clearances, no_screening_reason=NO_SCREENING)
    assert decision.outcome == Outcome.NEEDS_CLEARANCE
    assert [str(code) for code in decision.missing_clearances] == missing
    assert len(decision.reasons) == len(flagged)


EVERY_CLEARABLE = clearance(
    "neurological_disorder", "recent_surgery", "cancer_treatment", "implanted_defibrillator"
)


@pytest.mark.parametrize(
    "flagged",
    [
        ["pacemaker"],
        ["pregnant"],
        ["pacemaker", "pregnant"],
        ["pacemaker", "recent_surgery"],
        ["pregnant", "neurological_disorder", "implanted_defibrillator"],
    ],
    ids="+".join,
)
def test_ineligible_stays_ineligible_whatever_clearances_exist(flagged):
    screening = screening_outcome(answers_with(*flagged))
    # Even a (wrongly filed) clearance naming the never-treated codes changes nothing.
    clearances = [EVERY_CLEARABLE, clearance("pacemaker", "pregnancy")]
    decision = eligibility_decide(screening, clearances, no_screening_reason=NO_SCREENING)
    assert decision.outcome == Outcome.INELIGIBLE
    assert decision.reasons == screening.reasons
