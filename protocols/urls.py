from django.urls import path

from protocols import views

app_name = "protocols"

urlpatterns = [
    path("", views.ProtocolListView.as_view(), name="list"),
    path("<int:pk>/edit/", views.ProtocolUpdateView.as_view(), name="edit"),
    path("<int:pk>/start/", views.ProtocolMoveStartView.as_view(), name="move-start"),
]
