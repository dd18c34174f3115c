from django.db import migrations

# SPEC, "Age-based treatment plans": seeded as editable rows, not hard-coded.
BANDS = [
    dict(name="Under 35", min_age=0, max_age=34, sessions_min=5, sessions_max=5,
         weeks_min=2, weeks_max=3),
    dict(name="35 to 50", min_age=35, max_age=50, sessions_min=10, sessions_max=15,
         weeks_min=4, weeks_max=7),
    dict(name="Over 50", min_age=51, max_age=None, sessions_min=15, sessions_max=15,
         weeks_min=5, weeks_max=7),
]


def seed(apps, schema_editor):
    protocol = apps.get_model("protocols", "Protocol")
    for band in BANDS:
        protocol.objects.get_or_create(
            name=band["name"],
            defaults={**band, "session_minutes": 45, "default_modality": "static"},
        )


def unseed(apps, schema_editor):
    apps.get_model("protocols", "Protocol").objects.filter(
        name__in=[b["name"] for b in BANDS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("protocols", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
