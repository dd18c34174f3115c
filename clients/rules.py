"""Contraindication rules (SPEC, "Contraindication screening"), as pure functions.

No ORM here: plain values in, plain values out, so the rules are tested by tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NEEDS_CLEARANCE = "needs_clearance"
    INELIGIBLE = "ineligible"
    SCREENING_REQUIRED = "screening_required"


class Condition(StrEnum):
    PACEMAKER = "pacemaker"
    PREGNANCY = "pregnancy"
    NEUROLOGICAL_DISORDER = "neurological_disorder"
    RECENT_SURGERY = "recent_surgery"
    CANCER_TREATMENT = "cancer_treatment"
    IMPLANTED_DEFIBRILLATOR = "implanted_defibrillator"


# The screening's questions (answer field -> the condition a "yes" flags), in
# the order they are asked.
ANSWER_CONDITIONS: dict[str, Condition] = {
    "pacemaker": Condition.PACEMAKER,
    "pregnant": Condition.PREGNANCY,
    "neurological_disorder": Condition.NEUROLOGICAL_DISORDER,
    "recent_surgery": Condition.RECENT_SURGERY,
    "cancer_treatment": Condition.CANCER_TREATMENT,
    "implanted_defibrillator": Condition.IMPLANTED_DEFIBRILLATOR,
}
ANSWER_FIELDS: tuple[str, ...] = tuple(ANSWER_CONDITIONS)

# Never treated, whatever a doctor says.
NEVER_TREATED: frozenset[Condition] = frozenset({Condition.PACEMAKER, Condition.PREGNANCY})
# Treated only with a doctor's clearance on file for each.
CLEARABLE: tuple[Condition, ...] = tuple(c for c in Condition if c not in NEVER_TREATED)

# Plain code lists, for serializers and the API schema's enum names.
CONDITION_CODES: list[str] = [c.value for c in Condition]
CLEARABLE_CODES: list[str] = [c.value for c in CLEARABLE]

CONDITION_LABELS: dict[Condition, str] = {
    Condition.PACEMAKER: "Cardiac pacemaker",
    Condition.PREGNANCY: "Pregnancy",
    Condition.NEUROLOGICAL_DISORDER: "Neurological disorder (e.g. epilepsy)",
    Condition.RECENT_SURGERY: "Recent surgery",
    Condition.CANCER_TREATMENT: "Current or recent cancer treatment",
    Condition.IMPLANTED_DEFIBRILLATOR: "Implanted defibrillator",
}


def unanswered_message(answer_field: str) -> str:
    """Every answer is required (SPEC, "Contraindication screening"): a question left
    out is an error, never a "No". One wording for the API and the screening page."""
    label = CONDITION_LABELS[ANSWER_CONDITIONS[answer_field]].lower()
    return f"Answer the question about {label}: yes or no. A missing answer is never read as No."


# Staff read these (pages, the API, refusals), so they speak of the client in the third
# person (issue 13); a client never sees them.
REASONS: dict[Condition, str] = {
    Condition.PACEMAKER: (
        "The client has a cardiac pacemaker. Microcurrent can interfere with it, so the "
        "client cannot be treated."
    ),
    Condition.PREGNANCY: (
        "The client is pregnant. Microcurrent is not used during pregnancy, so the client "
        "cannot be treated."
    ),
    Condition.NEUROLOGICAL_DISORDER: (
        "The client has a neurological disorder such as epilepsy. A doctor's clearance is "
        "needed before treatment."
    ),
    Condition.RECENT_SURGERY: (
        "The client has had surgery recently. A doctor's clearance is needed before treatment."
    ),
    Condition.CANCER_TREATMENT: (
        "The client is having or recently had cancer treatment. A doctor's clearance is "
        "needed before treatment."
    ),
    Condition.IMPLANTED_DEFIBRILLATOR: (
        "The client has an implanted defibrillator. A doctor's clearance is needed before "
        "treatment."
    ),
}
ELIGIBLE_REASON = "No contraindications were reported: the client may be treated."
CLEARED_REASON = "{label}: cleared by {physician}, valid until {expires}."


@dataclass(frozen=True)
class ScreeningResult:
    outcome: Outcome
    reasons: list[str]
    flagged: list[Condition]


@dataclass(frozen=True)
class ClearanceFact:
    """What the eligibility rule needs to know of one unexpired clearance."""

    physician: str
    expires_on: str
    conditions: frozenset[str]


@dataclass(frozen=True)
class Eligibility:
    outcome: Outcome
    reasons: list[str]
    missing_clearances: list[Condition] = field(default_factory=list)


def screening_outcome(answers: Mapping[str, bool]) -> ScreeningResult:
    """Turn the six yes/no answers into an outcome, its reasons and the flagged codes.

    Pacemaker or pregnancy: ineligible. Otherwise any of the clearable
    conditions: needs clearance (one per condition). Otherwise eligible.
    """
    missing = [name for name in ANSWER_FIELDS if name not in answers]
    if missing:
        raise KeyError(f"Screening answers missing: {', '.join(missing)}")
    flagged = [cond for name, cond in ANSWER_CONDITIONS.items() if answers[name]]
    if any(cond in NEVER_TREATED for cond in flagged):
        outcome = Outcome.INELIGIBLE
    elif flagged:
        outcome = Outcome.NEEDS_CLEARANCE
    else:
        outcome = Outcome.ELIGIBLE
    reasons = [REASONS[cond] for cond in flagged] or [ELIGIBLE_REASON]
    return ScreeningResult(outcome=outcome, reasons=reasons, flagged=flagged)


def eligibility_decide(
    screening: ScreeningResult | None,
    clearances: Iterable[ClearanceFact],
    *,
    no_screening_reason: str,
) -> Eligibility:
    """Combine the current screening with the unexpired clearances.

    No current screening: screening required. Ineligible stays ineligible.
    Needs clearance becomes eligible once every flagged condition is covered by
    an unexpired clearance; otherwise the uncovered ones are listed as missing.
    """
    if screening is None:
        return Eligibility(Outcome.SCREENING_REQUIRED, [no_screening_reason])
    if screening.outcome != Outcome.NEEDS_CLEARANCE:
        return Eligibility(screening.outcome, list(screening.reasons))

    covering: dict[str, ClearanceFact] = {}
    for clearance in clearances:
        for code in clearance.conditions:
            covering.setdefault(code, clearance)
    reasons: list[str] = []
    missing: list[Condition] = []
    for cond in screening.flagged:
        clearance = covering.get(cond)
        if clearance is None:
            missing.append(cond)
            reasons.append(REASONS[cond])
        else:
            reasons.append(
                CLEARED_REASON.format(
                    label=CONDITION_LABELS[cond],
                    physician=clearance.physician,
                    expires=clearance.expires_on,
                )
            )
    if missing:
        return Eligibility(Outcome.NEEDS_CLEARANCE, reasons, missing)
    return Eligibility(Outcome.ELIGIBLE, reasons)
