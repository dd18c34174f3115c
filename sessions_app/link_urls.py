from django.urls import path

from sessions_app import client_page_views, online_views
from sessions_app.link_views import LinkActionView

app_name = "links"

urlpatterns = [
    # The boost and the online screening have pages of their own (issue 11); they come
    # before the generic route, which would otherwise answer for "boost". Each names its
    # action, as the generic route does, so a resolved link says what it is for.
    path("boost/<str:token>/", online_views.BoostView.as_view(), {"action": "boost"}, name="boost"),
    path(
        "boost/<str:token>/screening/",
        online_views.BoostScreeningView.as_view(),
        {"action": "boost"},
        name="boost-screening",
    ),
    path(
        "screening/<str:token>/",
        online_views.ScreeningView.as_view(),
        {"action": "screening"},
        name="screening",
    ),
    # The client's own page (issue 11); before the generic route, which would answer for
    # "client". link_url("client", pk) reverses the generic name to this same address.
    path(
        "client/<str:token>/",
        client_page_views.ClientPageView.as_view(),
        {"action": "client"},
        name="client-page",
    ),
    # The manager's button on the staff client page (log-in and role checked).
    path(
        "revoke/<int:pk>/",
        client_page_views.ClientLinksRevokeView.as_view(),
        name="revoke",
    ),
    path("<str:action>/<str:token>/", LinkActionView.as_view(), name="action"),
]
