from django.urls import path

from sessions_app import views

app_name = "sessions"

urlpatterns = [
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
]
