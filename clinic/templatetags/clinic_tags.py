from django import template

register = template.Library()


@register.filter
def can(user, permission: str) -> bool:
    """``{% if user|can:"clients.edit" %}``: the role table, read in a template."""
    return bool(getattr(user, "is_authenticated", False)) and user.can(permission)
