"""The client list's rows computed in the view, the eligibility SQL written once per
process, and the navigation kept in memory by role and page (issue 14): each must show
what the templates showed before."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from clients.models import Client
from clients.selectors import client_eligibility, clients_with_eligibility
from clinic.roles import Role
from tests.factories import ClientFactory, ScreeningFactory


def _row_of(body: str, client: Client) -> str:
    href = reverse("clients:detail", args=[client.pk])
    start = body.index(f'<a href="{href}">')
    return body[start : body.index("</tr>", start)]


@pytest.mark.sqlite_too
def test_a_row_shows_the_phone_date_and_badge_as_the_templates_do(page_as):
    with_phone = ClientFactory(last_name="Aalto", phone="+14155550123")
    without = ClientFactory(last_name="Abbey", phone="")
    ScreeningFactory(client=with_phone)
    body = page_as(Role.FRONT_DESK).get(reverse("clients:list")).content.decode()

    shown = Template(
        '{{ c.phone.as_national|default:"—" }}|{{ c.date_of_birth|date:"M j, Y" }}'
    ).render(Context({"c": with_phone}))
    phone, born = shown.split("|")
    assert phone == "(415) 555-0123"
    row = _row_of(body, with_phone)
    assert f"<td>{phone}</td>" in row
    assert f"<td>{born}</td>" in row
    assert '<span class="badge badge-eligible">Eligible</span>' in row
    row = _row_of(body, without)
    assert "<td>—</td>" in row
    assert '<span class="badge badge-screening_required">Screening required</span>' in row


def test_a_name_is_escaped_in_its_row(page_as):
    ClientFactory(last_name="<b>Bold</b>", first_name="A&B")
    body = page_as(Role.FRONT_DESK).get(reverse("clients:list")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt;, A&amp;B</a>" in body
    assert "<b>Bold</b>" not in body


@pytest.mark.sqlite_too
def test_the_written_once_sql_answers_as_of_each_calls_moment(a_client):
    ScreeningFactory(client=a_client)
    now = timezone.now()
    for at, outcome in ((now - timedelta(days=1), "screening_required"), (now, "eligible")):
        (found,) = clients_with_eligibility(Client.objects.filter(pk=a_client.pk), at=at)
        assert client_eligibility(client=found).outcome == outcome


def test_the_navigation_is_each_roles_own_and_marks_the_page(page_as):
    desk = page_as(Role.FRONT_DESK).get(reverse("clients:list")).content.decode()
    assert f'<a href="{reverse("clients:list")}" aria-current="page">Clients</a>' in desk
    assert reverse("manage:home") not in desk
    manager = page_as(Role.MANAGER)
    page = manager.get(reverse("clients:list")).content.decode()
    assert reverse("manage:home") in page
    assert reverse("admin:index") in page
    other = manager.get(reverse("clients:access-log")).content.decode()
    assert f'<a href="{reverse("clients:list")}">Clients</a>' in other
    assert f'<a href="{reverse("clients:access-log")}" aria-current="page">' in other
