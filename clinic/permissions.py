"""Enforcement of ``clinic.roles.PERMISSIONS`` for the API and the pages."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from clinic.roles import role_refusal
from clinic.throttles import throttle_anonymous


class RolePermission(BasePermission):
    """DRF permission: the view names the permission each action needs.

    ``role_permissions`` maps a viewset action (``list``, ``create``, a custom
    action's name, or ``action:method`` where one action serves several methods)
    or, on plain API views, an HTTP method in lower case, to a permission name.
    An action the map does not name is refused, so a new endpoint is closed
    until someone decides who may use it.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            # DRF throttles after the permissions, so a refused anonymous request would
            # never be counted: count it here (429 once over API_THROTTLE_ANON).
            throttle_anonymous(request, view)
            return False
        mapping = getattr(view, "role_permissions", {})
        if request.method == "OPTIONS":
            return True
        method = request.method.lower()
        action = getattr(view, "action", None)
        if action:
            permission = mapping.get(f"{action}:{method}") or mapping.get(action)
        else:
            permission = mapping.get(method)
        return bool(permission) and user.can(permission)


class RoleRequiredMixin(LoginRequiredMixin):
    """Page mixin: log in first, then 403 unless the user's role has ``permission``."""

    permission: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.can(self.permission):
            raise PermissionDenied(refusal(request.user, self.permission))
        return super().dispatch(request, *args, **kwargs)


def refusal(user, permission: str) -> str:
    """What ``user``'s role may not do, in words (the 403 page shows it once)."""
    return role_refusal(user.get_role_display(), permission)
