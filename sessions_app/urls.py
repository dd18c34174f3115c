from django.urls import path

from sessions_app import views

app_name = "sessions"

urlpatterns = [
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path("schedule/", views.DayScheduleView.as_view(), name="schedule"),
    path("sessions/<int:pk>/", views.SessionDetailView.as_view(), name="detail"),
    path("clients/<int:pk>/book-series/", views.SeriesBookView.as_view(), name="book-series"),
    path("clients/<int:pk>/book/", views.SessionBookView.as_view(), name="book"),
]
