from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("", views.ClientListView.as_view(), name="list"),
    path("new/", views.ClientCreateView.as_view(), name="create"),
    path("access-log/", views.AccessLogView.as_view(), name="access-log"),
    path("<int:pk>/", views.ClientDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ClientUpdateView.as_view(), name="edit"),
    path("<int:pk>/screening/", views.ScreeningCreateView.as_view(), name="screening"),
    path("<int:pk>/clearances/new/", views.ClearanceCreateView.as_view(), name="clearance"),
    path(
        "clearances/<int:pk>/document/",
        views.ClearanceDocumentView.as_view(),
        name="clearance-document",
    ),
]
