from django.db import migrations

from sessions_app.db import add_exclusion_constraints, remove_exclusion_constraints


class Migration(migrations.Migration):
    """Double booking refused by PostgreSQL itself (btree_gist exclusion constraints).

    Kept out of the model state on purpose: SQLite cannot create them, and there the
    booking services check for overlaps under SQLite's write lock instead.
    """

    dependencies = [("sessions_app", "0002_sessions_hours_treatments")]

    operations = [
        migrations.RunPython(add_exclusion_constraints, remove_exclusion_constraints),
    ]
