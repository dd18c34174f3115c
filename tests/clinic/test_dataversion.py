"""What the data version counts as a write (clinic.dataversion), on every database the
app runs on: the cache may only serve a part while nothing it shows has changed."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from clinic import dataversion
from tests.factories import ClientFactory


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "clients_client" ("first_name") VALUES (%s) RETURNING "id"',
        'UPDATE "sessions_app_session" SET "status" = %s',
        "SET LOCAL synchronous_commit TO OFF; INSERT INTO clients_client VALUES (1)",
        "EXECUTE clinic_something(1)",
        "WITH moved AS (UPDATE sessions_app_session SET x = 1 RETURNING id) SELECT 1",
    ],
)
def test_writes_that_count(sql):
    assert dataversion.changes_data(sql)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "id" FROM "clients_client"',
        "SET LOCAL synchronous_commit TO OFF; INSERT INTO auditlog_logentry VALUES (1)",
        'UPDATE "django_session" SET "expire_date" = %s',
    ],
)
def test_statements_that_do_not(sql):
    assert not dataversion.changes_data(sql)


@pytest.mark.sqlite_too
@pytest.mark.django_db
def test_a_model_insert_is_a_write_on_every_database():
    # Django writes save() as INSERT ... RETURNING; SQLite's cursor reports 0 rows for it
    # until they are fetched, which once hid every new client, booking and screening.
    with transaction.atomic():
        assert not dataversion.writes_pending()
        ClientFactory()
        assert dataversion.writes_pending()


@pytest.mark.sqlite_too
@pytest.mark.django_db
def test_an_update_that_matched_nothing_is_not_a_write():
    from sessions_app.models import Session

    with transaction.atomic():
        Session.objects.filter(pk=-1).update(status="cancelled")
        assert not dataversion.writes_pending()


@pytest.mark.django_db
def test_the_key_names_the_database_server_not_only_the_database():
    settings = connection.settings_dict
    key = dataversion._key("dataversion")
    assert settings["NAME"] in key
    assert f":{settings['HOST']}:{settings['PORT']}:" in key


@pytest.mark.django_db(transaction=True)
def test_a_migrate_retires_every_cached_part():
    before = dataversion.current()
    call_command("migrate", verbosity=0)
    assert dataversion.current() != before


@pytest.mark.django_db
def test_a_celery_worker_pays_an_owed_bump_before_its_next_task(monkeypatch):
    from celery.signals import task_prerun

    before = dataversion.current()
    monkeypatch.setattr(dataversion, "_owed", True)
    task_prerun.send(sender=None, task_id="t", task=None, args=(), kwargs={})
    assert not dataversion._owed
    assert dataversion.current() != before
