from django.urls import path

from sessions_app.link_views import LinkActionView

app_name = "links"

urlpatterns = [
    path("<str:action>/<str:token>/", LinkActionView.as_view(), name="action"),
]
