from django import template

register = template.Library()


@register.filter
def can(user, permission: str) -> bool:
    """``{% if user|can:"clients.edit" %}``: the role table, read in a template."""
    return bool(getattr(user, "is_authenticated", False)) and user.can(permission)


@register.filter
def fields_at_fault(form) -> list:
    """The visible fields of ``form`` with errors, in order: the error summary links each."""
    return [field for field in form.visible_fields() if field.errors]
