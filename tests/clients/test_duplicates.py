"""No duplicates by accident (issue 13, item 6): registering a client with the same email
(any case), or the same name (any case) and date of birth, as one on file shows that
client and asks first; the API answers 409 naming them unless ``confirm_duplicate_of``
lists them; a double submit never registers two. Editing a client so that their details
become another's asks the same way, on the page and the API (PUT and PATCH)."""

import threading
from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from clients.models import Client
from clients.services import DuplicateClient, client_create, client_update
from clinic.roles import Role
from sessions_app.client_data import client_erase
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

BORN = date(1985, 6, 15)


@pytest.fixture
def ana(db):
    # An id that could not be mistaken for anything else in a message.
    return ClientFactory(
        pk=4242,
        first_name="Ana",
        last_name="Lopez",
        email="ana.lopez@example.com",
        date_of_birth=BORN,
    )


def details(**overrides) -> dict:
    values = {
        "first_name": "Maria",
        "last_name": "Perez",
        "email": "maria@example.com",
        "date_of_birth": date(1990, 1, 2),
    }
    return {**values, **overrides}


# The service ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "matched_on"),
    [
        ({"email": "ANA.Lopez@Example.COM"}, ["email"]),
        (
            {"first_name": "ana", "last_name": "LOPEZ ", "date_of_birth": BORN},
            ["name_and_date_of_birth"],
        ),
        (
            {
                "first_name": "Ana",
                "last_name": "Lopez",
                "date_of_birth": BORN,
                "email": "ana.lopez@example.com",
            },
            ["email", "name_and_date_of_birth"],
        ),
    ],
)
def test_a_client_on_file_is_named_and_nothing_is_registered(ana, front_desk, typed, matched_on):
    with pytest.raises(DuplicateClient) as found:
        client_create(by=front_desk, **details(**typed))
    [duplicate] = found.value.duplicates
    assert (duplicate.client, duplicate.matched_on) == (ana, matched_on)
    assert "Ana Lopez, born Jun 15, 1985" in found.value.message
    assert "4242" not in found.value.message  # no internal ids in words
    assert Client.objects.count() == 1


@pytest.mark.parametrize(
    "typed",
    [
        {"first_name": "Ana", "last_name": "Lopez", "date_of_birth": date(1985, 6, 16)},
        {"first_name": "Ana", "last_name": "Lopes", "date_of_birth": BORN},
        {"email": "ana.lopez@example.org"},
    ],
)
def test_someone_else_is_registered_without_a_question(ana, front_desk, typed):
    client_create(by=front_desk, **details(**typed))
    assert Client.objects.count() == 2


def test_confirming_the_clients_shown_registers_another(ana, front_desk):
    twin = client_create(
        by=front_desk,
        confirm_duplicate_of=[ana.pk],
        **details(first_name="Ana", last_name="Lopez", date_of_birth=BORN),
    )
    assert twin.pk != ana.pk
    assert Client.objects.count() == 2
    assert twin.history.get().history_user == front_desk


def test_a_confirmation_sent_twice_registers_one(ana, front_desk):
    """The second press of "Register anyway" finds the client the first registered, which
    it did not confirm: asked again, nothing registered."""
    typed = details(first_name="Ana", last_name="Lopez", date_of_birth=BORN)
    first = client_create(by=front_desk, confirm_duplicate_of=[ana.pk], **typed)
    with pytest.raises(DuplicateClient) as again:
        client_create(by=front_desk, confirm_duplicate_of=[ana.pk], **typed)
    assert {d.client for d in again.value.duplicates} == {ana, first}
    assert Client.objects.count() == 2


