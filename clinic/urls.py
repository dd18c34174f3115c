from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from clients.api import ClearanceDocumentView, ClientViewSet
from clinic import account_views, api_auth, api_docs, health, views
from clinic.api import StaffViewSet
from protocols.api import ProtocolViewSet
from sessions_app.api import (
    AvailabilityView,
    ClosedDayViewSet,
    DayOffViewSet,
    DeviceViewSet,
    PlanViewSet,
    ReminderViewSet,
    RoomViewSet,
    SessionViewSet,
    WorkingHoursViewSet,
)
from sessions_app.calendar_api import CalendarFeedView
from sessions_app.client_data_api import ClientEraseAPIView, ClientExportAPIView


class ApiRouter(DefaultRouter):
    # No format suffixes (``/api/clients.json``): custom actions do not take the
    # ``format`` argument they add and answered 500. Content negotiation is by ``Accept``
    # (or ``?format=json``); an unknown path under /api/ is a JSON 404.
    include_format_suffixes = False


router = ApiRouter()
router.register("staff", StaffViewSet, basename="staff")
router.register("clients", ClientViewSet, basename="client")
router.register("rooms", RoomViewSet, basename="room")
router.register("devices", DeviceViewSet, basename="device")
router.register("working-hours", WorkingHoursViewSet, basename="working-hours")
router.register("closed-days", ClosedDayViewSet, basename="closed-day")
router.register("days-off", DayOffViewSet, basename="day-off")
router.register("protocols", ProtocolViewSet, basename="protocol")
router.register("plans", PlanViewSet, basename="plan")
router.register("sessions", SessionViewSet, basename="session")
router.register("reminders", ReminderViewSet, basename="reminder")

api_urlpatterns = [
    path("auth/token/", api_auth.TokenView.as_view(), name="api-token"),
    path("auth/logout/", api_auth.LogoutView.as_view(), name="api-logout"),
    path("auth/logoutall/", api_auth.LogoutAllView.as_view(), name="api-logoutall"),
    path("availability/", AvailabilityView.as_view(), name="api-availability"),
    path("calendar/", CalendarFeedView.as_view(), name="api-calendar"),
    path(
        "clearances/<int:pk>/document/",
        ClearanceDocumentView.as_view(),
        name="api-clearance-document",
    ),
    path("clients/<int:pk>/export/", ClientExportAPIView.as_view(), name="api-client-export"),
    path("clients/<int:pk>/erase/", ClientEraseAPIView.as_view(), name="api-client-erase"),
    # For staff only (issue 12): the schema names every field of the clinic's health data.
    path(
        "schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"
    ),
    path("docs/", api_docs.ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", views.home, name="home"),
    # For a load balancer: no login, no secrets (issue 12).
    path("health/", health.health, name="health"),
    # Log-in lockout, idle sessions, passwords and API tokens (issue 12, item 3).
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password-change"),
    path("accounts/tokens/", account_views.MyTokensView.as_view(), name="account-tokens"),
    path("manage/logins/", account_views.LoginsView.as_view(), name="logins"),
    path("manage/logins/unlock/", account_views.UnlockView.as_view(), name="logins-unlock"),
    path(
        "manage/logins/staff/<int:pk>/revoke-tokens/",
        account_views.RevokeStaffTokensView.as_view(),
        name="logins-revoke-tokens",
    ),
    path("clients/", include("clients.urls")),
    path("", include("sessions_app.urls")),
    path("manage/", include("sessions_app.manage_urls")),
    path("protocols/", include("protocols.urls")),
    path("e/", include("sessions_app.link_urls")),
    path("api/", include(api_urlpatterns)),
    path("admin/", admin.site.urls),
]

# JSON under /api/, the HTML pages elsewhere.
handler400 = "clinic.errors.bad_request"
handler403 = "clinic.errors.permission_denied"
handler404 = "clinic.errors.not_found"
handler500 = "clinic.errors.server_error"
