from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from clients.api import ClearanceDocumentView, ClientViewSet
from clinic import views
from clinic.api import StaffViewSet
from protocols.api import ProtocolViewSet
from sessions_app.api import (
    AvailabilityView,
    ClosedDayViewSet,
    DeviceViewSet,
    PlanViewSet,
    ReminderViewSet,
    RoomViewSet,
    SessionViewSet,
    WorkingHoursViewSet,
)


class TokenView(ObtainAuthToken):
    """``POST`` a ``username`` and ``password``; answers ``{"token": ...}``."""

    permission_classes = [AllowAny]


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
router.register("protocols", ProtocolViewSet, basename="protocol")
router.register("plans", PlanViewSet, basename="plan")
router.register("sessions", SessionViewSet, basename="session")
router.register("reminders", ReminderViewSet, basename="reminder")

api_urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("availability/", AvailabilityView.as_view(), name="api-availability"),
    path(
        "clearances/<int:pk>/document/",
        ClearanceDocumentView.as_view(),
        name="api-clearance-document",
    ),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
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
