"""Indexes for the access log of health data (issue 12, ``clients.audit``).

The rows are django-auditlog's ``LogEntry``; the client each row is about is
``additional_data -> 'client_id'`` (a row about a screening points at the screening,
so ``object_id`` alone cannot say whose it is). The manager's "Access log" page
filters by client or by staff member, newest first: one index for each.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0006_client_erased"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX clients_audit_client_time ON auditlog_logentry "
                "((additional_data -> 'client_id'), timestamp DESC)"
            ),
            reverse_sql="DROP INDEX clients_audit_client_time",
        ),
        migrations.RunSQL(
            sql=(
                "CREATE INDEX clients_audit_actor_time ON auditlog_logentry "
                "(actor_id, timestamp DESC)"
            ),
            reverse_sql="DROP INDEX clients_audit_actor_time",
        ),
    ]
