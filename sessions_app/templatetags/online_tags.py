from django import template

from sessions_app.online import client_activity_count as _count

register = template.Library()


@register.simple_tag
def client_activity_count() -> int:
    """The navigation's count of what clients did lately (one query, issue 11)."""
    return _count()
