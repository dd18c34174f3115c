from django.urls import path

from sessions_app import manage_views as views

app_name = "manage"

urlpatterns = [
    path("", views.ResourcesHomeView.as_view(), name="home"),
    path("rooms/add/", views.RoomFormView.as_view(), name="room-add"),
    path("rooms/<int:pk>/", views.RoomFormView.as_view(), name="room-edit"),
    path("devices/add/", views.DeviceFormView.as_view(), name="device-add"),
    path("devices/<int:pk>/", views.DeviceFormView.as_view(), name="device-edit"),
    path("hours/add/", views.WorkingHoursFormView.as_view(), name="hours-add"),
    path("hours/<int:pk>/", views.WorkingHoursFormView.as_view(), name="hours-edit"),
    path("hours/<int:pk>/remove/", views.WorkingHoursDeleteView.as_view(), name="hours-remove"),
    path("closed-days/add/", views.ClosedDayCreateView.as_view(), name="closed-day-add"),
    path("days-off/add/", views.DayOffCreateView.as_view(), name="day-off-add"),
    path("days-off/<int:pk>/remove/", views.DayOffDeleteView.as_view(), name="day-off-remove"),
    path(
        "closed-days/<int:pk>/remove/",
        views.ClosedDayDeleteView.as_view(),
        name="closed-day-remove",
    ),
]
