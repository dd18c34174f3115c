from django.urls import path

from sessions_app import manage_views

app_name = "manage"

urlpatterns = [
    path("", manage_views.ResourcesHomeView.as_view(), name="home"),
]
