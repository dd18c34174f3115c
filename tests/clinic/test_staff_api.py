"""Managers create staff through ``/api/staff/`` (SPEC, "REST API"): the password is
checked and never echoed, usernames are unique, roles are the three the clinic has,
and the new member of staff can sign in at once."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clinic.models import User
from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF_URL = reverse("staff-list")
STRONG_PASSWORD = "violet-kettle-harbour-9"
NEW_STAFF = {
    "username": "jo.kim",
    "first_name": "Jo",
    "last_name": "Kim",
    "email": "jo.kim@example.com",
    "role": "esthetician",
    "password": STRONG_PASSWORD,
}


@pytest.fixture
def boss(api_as) -> APIClient:
    return api_as(Role.MANAGER)


def test_manager_creates_a_member_of_staff(boss):
    response = boss.post(STAFF_URL, NEW_STAFF, format="json")
    assert response.status_code == 201
    expected = {k: v for k, v in NEW_STAFF.items() if k != "password"}
    assert {k: response.data[k] for k in expected} == expected
    assert User.objects.get(pk=response.data["id"]).role == Role.ESTHETICIAN


def test_password_is_not_echoed(boss):
    response = boss.post(STAFF_URL, NEW_STAFF, format="json")
    assert "password" not in response.data
    assert STRONG_PASSWORD not in response.content.decode()


def test_password_is_stored_hashed(boss):
    boss.post(STAFF_URL, NEW_STAFF, format="json")
    user = User.objects.get(username="jo.kim")
    assert user.password != STRONG_PASSWORD
    assert user.check_password(STRONG_PASSWORD)


def test_staff_list_never_shows_passwords(boss, front_desk):
    response = boss.get(STAFF_URL)
    assert response.status_code == 200
    assert all("password" not in row for row in response.data["results"])


@pytest.mark.parametrize(
    "password",
    ["password", "12345678", "short1", "jo.kim2024", "   "],
    ids=["common", "all-digits", "too-short", "like-the-username", "blank"],
)
def test_weak_password_is_refused_naming_password(boss, password):
    response = boss.post(STAFF_URL, {**NEW_STAFF, "password": password}, format="json")
    assert response.status_code == 400
    assert "password" in response.data
    assert not User.objects.filter(username="jo.kim").exists()


def test_missing_password_is_refused(boss):
    payload = {k: v for k, v in NEW_STAFF.items() if k != "password"}
    response = boss.post(STAFF_URL, payload, format="json")
    assert response.status_code == 400
    assert "password" in response.data


def test_duplicate_username_is_refused(boss, front_desk):
    response = boss.post(STAFF_URL, {**NEW_STAFF, "username": "fd"}, format="json")
    assert response.status_code in (400, 409)
    assert "username" in response.data
    assert User.objects.filter(username="fd").count() == 1
    assert User.objects.get(username="fd").role == Role.FRONT_DESK


@pytest.mark.parametrize("role", ["owner", "Manager", "", None, 1])
def test_invalid_role_is_refused(boss, role):
    response = boss.post(STAFF_URL, {**NEW_STAFF, "role": role}, format="json")
    assert response.status_code == 400
    assert "role" in response.data
    assert not User.objects.filter(username="jo.kim").exists()


def test_missing_username_is_refused(boss):
    payload = {k: v for k, v in NEW_STAFF.items() if k != "username"}
    response = boss.post(STAFF_URL, payload, format="json")
    assert response.status_code == 400
    assert "username" in response.data


def test_malformed_email_is_refused(boss):
    response = boss.post(STAFF_URL, {**NEW_STAFF, "email": "jo.kim@"}, format="json")
    assert response.status_code == 400
    assert "email" in response.data


def test_new_staff_cannot_be_made_superusers_through_the_api(boss):
    payload = {**NEW_STAFF, "is_superuser": True, "is_staff": True, "is_active": False}
    response = boss.post(STAFF_URL, payload, format="json")
    assert response.status_code == 201
    user = User.objects.get(username="jo.kim")
    assert (user.is_superuser, user.is_staff, user.is_active) == (False, False, True)


@pytest.mark.parametrize("role", list(Role))
def test_role_filter_lists_only_that_role(boss, staff_by_role, role):
    UserFactory(username="est2", role=Role.ESTHETICIAN)
    response = boss.get(STAFF_URL, {"role": role})
    assert response.status_code == 200
    assert {row["role"] for row in response.data["results"]} == {role}
    assert response.data["count"] == User.objects.filter(role=role).count()


def test_unknown_role_filter_answers_400(boss):
    response = boss.get(STAFF_URL, {"role": "owner"})
    assert response.status_code == 400
    assert "role" in response.data


def test_staff_list_shows_only_active_staff(boss, manager):
    UserFactory(username="gone", role=Role.FRONT_DESK, is_active=False)
    response = boss.get(STAFF_URL)
    assert "gone" not in {row["username"] for row in response.data["results"]}
    assert "mgr" in {row["username"] for row in response.data["results"]}


def test_staff_list_costs_a_fixed_number_of_queries(boss, django_assert_max_num_queries):
    UserFactory.create_batch(40, role=Role.ESTHETICIAN)
    with django_assert_max_num_queries(3):
        response = boss.get(STAFF_URL)
    assert response.data["count"] == User.objects.count()


def test_new_staff_member_obtains_a_token(boss):
    boss.post(STAFF_URL, NEW_STAFF, format="json")
    response = APIClient().post(
        reverse("api-token"),
        {"username": "jo.kim", "password": STRONG_PASSWORD},
        format="json",
    )
    assert response.status_code == 200
    assert response.data["token"]


def test_new_staff_members_token_carries_their_role(boss, a_client):
    boss.post(STAFF_URL, NEW_STAFF, format="json")
    api = APIClient()
    token = api.post(
        reverse("api-token"), {"username": "jo.kim", "password": STRONG_PASSWORD}, format="json"
    ).data["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(reverse("client-detail", args=[a_client.pk])).status_code == 200
    assert api.get(STAFF_URL).status_code == 403


def test_new_staff_member_signs_in_on_the_login_page(boss, client):
    boss.post(STAFF_URL, NEW_STAFF, format="json")
    response = client.post(reverse("login"), {"username": "jo.kim", "password": STRONG_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("clients:list")).status_code == 200


def test_manager_reads_one_member_of_staff(boss, esthetician):
    response = boss.get(reverse("staff-detail", args=[esthetician.pk]))
    assert response.status_code == 200
    assert response.data["username"] == "est"
    assert response.data["role"] == "esthetician"


def test_unknown_member_of_staff_answers_404(boss):
    assert boss.get(reverse("staff-detail", args=[987654])).status_code == 404
