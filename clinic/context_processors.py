from django.conf import settings


def clinic(request) -> dict:
    return {"clinic_name": settings.CLINIC_NAME, "clinic_time_zone": settings.CLINIC_TIME_ZONE}
