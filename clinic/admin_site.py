from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse


class ClinicAdminSite(admin.AdminSite):
    """The Django admin, open to managers only, signed in through the clinic's login page."""

    site_header = "Clinic administration"
    site_title = "Clinic admin"

    def has_permission(self, request) -> bool:
        return request.user.is_authenticated and request.user.is_manager

    def admin_view(self, view, cacheable=False):
        # Django's own check sends everyone it refuses to the admin's login page, so
        # staff who are signed in would bounce through a redirect. Answer at once:
        # the clinic's login page for strangers, 403 for staff who are not managers.
        checked = super().admin_view(view, cacheable)

        @wraps(checked)
        def inner(request, *args, **kwargs):
            if not self.has_permission(request):
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path(), reverse("login"))
                if request.path != reverse("admin:logout", current_app=self.name):
                    raise PermissionDenied("The admin is for managers.")
            return checked(request, *args, **kwargs)

        return inner

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            raise PermissionDenied("The admin is for managers.")
        return redirect_to_login(request.GET.get("next", reverse("admin:index")), reverse("login"))