def test_an_erased_client_is_no_duplicate(ana, front_desk, manager):
    typed = {"first_name": "Ana", "last_name": "Lopez", "email": ana.email, "date_of_birth": BORN}
    client_erase(client=ana, by=manager)
    client_create(by=front_desk, **details(**typed))
    assert Client.objects.filter(erased_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock")
def test_submits_at_the_same_moment_register_one(front_desk):
    """Eight threads, each on its own connection, register the same person at once: the
    registration lock makes each check see the ones before it."""
    racers = 8
    start = threading.Barrier(racers)
    outcomes: list[str] = []

    def register():
        try:
            start.wait()
            client_create(by=front_desk, **details())
            outcomes.append("registered")
        except DuplicateClient:
            outcomes.append("asked")
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["asked"] * (racers - 1) + ["registered"]
    assert Client.objects.filter(email="maria@example.com").count() == 1


# The API ------------------------------------------------------------------------------


def api_body(**overrides) -> dict:
    return {
        **details(**overrides),
        "date_of_birth": details(**overrides)["date_of_birth"].isoformat(),
    }


def test_the_api_answers_409_naming_the_client_on_file(ana, api_as):
    response = api_as(Role.FRONT_DESK).post(
        "/api/clients/", api_body(email="Ana.Lopez@example.com"), format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["duplicates"] == [
        {
            "id": ana.pk,
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": "ana.lopez@example.com",
            "date_of_birth": "1985-06-15",
            "matched_on": ["email"],
        }
    ]
    assert "Ana Lopez" in body["detail"]
    assert Client.objects.count() == 1


def test_the_api_registers_another_once_told_the_ids(ana, api_as):
    body = {**api_body(email="ana.lopez@example.com"), "confirm_duplicate_of": [ana.pk]}
    response = api_as(Role.FRONT_DESK).post("/api/clients/", body, format="json")
    assert response.status_code == 201, response.content
    assert "confirm_duplicate_of" not in response.json()
    assert Client.objects.count() == 2


def test_the_same_request_twice_registers_one_and_names_it(api_as):
    api = api_as(Role.FRONT_DESK)
    first = api.post("/api/clients/", api_body(), format="json")
    second = api.post("/api/clients/", api_body(), format="json")
    assert (first.status_code, second.status_code) == (201, 409)
    assert [d["id"] for d in second.json()["duplicates"]] == [first.json()["id"]]
    assert Client.objects.count() == 1


def test_confirm_duplicate_of_takes_ids(api_as):
    body = {**api_body(), "confirm_duplicate_of": ["Ana"]}
    response = api_as(Role.FRONT_DESK).post("/api/clients/", body, format="json")
    assert response.status_code == 400
    assert "confirm_duplicate_of" in response.json()


def test_the_schema_documents_the_409_and_the_confirmation(api_as):
    schema = api_as(Role.FRONT_DESK).get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/clients/"]["post"]
    conflict = create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert conflict.endswith("/DuplicateClient")
    request = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][request.rsplit("/", 1)[1]]["properties"]
    assert "ids of every one of those `duplicates`" in fields["confirm_duplicate_of"]["description"]


# The page ---------------------------------------------------------------------------


def form_data(**overrides) -> dict:
    return api_body(**overrides)


def test_the_page_shows_the_client_on_file_and_asks(ana, page_as):
    desk = page_as(Role.FRONT_DESK)
    response = desk.post(reverse("clients:create"), form_data(email="ANA.LOPEZ@example.com"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This client may already be registered" in html
    assert f'href="{reverse("clients:detail", args=[ana.pk])}"' in html
    assert "Same email" in html
    assert f'name="confirm_duplicate_of" value="{ana.pk}"' in html
    assert Client.objects.count() == 1

    # "Check again" (the first button, the one Enter presses) asks again.
    again = desk.post(reverse("clients:create"), form_data(email="ANA.LOPEZ@example.com"))
    assert "This client may already be registered" in again.content.decode()
    assert Client.objects.count() == 1


def test_register_anyway_registers_and_goes_on_to_the_screening(ana, page_as):
    desk = page_as(Role.FRONT_DESK)
    data = {**form_data(email="ana.lopez@example.com"), "confirm_duplicate_of": str(ana.pk)}
    response = desk.post(reverse("clients:create"), data)
    maria = Client.objects.get(first_name="Maria")
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:screening", args=[maria.pk])


def test_the_form_sent_twice_registers_one(page_as):
    desk = page_as(Role.FRONT_DESK)
    first = desk.post(reverse("clients:create"), form_data())
    second = desk.post(reverse("clients:create"), form_data())
    assert first.status_code == 302
    assert "This client may already be registered" in second.content.decode()
    assert Client.objects.count() == 1


# Editing a client into another ---------------------------------------------------------


@pytest.fixture
def maria(db):
    return ClientFactory(**details(phone="+14155550100"))


@pytest.mark.parametrize(
    ("changed", "matched_on"),
    [
        ({"email": "Ana.Lopez@example.com"}, ["email"]),
        (
            {"first_name": "ANA", "last_name": "lopez", "date_of_birth": BORN},
            ["name_and_date_of_birth"],
        ),
    ],
)
def test_an_edit_that_matches_another_client_names_them_and_saves_nothing(
    ana, maria, front_desk, changed, matched_on
):
    with pytest.raises(DuplicateClient) as found:
        client_update(client=maria, by=front_desk, **changed)
    [duplicate] = found.value.duplicates
    assert (duplicate.client, duplicate.matched_on) == (ana, matched_on)
    assert "save the changes anyway" in found.value.message
    maria.refresh_from_db()
    assert (maria.email, maria.first_name) == ("maria@example.com", "Maria")


def test_an_edit_confirmed_for_the_clients_shown_is_saved(ana, maria, front_desk):
    client_update(
        client=maria, by=front_desk, confirm_duplicate_of=[ana.pk], email="ana.lopez@example.com"
    )
    maria.refresh_from_db()
    assert maria.email == "ana.lopez@example.com"
    assert maria.history.first().history_user == front_desk


def test_an_edit_of_other_details_or_of_the_clients_own_is_not_asked_about(ana, maria, front_desk):
    # Her own email in other letters, and a new phone number: no one else matches.
    client_update(client=maria, by=front_desk, email="MARIA@example.com", phone="+14155550199")
    client_update(client=ana, by=front_desk, email="ana.lopez@example.com", notes="Prefers LED")
    assert Client.objects.get(pk=maria.pk).email == "MARIA@example.com"


def test_a_match_confirmed_before_is_not_asked_about_again(ana, front_desk):
    """Two people named Ana Lopez born the same day, registered on purpose: correcting
    the second one's email does not ask about the first again."""
    twin = client_create(
        by=front_desk,
        confirm_duplicate_of=[ana.pk],
        **details(first_name="Ana", last_name="Lopez", date_of_birth=BORN),
    )
    client_update(client=twin, by=front_desk, email="ana.l.twin@example.com")
    twin.refresh_from_db()
    assert twin.email == "ana.l.twin@example.com"
    # But now taking the first one's email too is a new match: asked.
    with pytest.raises(DuplicateClient):
        client_update(client=twin, by=front_desk, email=ana.email)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_api_edit_answers_409_naming_the_client_on_file_then_saves_once_told(
    ana, maria, api_as, method
):
    api = api_as(Role.FRONT_DESK)
    url = f"/api/clients/{maria.pk}/"
    body = {"email": "ana.lopez@example.com"}
    if method == "put":
        body = {**api_body(), "phone": "+14155550100", **body}
    refused = getattr(api, method)(url, body, format="json")
    assert refused.status_code == 409
    assert [d["id"] for d in refused.json()["duplicates"]] == [ana.pk]
    assert refused.json()["duplicates"][0]["matched_on"] == ["email"]
    assert "save the changes anyway" in refused.json()["detail"]
    assert Client.objects.get(pk=maria.pk).email == "maria@example.com"

    saved = getattr(api, method)(url, {**body, "confirm_duplicate_of": [ana.pk]}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["email"] == "ana.lopez@example.com"


def test_the_schema_documents_the_409_of_an_edit(api_as):
    schema = api_as(Role.FRONT_DESK).get("/api/schema/", {"format": "json"}).json()
    for method in ("put", "patch"):
        edit = schema["paths"]["/api/clients/{id}/"][method]
        conflict = edit["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
        assert conflict.endswith("/DuplicateClient")


def test_the_edit_page_shows_the_client_on_file_and_asks_before_saving(ana, maria, page_as):
    desk = page_as(Role.FRONT_DESK)
    url = reverse("clients:edit", args=[maria.pk])
    data = {**form_data(email="ana.lopez@example.com"), "phone": "+14155550100"}
    response = desk.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Another client has these details" in html
    assert "Nothing is saved yet." in html
    assert f'href="{reverse("clients:detail", args=[ana.pk])}"' in html
    assert "Same email" in html
    assert f'name="confirm_duplicate_of" value="{ana.pk}">Save changes anyway</button>' in html
    assert Client.objects.get(pk=maria.pk).email == "maria@example.com"

    saved = desk.post(url, {**data, "confirm_duplicate_of": str(ana.pk)})
    assert saved.status_code == 302
    assert saved["Location"] == reverse("clients:detail", args=[maria.pk])
    assert Client.objects.get(pk=maria.pk).email == "ana.lopez@example.com"
