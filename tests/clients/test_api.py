"""The clients API (SPEC, "REST API"): the contract's field names, field errors on bad
input, 404 for unknown ids, search, pagination, uploads, token auth and flat query counts."""

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clients.models import Clearance, Client, Screening
from clinic.roles import Role
from tests.factories import (
    PASSWORD,
    ClearanceFactory,
    ClientFactory,
    ScreeningFactory,
    screening_answers,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NEW_CLIENT = {
    "first_name": "Bea",
    "last_name": "Quinn",
    "email": "bea.quinn@example.com",
    "phone": "+14155550134",
    "date_of_birth": "1980-03-02",
}
CLIENT_FIELDS = {"id", "first_name", "last_name", "email", "phone", "date_of_birth"}
MISSING_ID = 987654


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def client_url(action: str, pk: int) -> str:
    return reverse(f"client-{action}", args=[pk])


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


LETTER = {"physician": "Dr. Ada Park", "conditions": ["recent_surgery"]}


def a_clearance(**overrides) -> dict:
    return {**LETTER, "issued_on": days_ago(3), **overrides}


@pytest.fixture
def desk(api_as) -> APIClient:
    return api_as(Role.FRONT_DESK)


# Clients: register, read, list -------------------------------------------------------


def test_registering_a_client_answers_201_with_the_contract_fields(desk):
    response = desk.post(url("client-list"), NEW_CLIENT, format="json")
    assert response.status_code == 201
    assert response.data.keys() >= CLIENT_FIELDS
    assert {k: response.data[k] for k in NEW_CLIENT} == NEW_CLIENT
    assert Client.objects.get(pk=response.data["id"]).email == "bea.quinn@example.com"


def test_reading_a_client_answers_the_contract_fields(desk, a_client):
    response = desk.get(client_url("detail", a_client.pk))
    assert response.status_code == 200
    assert response.data["id"] == a_client.pk
    assert response.data["first_name"] == "Ana"
    assert response.data["last_name"] == "Lopez"
    assert response.data["email"] == "ana.lopez@example.com"
    assert response.data["date_of_birth"] == a_client.date_of_birth.isoformat()
    assert response.data["phone"] == str(a_client.phone)


def test_client_list_is_paginated_with_count_next_previous_results(desk):
    ClientFactory.create_batch(30)
    response = desk.get(url("client-list"))
    assert response.status_code == 200
    assert set(response.data) == {"count", "next", "previous", "results"}
    assert response.data["count"] == 30
    assert len(response.data["results"]) == 25
    assert response.data["previous"] is None
    assert "page=2" in response.data["next"]
    assert response.data["results"][0].keys() >= CLIENT_FIELDS


def test_client_list_last_page_has_no_next(desk):
    ClientFactory.create_batch(30)
    response = desk.get(url("client-list"), {"page": 2})
    assert response.status_code == 200
    assert len(response.data["results"]) == 5
    assert response.data["next"] is None
    assert response.data["previous"] is not None


@pytest.mark.parametrize("page_number", ["999", "0", "abc"])
def test_client_list_page_out_of_range_answers_404(desk, page_number):
    ClientFactory.create_batch(3)
    assert desk.get(url("client-list"), {"page": page_number}).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["lopez", "ANA", "ana lopez", "ana.lopez@example", "4155550199", "(415) 555-0199"],
    ids=["last-name", "first-name-any-case", "full-name", "email", "phone", "formatted-phone"],
)
def test_client_search_matches_name_email_and_phone(desk, query):
    ana = ClientFactory(
        first_name="Ana", last_name="Lopez", email="ana.lopez@example.com", phone="+14155550199"
    )
    ClientFactory(
        first_name="Bea", last_name="Quinn", email="bea@example.com", phone="+14155550100"
    )
    response = desk.get(url("client-list"), {"search": query})
    assert response.status_code == 200
    assert [c["id"] for c in response.data["results"]] == [ana.pk]


