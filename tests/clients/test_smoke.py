import pytest
from django.urls import reverse

from clinic.roles import Role


@pytest.mark.django_db
def test_client_page_renders_for_front_desk(page_as, a_client):
    response = page_as(Role.FRONT_DESK).get(reverse("clients:detail", args=[a_client.pk]))
    assert response.status_code == 200
    assert b"Screening required" in response.content
