from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    default = True
    name = "clinic"
    verbose_name = "Clinic staff"

    def ready(self) -> None:
        # The start-up checks (the app refuses to start with unbounded waits), and signal
        # receivers: tokens end on a password change; a log-in starts the idle clock;
        # every committed write bumps the data version (issue 14).
        from clinic import checks, dataversion, idle, tokens  # noqa: F401


class ClinicAdminConfig(admin_apps.AdminConfig):
    """The Django admin with the clinic's site: managers only."""

    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"