def test_client_search_without_match_answers_an_empty_page(desk, a_client):
    response = desk.get(url("client-list"), {"search": "Zebedee"})
    assert response.status_code == 200
    assert response.data["count"] == 0
    assert response.data["results"] == []


def test_client_search_with_a_nul_character_answers_200_not_500(desk, a_client):
    response = desk.get(url("client-list"), {"search": "lo\x00pez"})
    assert response.status_code == 200
    assert [c["id"] for c in response.data["results"]] == [a_client.pk]


def test_client_list_query_count_does_not_grow_with_clients(desk):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = desk.get(url("client-list"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    ClientFactory.create_batch(5)
    with_five = queries_for_list()
    ClientFactory.create_batch(45)
    assert queries_for_list() == with_five


def test_client_list_costs_at_most_three_queries(desk, django_assert_max_num_queries):
    ClientFactory.create_batch(50)
    with django_assert_max_num_queries(3):
        response = desk.get(url("client-list"))
    assert response.data["count"] == 50


# Clients: bad input ------------------------------------------------------------------


@pytest.mark.parametrize("field", ["first_name", "last_name", "email", "date_of_birth"])
def test_registering_without_a_required_field_names_it(desk, field):
    payload = {k: v for k, v in NEW_CLIENT.items() if k != field}
    response = desk.post(url("client-list"), payload, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert not Client.objects.exists()


def test_phone_is_optional(desk):
    payload = {k: v for k, v in NEW_CLIENT.items() if k != "phone"}
    response = desk.post(url("client-list"), payload, format="json")
    assert response.status_code == 201
    assert response.data["phone"] == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", ["Bea"]),
        ("last_name", {"name": "Quinn"}),
        ("email", 42),
        ("date_of_birth", 19800302),
        ("date_of_birth", "2nd of March"),
        ("date_of_birth", None),
    ],
)
def test_registering_with_a_wrong_type_names_the_field(desk, field, value):
    response = desk.post(url("client-list"), {**NEW_CLIENT, field: value}, format="json")
    assert response.status_code == 400
    assert field in response.data


def test_future_date_of_birth_is_refused(desk):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = desk.post(
        url("client-list"), {**NEW_CLIENT, "date_of_birth": tomorrow}, format="json"
    )
    assert response.status_code == 400
    assert "future" in str(response.data["date_of_birth"])


def test_date_of_birth_over_120_years_ago_is_refused(desk):
    too_old = timezone.localdate() - relativedelta(years=120, days=1)
    response = desk.post(
        url("client-list"), {**NEW_CLIENT, "date_of_birth": too_old.isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert "120 years" in str(response.data["date_of_birth"])


def test_date_of_birth_exactly_120_years_ago_is_accepted(desk):
    oldest = timezone.localdate() - relativedelta(years=120)
    response = desk.post(
        url("client-list"), {**NEW_CLIENT, "date_of_birth": oldest.isoformat()}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize("email", ["bea", "bea@", "bea@example", "@example.com", "b ea@ex.com"])
def test_malformed_email_is_refused(desk, email):
    response = desk.post(url("client-list"), {**NEW_CLIENT, "email": email}, format="json")
    assert response.status_code == 400
    assert "email" in response.data


@pytest.mark.parametrize("phone", ["not a phone", "123", "+1 415 555", "555-CALL-ME-NOW"])
def test_malformed_phone_is_refused(desk, phone):
    response = desk.post(url("client-list"), {**NEW_CLIENT, "phone": phone}, format="json")
    assert response.status_code == 400
    assert "phone" in response.data


def test_malformed_json_answers_400(desk):
    response = desk.post(
        url("client-list"), '{"first_name": "Bea",', content_type="application/json"
    )
    assert response.status_code == 400
    assert not Client.objects.exists()


def test_a_json_list_instead_of_an_object_answers_400(desk):
    response = desk.post(url("client-list"), [NEW_CLIENT], format="json")
    assert response.status_code == 400


# Clients: edit -----------------------------------------------------------------------


def test_patching_a_client_changes_only_the_fields_sent(desk, a_client):
    response = desk.patch(
        client_url("detail", a_client.pk), {"email": "ana@new.example.com"}, format="json"
    )
    assert response.status_code == 200
    assert response.data["email"] == "ana@new.example.com"
    a_client.refresh_from_db()
    assert a_client.email == "ana@new.example.com"
    assert a_client.first_name == "Ana"


def test_patching_a_client_keeps_the_history_of_who_changed_what(desk, front_desk, a_client):
    desk.patch(client_url("detail", a_client.pk), {"email": "ana@new.example.com"}, format="json")
    history = list(a_client.history.order_by("history_id"))
    assert [h.email for h in history] == ["ana.lopez@example.com", "ana@new.example.com"]
    assert history[-1].history_type == "~"
    assert history[-1].history_user == front_desk


def test_registering_a_client_records_who_registered_them(desk, front_desk):
    response = desk.post(url("client-list"), NEW_CLIENT, format="json")
    record = Client.objects.get(pk=response.data["id"]).history.get()
    assert record.history_type == "+"
    assert record.history_user == front_desk


def test_patching_a_future_date_of_birth_is_refused_and_changes_nothing(desk, a_client):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = desk.patch(
        client_url("detail", a_client.pk), {"date_of_birth": tomorrow}, format="json"
    )
    assert response.status_code == 400
    assert "date_of_birth" in response.data
    assert a_client.history.count() == 1


def test_putting_a_whole_client_replaces_the_details(desk, a_client):
    response = desk.put(client_url("detail", a_client.pk), NEW_CLIENT, format="json")
    assert response.status_code == 200
    a_client.refresh_from_db()
    assert (a_client.first_name, a_client.last_name) == ("Bea", "Quinn")


# 404 for unknown ids, on every endpoint -----------------------------------------------


@pytest.mark.parametrize(
    ("method", "action", "payload"),
    [
        ("get", "detail", None),
        ("patch", "detail", {"first_name": "X"}),
        ("put", "detail", NEW_CLIENT),
        ("get", "eligibility", None),
        ("get", "screenings", None),
        ("post", "screenings", screening_answers()),
        ("get", "clearances", None),
        ("post", "clearances", {**LETTER, "issued_on": "2026-01-05"}),
    ],
)
def test_unknown_client_answers_404(api_as, method, action, payload):
    api = api_as(Role.MANAGER)
    response = getattr(api, method)(client_url(action, MISSING_ID), payload, format="json")
    assert response.status_code == 404
    assert not Screening.objects.exists()
    assert not Clearance.objects.exists()


def test_non_numeric_client_id_answers_404(desk):
    assert desk.get("/api/clients/abc/").status_code == 404


def test_unknown_clearance_document_answers_404(desk):
    assert desk.get(url("api-clearance-document", MISSING_ID)).status_code == 404


# Screening ---------------------------------------------------------------------------


def test_screening_with_no_conditions_answers_eligible(desk, a_client):
    response = desk.post(client_url("screenings", a_client.pk), screening_answers(), format="json")
    assert response.status_code == 201
    assert response.data["outcome"] == "eligible"
    assert response.data["flagged"] == []
    assert isinstance(response.data["reasons"], list)
    assert response.data["reasons"]


@pytest.mark.parametrize(
    ("answer", "outcome", "flagged"),
    [
        ("pacemaker", "ineligible", ["pacemaker"]),
        ("pregnant", "ineligible", ["pregnancy"]),
        ("neurological_disorder", "needs_clearance", ["neurological_disorder"]),
        ("recent_surgery", "needs_clearance", ["recent_surgery"]),
        ("cancer_treatment", "needs_clearance", ["cancer_treatment"]),
        ("implanted_defibrillator", "needs_clearance", ["implanted_defibrillator"]),
    ],
)
def test_screening_answers_outcome_reasons_and_flagged_codes(
    desk, a_client, answer, outcome, flagged
):
    response = desk.post(
        client_url("screenings", a_client.pk), screening_answers(answer), format="json"
    )
    assert response.status_code == 201
    assert response.data["outcome"] == outcome
    assert response.data["flagged"] == flagged
    assert all(reason.endswith(".") for reason in response.data["reasons"])
    assert len(response.data["reasons"]) == 1


@pytest.mark.parametrize("value", ["maybe", 1, 0, None, "yes", [], "1"])
def test_screening_answer_that_is_not_a_boolean_is_refused(desk, a_client, value):
    answers = {**screening_answers(), "pacemaker": value}
    response = desk.post(client_url("screenings", a_client.pk), answers, format="json")
    assert response.status_code == 400
    assert "pacemaker" in response.data
    assert not Screening.objects.exists()


@pytest.mark.parametrize("question", list(screening_answers()))
def test_screening_with_an_unanswered_question_names_it(desk, a_client, question):
    answers = {k: v for k, v in screening_answers().items() if k != question}
    response = desk.post(client_url("screenings", a_client.pk), answers, format="json")
    assert response.status_code == 400
    assert question in response.data


def test_screening_list_shows_the_newest_first(desk, a_client):
    old = ScreeningFactory(client=a_client, recorded_at=timezone.now() - timedelta(days=30))
    new = ScreeningFactory(client=a_client)
    response = desk.get(client_url("screenings", a_client.pk))
    assert response.status_code == 200
    assert [s["id"] for s in response.data] == [new.pk, old.pk]
    assert {"outcome", "reasons", "flagged"} <= response.data[0].keys()


# Eligibility -------------------------------------------------------------------------


def test_eligibility_without_a_screening_is_screening_required(desk, a_client):
    response = desk.get(client_url("eligibility", a_client.pk))
    assert response.status_code == 200
    assert response.data["outcome"] == "screening_required"
    assert response.data["reasons"]
    assert response.data["missing_clearances"] == []


def test_eligibility_after_a_stale_screening_is_screening_required(desk, a_client):
    ScreeningFactory(client=a_client, recorded_at=timezone.now() - timedelta(days=91))
    response = desk.get(client_url("eligibility", a_client.pk))
    assert response.data["outcome"] == "screening_required"


def test_eligibility_names_the_missing_clearances(desk, a_client):
    desk.post(
        client_url("screenings", a_client.pk),
        screening_answers("recent_surgery", "cancer_treatment"),
        format="json",
    )
    response = desk.get(client_url("eligibility", a_client.pk))
    assert response.status_code == 200
    assert response.data["outcome"] == "needs_clearance"
    assert response.data["missing_clearances"] == ["recent_surgery", "cancer_treatment"]
    assert response.data["reasons"]


def test_recording_the_clearance_makes_the_client_eligible(desk, a_client):
    desk.post(
        client_url("screenings", a_client.pk), screening_answers("recent_surgery"), format="json"
    )
    desk.post(client_url("clearances", a_client.pk), a_clearance(), format="json")
    response = desk.get(client_url("eligibility", a_client.pk))
    assert response.data["outcome"] == "eligible"
    assert response.data["missing_clearances"] == []


def test_eligibility_of_an_ineligible_client_gives_the_reason(desk, a_client):
    desk.post(client_url("screenings", a_client.pk), screening_answers("pregnant"), format="json")
    response = desk.get(client_url("eligibility", a_client.pk))
    assert response.data["outcome"] == "ineligible"
    assert any("pregnant" in reason for reason in response.data["reasons"])


# Clearances --------------------------------------------------------------------------


def test_recording_a_clearance_answers_201_with_the_contract_fields(desk, a_client):
    payload = a_clearance(
        expires_on=days_ago(-100), conditions=["neurological_disorder", "recent_surgery"]
    )
    response = desk.post(client_url("clearances", a_client.pk), payload, format="json")
    assert response.status_code == 201
    assert response.data["physician"] == "Dr. Ada Park"
    assert response.data["issued_on"] == payload["issued_on"]
    assert response.data["expires_on"] == payload["expires_on"]
    assert response.data["conditions"] == ["neurological_disorder", "recent_surgery"]
    assert response.data["document_url"] is None
    assert Clearance.objects.get(pk=response.data["id"]).client == a_client


def test_clearance_expiry_defaults_to_twelve_months_after_issue(desk, a_client):
    issued = timezone.localdate() - timedelta(days=3)
    response = desk.post(
        client_url("clearances", a_client.pk),
        a_clearance(issued_on=issued.isoformat()),
        format="json",
    )
    assert response.status_code == 201
    assert response.data["expires_on"] == (issued + relativedelta(months=12)).isoformat()


def test_clearance_issued_on_a_leap_day_expires_on_the_last_day_of_february(desk, a_client):
    response = desk.post(
        client_url("clearances", a_client.pk), a_clearance(issued_on="2024-02-29"), format="json"
    )
    assert response.status_code == 201
    assert response.data["expires_on"] == "2025-02-28"


def test_clearance_expiry_default_follows_the_setting(desk, a_client, settings):
    settings.CLEARANCE_VALID_MONTHS = 6
    issued = timezone.localdate() - timedelta(days=3)
    response = desk.post(
        client_url("clearances", a_client.pk),
        a_clearance(issued_on=issued.isoformat()),
        format="json",
    )
    assert response.data["expires_on"] == (issued + relativedelta(months=6)).isoformat()


def test_clearance_list_shows_the_clients_clearances(desk, a_client):
    mine = ClearanceFactory(client=a_client)
    ClearanceFactory()
    response = desk.get(client_url("clearances", a_client.pk))
    assert response.status_code == 200
    assert [c["id"] for c in response.data] == [mine.pk]


@pytest.mark.parametrize("conditions", [["flu"], ["recent_surgery", "flu"], "recent_surgery", []])
def test_clearance_with_unknown_or_no_conditions_is_refused(desk, a_client, conditions):
    response = desk.post(
        client_url("clearances", a_client.pk), a_clearance(conditions=conditions), format="json"
    )
    assert response.status_code == 400
    assert "conditions" in response.data
    assert not Clearance.objects.exists()


@pytest.mark.parametrize("condition", ["pacemaker", "pregnancy"])
def test_pacemaker_and_pregnancy_cannot_be_cleared(desk, a_client, condition):
    response = desk.post(
        client_url("clearances", a_client.pk),
        a_clearance(conditions=["recent_surgery", condition]),
        format="json",
    )
    assert response.status_code == 400
    message = " ".join(response.data["conditions"])
    assert "cannot" in message
    assert condition in message.lower()
    assert not Clearance.objects.exists()


@pytest.mark.parametrize("field", ["physician", "issued_on", "conditions"])
def test_clearance_without_a_required_field_names_it(desk, a_client, field):
    payload = {k: v for k, v in a_clearance().items() if k != field}
    response = desk.post(client_url("clearances", a_client.pk), payload, format="json")
    assert response.status_code == 400
    assert field in response.data


@pytest.mark.parametrize(
    ("field", "value"),
    [("issued_on", "yesterday"), ("expires_on", "soon"), ("physician", ["Dr. Park"])],
)
def test_clearance_with_a_wrong_type_names_the_field(desk, a_client, field, value):
    response = desk.post(
        client_url("clearances", a_client.pk), a_clearance(**{field: value}), format="json"
    )
    assert response.status_code == 400
    assert field in response.data


def test_clearance_issued_in_the_future_is_refused(desk, a_client):
    response = desk.post(
        client_url("clearances", a_client.pk), a_clearance(issued_on=days_ago(-1)), format="json"
    )
    assert response.status_code == 400
    assert "future" in str(response.data["issued_on"])


def test_clearance_expiring_before_it_was_issued_is_refused(desk, a_client):
    response = desk.post(
        client_url("clearances", a_client.pk),
        a_clearance(issued_on=days_ago(3), expires_on=days_ago(4)),
        format="json",
    )
    assert response.status_code == 400
    assert "expires_on" in response.data


# Clearance documents -----------------------------------------------------------------


def upload(api, client, name="letter.pdf", content=PDF, content_type="application/pdf"):
    payload = {
        **a_clearance(),
        "document": SimpleUploadedFile(name, content, content_type=content_type),
    }
    return api.post(client_url("clearances", client.pk), payload, format="multipart")


def test_uploading_a_pdf_clearance_answers_its_document_url(desk, a_client):
    response = upload(desk, a_client)
    assert response.status_code == 201
    assert response.data["conditions"] == ["recent_surgery"]
    assert response.data["document_url"].endswith(
        url("api-clearance-document", response.data["id"])
    )


def test_multipart_clearance_takes_several_conditions(desk, a_client):
    payload = {
        **a_clearance(conditions=["recent_surgery", "cancer_treatment"]),
        "document": SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
    }
    response = desk.post(client_url("clearances", a_client.pk), payload, format="multipart")
    assert response.status_code == 201
    assert response.data["conditions"] == ["recent_surgery", "cancer_treatment"]


@pytest.mark.parametrize("role", list(Role))
def test_staff_download_the_clearance_document_as_pdf(api_as, desk, a_client, role):
    clearance_id = upload(desk, a_client).data["id"]
    response = api_as(role).get(url("api-clearance-document", clearance_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_anonymous_cannot_download_a_clearance_document(api, desk, a_client):
    clearance_id = upload(desk, a_client).data["id"]
    response = api.get(url("api-clearance-document", clearance_id))
    assert response.status_code in (401, 403)
    assert not getattr(response, "streaming", False)


def test_clearance_without_a_document_answers_404_for_its_document(desk, a_client):
    clearance = ClearanceFactory(client=a_client)
    assert desk.get(url("api-clearance-document", clearance.pk)).status_code == 404


def test_text_file_named_pdf_is_refused_as_document(desk, a_client):
    response = upload(desk, a_client, content=b"just some text, not a letter\n")
    assert response.status_code == 400
    assert "document" in response.data
    assert not Clearance.objects.exists()


def test_document_larger_than_the_limit_is_refused(desk, a_client, settings):
    settings.CLEARANCE_DOCUMENT_MAX_MB = 1
    response = upload(desk, a_client, content=PDF + b"0" * (1024 * 1024))
    assert response.status_code == 400
    assert "document" in response.data


def test_clearance_document_missing_from_storage_answers_404(desk, a_client, settings):
    clearance_id = upload(desk, a_client).data["id"]
    Clearance.objects.get(pk=clearance_id).document.delete(save=False)
    assert desk.get(url("api-clearance-document", clearance_id)).status_code == 404


# Token auth --------------------------------------------------------------------------


def test_token_endpoint_answers_a_token_for_a_right_password(api, front_desk):
    response = api.post(url("api-token"), {"username": "fd", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert set(response.data) == {"token", "expiry"}
    assert response.data["token"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "fd", "password": "wrong-password"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "fd"},
        {},
    ],
    ids=["wrong-password", "unknown-user", "no-password", "nothing"],
)
def test_token_endpoint_refuses_bad_credentials_with_400(api, front_desk, credentials):
    response = api.post(url("api-token"), credentials, format="json")
    assert response.status_code == 400
    assert "token" not in response.data


def test_token_authorizes_api_calls(api, front_desk, a_client):
    token = api.post(
        url("api-token"), {"username": "fd", "password": PASSWORD}, format="json"
    ).data["token"]
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = caller.get(client_url("detail", a_client.pk))
    assert response.status_code == 200
    assert response.data["id"] == a_client.pk


def test_a_made_up_token_answers_401(a_client):
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert caller.get(client_url("detail", a_client.pk)).status_code == 401


def test_anonymous_api_call_answers_401(api, a_client):
    response = api.get(url("client-list"))
    assert response.status_code == 401
