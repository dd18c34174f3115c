"""The client list's results (issue 14, P2): the search or the whole list, one page of
rows, the total and the links to other pages, rendered once per data version, search,
page, clinic day and whether the viewer may register clients, and kept in the page cache
(``clinic.dataversion``). The front desk searches all day; most searches are asked again
before anything is written.

The rows show each client's eligibility badge, which changes with time alone when a
screening stops being current: the results are not served past the first such instant
(``selectors.eligibility_valid_until``). Clearances expire by the clinic day, in the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.core.paginator import InvalidPage, Paginator
from django.db.models import CharField, ExpressionWrapper, F
from django.http import Http404
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import default
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from phonenumber_field.phonenumber import to_python

from clients import selectors
from clients.models import Client
from clients.pagination import TotalPaginator
from clinic import dataversion
from clinic.clinic_time import localdate

PER_PAGE = 25


def client_results(*, query: str, page: str, can_edit: bool) -> SafeString:
    """The results' HTML for the search ``query`` ("" for the whole list) at ``page`` (as
    the address gives it: a number or "last"); Http404 for a page there is not."""
    key = (query, page, can_edit, localdate())
    html = dataversion.cached("client-list", key, lambda: _results(query, page, can_edit))
    return mark_safe(html)  # noqa: S308 (rendered by its template)


def _results(query: str, page: str, can_edit: bool) -> tuple[str, object]:
    paginator = _paginator(query)
    page_obj = _page(paginator, page)
    rows = list_rows(page_obj.object_list)
    html = render_to_string(
        "clients/includes/client_results.html",
        {
            "query": query,
            "rows": rows,
            "paginator": paginator,
            "page_obj": page_obj,
            "is_paginated": page_obj.has_other_pages(),
            "can_edit": can_edit,
        },
    )
    until = selectors.eligibility_valid_until(row.eligibility for row in rows)
    return html, until


def _paginator(query: str) -> Paginator:
    # Each row shows only the eligibility: its facts come in the page's own query.
    # The phone comes as its stored text: a row shows it formatted (``list_rows``),
    # and parsing it into a PhoneNumber per row on load cost as much again.
    clients = selectors.client_search(query=query).defer("phone")
    clients = clients.annotate(phone_stored=ExpressionWrapper(F("phone"), CharField()))
    clients = selectors.clients_with_eligibility(clients)
    # A search counts its hits (the trigram indexes serve it); the whole list shows
    # "about N" from the planner's estimate once the clinic is large.
    if query:
        return Paginator(clients, PER_PAGE)
    return TotalPaginator(clients, PER_PAGE, total=selectors.client_total())


def _page(paginator: Paginator, page: str):
    """The page the address asks for, as Django's ListView reads it."""
    try:
        number = paginator.num_pages if page == "last" else int(page)
    except ValueError:
        raise Http404("That page number is not a whole number.") from None
    try:
        return paginator.page(number)
    except InvalidPage as error:
        raise Http404(f"Invalid page ({number}): {error}") from None


@dataclass(frozen=True)
class ListRow:
    """One row of the client list, ready to show: the template only places the values
    (a URL reversal, two filters and an include per row cost more than the page's
    query)."""

    last_name: str
    first_name: str
    email: str
    href: str
    phone: str
    born: str
    badge: str
    eligibility: selectors.ClientEligibility


# A primary key no client has, reversed once per page and replaced by each row's own.
_PK_MARK = 918_273_645


@lru_cache(maxsize=4096)
def _phone_shown(stored: str | None) -> str:
    """``{{ client.phone.as_national|default:"—" }}`` for the phone stored as ``stored``:
    read as the model field reads it, formatted as the template did."""
    return default(getattr(to_python(stored), "as_national", ""), "—")


@lru_cache(maxsize=4096)
def _date_shown(day, language: str | None) -> str:
    """``{{ day|date:"M j, Y" }}`` in ``language`` (the month's name is translated)."""
    return date_filter(day, "M j, Y")


def list_rows(clients: list[Client]) -> list[ListRow]:
    """The rows of a page of clients annotated by ``selectors.clients_with_eligibility``:
    what the row template showed, computed once a page where it can be (the detail URL's
    shape, each eligibility badge by its outcome, rendered by its own template)."""
    detail = reverse("clients:detail", kwargs={"pk": _PK_MARK})
    before, after = detail.split(str(_PK_MARK))
    badge_template = get_template("includes/eligibility_badge.html")
    badges: dict[str, str] = {}
    rows = []
    for client in clients:
        eligibility = selectors.client_eligibility(client=client)
        outcome = eligibility.outcome
        if outcome not in badges:
            badges[outcome] = badge_template.render({"eligibility": eligibility})
        rows.append(
            ListRow(
                last_name=client.last_name,
                first_name=client.first_name,
                email=client.email,
                href=f"{before}{client.pk}{after}",
                phone=_phone_shown(client.phone_stored),
                born=_date_shown(client.date_of_birth, get_language()),
                badge=mark_safe(badges[outcome]),  # noqa: S308 (rendered by its template)
                eligibility=eligibility,
            )
        )
    return rows
