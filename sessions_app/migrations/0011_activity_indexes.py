# The navigation's client-activity count reads only the rows it counts (issue 14).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0010_session_length_bound"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="session",
            index=models.Index(
                condition=models.Q(("booked_online", True)),
                fields=["booked_at"],
                name="session_online_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="session",
            index=models.Index(
                condition=models.Q(("cancelled_by_client", True)),
                fields=["cancelled_at"],
                name="session_client_cancel_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="session",
            index=models.Index(
                condition=models.Q(("client_confirmed_at__isnull", False)),
                fields=["client_confirmed_at"],
                name="session_confirmed_idx",
            ),
        ),
    ]
