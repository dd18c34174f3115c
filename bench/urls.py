"""The app's URLs plus the bench's floor views (``bench.settings`` only; never in the app)."""

from django.http import JsonResponse
from django.urls import path

from clients.models import Client
from clinic import urls as app_urls


def floor_json(request):
    """The bare floor: no query, a constant JSON answer."""
    return JsonResponse({"ok": True})


def floor_pk(request, pk: int):
    """The one-query floor: one row by primary key, as JSON."""
    return JsonResponse(Client.objects.values("id", "first_name", "last_name").get(pk=pk))


urlpatterns = [
    path("bench/floor/json/", floor_json),
    path("bench/floor/pk/<int:pk>/", floor_pk),
    *app_urls.urlpatterns,
]

handler400 = app_urls.handler400
handler403 = app_urls.handler403
handler404 = app_urls.handler404
handler500 = app_urls.handler500
