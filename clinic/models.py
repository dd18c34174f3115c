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


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` a member of staff sent with a write under ``/api/``, and the
    answer it got, so that a retried request gets that answer again instead of booking twice.

    The row is inserted before the view runs and in the same transaction as the change it
    guards (see ``clinic.idempotency``): a concurrent duplicate waits on the unique key and
    then replays the answer; a request that fails leaves no row behind.
    """

    user = models.ForeignKey("clinic.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path, content type and body: the same key with another
    # request is refused rather than answered with the first one's result.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class DemoData(models.Model):
    """Present when ``seed_demo`` filled this database: it is a demo, and running the
    command again is safe. A database with staff or clients and no such row holds a
    clinic's real data, which ``seed_demo`` refuses to mix demo data into unless told to."""

    seeded_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "demo data"

    def __str__(self) -> str:
        return f"Demo data seeded {self.seeded_at:%Y-%m-%d %H:%M}"
