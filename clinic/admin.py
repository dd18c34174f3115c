from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from clinic.models import User


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *UserAdmin.fieldsets[:1],
        ("Clinic", {"fields": ("first_name", "last_name", "email", "role", "is_active")}),
    )
    add_fieldsets = ((None, {"fields": ("username", "role", "password1", "password2")}),)
