from datetime import timedelta

from django import template
from django.utils import timezone

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
