from django.contrib.auth.models import AbstractUser
from django.db import models

from clinic.roles import Role, role_can


class User(AbstractUser):
    """A member of staff. ``role`` decides what they may do (see ``clinic.roles``)."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRONT_DESK)

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def can(self, permission: str) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return role_can(Role.MANAGER, permission)
        return role_can(self.role, permission)

    # Managers may use every part of the Django admin.
    def has_perm(self, perm, obj=None) -> bool:
        return self.is_manager or super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        return self.is_manager or super().has_module_perms(app_label)

    @property
    def is_manager(self) -> bool:
        return self.is_active and (self.is_superuser or self.role == Role.MANAGER)
