"""Every screening answer is required, whatever the content type (SPEC, "Contraindication
screening": a missing answer is an error, never a "No"; issue 9, rule 5).

DRF reads a boolean missing from a form-encoded or multipart body as False; a screening
posted that way with its answers left out used to come out "eligible"."""

from urllib.parse import urlencode

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from clients.models import Screening
from clients.rules import ANSWER_FIELDS, unanswered_message
from clinic.roles import Role
from tests.factories import screening_answers

pytestmark = pytest.mark.django_db

CONTENT_TYPES = ["json", "form", "multipart"]


@pytest.fixture
def desk(api_as) -> APIClient:
    return api_as(Role.FRONT_DESK)


def post_screening(api: APIClient, client_pk: int, answers: dict, content: str):
    """POST the answers as JSON, form-encoded or multipart, the way a client would."""
    url = reverse("client-screenings", args=[client_pk])
    if content == "json":
        return api.post(url, answers, format="json")
    # Form bodies carry text: "true" / "false", as DRF's browsable form sends them.
    body = {name: str(value).lower() for name, value in answers.items()}
    if content == "form":
        return api.post(url, urlencode(body), content_type="application/x-www-form-urlencoded")
    return api.post(url, body, format="multipart")


@pytest.mark.parametrize("content", CONTENT_TYPES)
@pytest.mark.parametrize("question", ANSWER_FIELDS)
def test_a_missing_answer_is_a_400_naming_the_question(desk, a_client, content, question):
    answers = {k: v for k, v in screening_answers().items() if k != question}

    response = post_screening(desk, a_client.pk, answers, content)

    assert response.status_code == 400, response.content
    assert list(response.json()) == [question]
    assert "never read as No" in response.json()[question][0]
    assert not Screening.objects.exists()


@pytest.mark.parametrize("content", CONTENT_TYPES)
def test_a_screening_with_no_answers_names_every_question(desk, a_client, content):
    response = post_screening(desk, a_client.pk, {}, content)

    assert response.status_code == 400
    assert set(response.json()) == set(ANSWER_FIELDS)
    assert not Screening.objects.exists()


@pytest.mark.parametrize("content", ["form", "multipart"])
@pytest.mark.parametrize("value", ["", "on", "yes", "1", "0"])
def test_a_form_answer_that_is_not_true_or_false_is_refused(desk, a_client, content, value):
    answers = {**{k: str(v).lower() for k, v in screening_answers().items()}, "pregnant": value}

    response = post_screening(desk, a_client.pk, answers, content)

    assert response.status_code == 400
    assert list(response.json()) == ["pregnant"]
    assert not Screening.objects.exists()


@pytest.mark.parametrize("content", CONTENT_TYPES)
def test_every_answer_given_is_recorded_in_every_content_type(desk, a_client, content):
    response = post_screening(desk, a_client.pk, screening_answers("pregnant"), content)

    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "ineligible"
    screening = Screening.objects.get(client=a_client)
    assert screening.pregnant is True
    assert screening.pacemaker is False


@pytest.mark.parametrize("content", CONTENT_TYPES)
def test_every_answer_no_is_eligible_in_every_content_type(desk, a_client, content):
    response = post_screening(desk, a_client.pk, screening_answers(), content)

    assert response.status_code == 201, response.content
    assert Screening.objects.get(client=a_client).outcome == "eligible"


# The page -------------------------------------------------------------------------------
NO = {name: "no" for name in ANSWER_FIELDS}


@pytest.mark.parametrize("question", ANSWER_FIELDS)
def test_the_screening_page_refuses_a_missing_answer_beside_the_question(
    page_as, a_client, question
):
    answers = {k: v for k, v in NO.items() if k != question}

    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:screening", args=[a_client.pk]), answers
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [question]
    assert "never read as No" in response.context["form"].errors[question][0]
    assert not Screening.objects.exists()


def test_the_screening_page_asks_with_yes_no_radios_and_no_default(page_as, a_client):
    response = page_as(Role.FRONT_DESK).get(reverse("clients:screening", args=[a_client.pk]))

    body = response.content.decode()
    for name in ANSWER_FIELDS:
        # Two radios a question, neither ticked: an unticked box would be a silent "No".
        assert body.count(f'name="{name}"') == 2
        assert f'name="{name}" value="yes"' in body
        assert f'name="{name}" value="no"' in body
    assert 'type="checkbox"' not in body
    assert " checked" not in body


@pytest.mark.parametrize("value", ["", "on", "maybe"])
def test_the_screening_page_refuses_an_answer_that_is_not_yes_or_no(page_as, a_client, value):
    response = page_as(Role.FRONT_DESK).post(
        reverse("clients:screening", args=[a_client.pk]), {**NO, "pacemaker": value}
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["pacemaker"]
    assert not Screening.objects.exists()


# The schema -----------------------------------------------------------------------------
def test_the_schema_says_every_answer_is_required_in_every_content_type(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    body = schema["paths"]["/api/clients/{id}/screenings/"]["post"]["requestBody"]
    assert set(body["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    for media in body["content"].values():
        name = media["schema"]["$ref"].rsplit("/", 1)[-1]
        component = schema["components"]["schemas"][name]
        assert set(component["required"]) == set(ANSWER_FIELDS)
        assert all(component["properties"][q] == {"type": "boolean"} for q in ANSWER_FIELDS)


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("pacemaker", "cardiac pacemaker"),
        ("pregnant", "pregnancy"),
        ("neurological_disorder", "neurological disorder (e.g. epilepsy)"),
        ("recent_surgery", "recent surgery"),
        ("cancer_treatment", "current or recent cancer treatment"),
        ("implanted_defibrillator", "implanted defibrillator"),
    ],
)
def test_the_message_names_the_question_in_plain_words(question, words):
    assert unanswered_message(question) == (
        f"Answer the question about {words}: yes or no. A missing answer is never read as No."
    )
