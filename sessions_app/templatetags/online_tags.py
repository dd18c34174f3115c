from datetime import timedelta

from django import template
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone
from django.utils.safestring import mark_safe

from clinic import dataversion
from sessions_app.online import client_activity_count as _count

register = template.Library()

# The count of the last 7 days also falls as items age out, with no write: it is
# computed again at least this often (issue 14: it read every session on every page).
ACTIVITY_COUNT_SECONDS = 60


@register.simple_tag
def client_activity_count() -> int:
    """The navigation's count of what clients did lately (one query, issue 11), kept in
    the page cache on the data version."""

    def compute():
        now = timezone.now()
        return _count(now=now), now + timedelta(seconds=ACTIVITY_COUNT_SECONDS)

    return dataversion.cached("client-activity-count", (), compute)


# The navigation's HTML by everything it is made of (issue 14: its ten URL reversals
# and role checks were on every page); a small table, emptied when full.
_NAV_HTML: dict[tuple, str] = {}
_NAV_KEEP = 512


@register.simple_tag(takes_context=True)
def main_nav(context) -> str:
    """The main navigation (``includes/main_nav.html``) for the signed-in user: rendered
    once per role, page and activity count, then given from memory. What it shows
    depends on the user only through ``User.can`` and ``is_manager`` (active, superuser,
    role), on the request only through the page's URL name and app."""
    user = context["user"]
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    activity_count = client_activity_count() if user.can("activity.view") else None
    key = (
        user.is_active,
        user.is_superuser,
        user.role,
        getattr(match, "app_name", None),
        getattr(match, "url_name", None),
        activity_count,
        get_script_prefix(),
        get_urlconf(),
    )
    html = _NAV_HTML.get(key)
    if html is None:
        html = get_template("includes/main_nav.html").render(
            {"user": user, "request": request, "activity_count": activity_count}
        )
        if len(_NAV_HTML) >= _NAV_KEEP:
            _NAV_HTML.clear()
        _NAV_HTML[key] = html
    return mark_safe(html)  # noqa: S308 (rendered by its template, escaped there)
