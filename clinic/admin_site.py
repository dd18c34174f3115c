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

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            raise PermissionDenied("The admin is for managers.")
        return redirect_to_login(request.GET.get("next", reverse("admin:index")), reverse("login"))
