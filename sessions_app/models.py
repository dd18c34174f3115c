from django.db import models


class Room(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    """A microcurrent device. One out of service cannot be booked."""

    name = models.CharField(max_length=100)
    serial_number = models.CharField(max_length=100, unique=True)
    in_service = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "serial_number"]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial_number})"
