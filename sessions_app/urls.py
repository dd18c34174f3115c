from django.urls import path

from sessions_app import (
    calendar_views,
    client_data_views,
    online_views,
    plan_views,
    reminder_views,
    series_views,
    treatment_views,
    views,
)

app_name = "sessions"

urlpatterns = [
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path("schedule/", views.DayScheduleView.as_view(), name="schedule"),
    # The time grid (issue 13): its feed, and "book this slot" (choose the client).
    path("calendar/feed/", calendar_views.CalendarFeedPageView.as_view(), name="calendar-feed"),
    path("calendar/book/", calendar_views.SlotBookView.as_view(), name="calendar-book"),
    path("sessions/<int:pk>/", views.SessionDetailView.as_view(), name="detail"),
    path(
        "sessions/<int:pk>/treatment/correct/",
        treatment_views.TreatmentCorrectView.as_view(),
        name="treatment-correct",
    ),
    path(
        "clients/<int:pk>/book-series/",
        series_views.SeriesBookView.as_view(),
        name="book-series",
    ),
    path("clients/<int:pk>/book/", views.SessionBookView.as_view(), name="book"),
    path(
        "clients/<int:pk>/export/",
        client_data_views.ClientExportView.as_view(),
        name="client-export",
    ),
    path(
        "clients/<int:pk>/erase/", client_data_views.ClientEraseView.as_view(), name="client-erase"
    ),
    path("plans/<int:pk>/cancel/", plan_views.PlanCancelView.as_view(), name="plan-cancel"),
    path("plans/<int:pk>/rebook/", series_views.PlanRebookView.as_view(), name="plan-rebook"),
    path("reminders/", reminder_views.ReminderListView.as_view(), name="reminders"),
    path(
        "reminders/<int:pk>/preview/",
        reminder_views.ReminderPreviewView.as_view(),
        name="reminder-preview",
    ),
    path(
        "reminders/<int:pk>/preview/html/",
        reminder_views.ReminderPreviewHtmlView.as_view(),
        name="reminder-preview-html",
    ),
    path(
        "reminders/resend-failed/",
        reminder_views.ReminderResendFailedView.as_view(),
        name="reminders-resend-failed",
    ),
    path(
        "reminders/<int:pk>/resend/",
        reminder_views.ReminderResendView.as_view(),
        name="reminder-resend",
    ),
    path("maintenance-due/", reminder_views.MaintenanceDueView.as_view(), name="maintenance-due"),
    path("activity/", online_views.ClientActivityView.as_view(), name="client-activity"),
]
