"""Bulk loading with PostgreSQL ``COPY``, driven by the models' own field list.

Used by the bench's data builders (``bench/data.py`` for the clinic, ``bench/peer.py`` for
django-appointment); imports nothing but Django, so it runs in either virtualenv.

A row is a dict keyed by field ``attname`` (``client_id``, not ``client``). A field the row
leaves out gets the model's own default (``auto_now``/``auto_now_add``: the load's start),
so a field another engineer adds with a default needs no change here; one added without a
default makes the COPY fail, naming the column, which is the point. Primary keys are given
by the builder (it needs them for foreign keys); ``sequences_reset`` moves the sequences
past them afterwards.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import time
import uuid
from collections.abc import Callable, Iterable

from django.db import connection, models
from django.utils import timezone

CHUNK_ROWS = 20_000


def _text(value: str) -> str:
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _encoder(field: models.Field) -> Callable[[object], str]:
    """The value as COPY's text format wants it."""
    kind = field.get_internal_type()
    if kind == "JSONField":
        return lambda v: _text(json.dumps(v))
    if kind == "BooleanField":
        return lambda v: "t" if v else "f"
    if kind == "BinaryField":
        return lambda v: "\\\\x" + bytes(v).hex()

    def encode(value: object) -> str:
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, int | decimal.Decimal | uuid.UUID):
            return str(value)
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return value.isoformat()
        if isinstance(value, dt.timedelta):
            return f"{value.total_seconds()} seconds"
        if isinstance(value, models.Model):
            return str(value.pk)
        return _text(str(value))

    return encode


class Table:
    """How to COPY one model: its columns, their encoders and the defaults."""

    def __init__(self, model: type[models.Model], now: dt.datetime):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        self.encoders = [_encoder(f) for f in self.fields]
        self.defaults = [self._default(f, now) for f in self.fields]

    @staticmethod
    def _default(field: models.Field, now: dt.datetime) -> tuple[object, Callable | None]:
        """(value, None), or (None, factory) for a unique field with a callable default."""
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return (now.date() if field.get_internal_type() == "DateField" else now), None
        if field.has_default() and callable(field.default) and field.unique:
            return None, field.get_default  # a fresh value per row (uuid4 and the like)
        value = field.get_default()
        if isinstance(value, dt.datetime) and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value, None

    def line(self, row: dict) -> str:
        out = []
        for field, encode, (default, factory) in zip(
            self.fields, self.encoders, self.defaults, strict=True
        ):
            if field.attname in row:
                value = row[field.attname]
            else:
                value = factory() if factory else default
            out.append("\\N" if value is None else encode(value))
        return "\t".join(out)


class Copier:
    """COPY rows into their tables and keep count (rows and seconds) for the report."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.rows = 0
        self.seconds = 0.0
        self.per_table: dict[str, int] = {}
        self.per_table_seconds: dict[str, float] = {}
        self._tables: dict[type, Table] = {}

    def copy(self, model: type[models.Model], rows: Iterable[dict]) -> int:
        table = self._tables.get(model) or self._tables.setdefault(model, Table(model, self.now))
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({table.columns}) FROM STDIN"
        count = 0
        started = time.perf_counter()
        buffer = io.StringIO()
        pending = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
            for row in rows:
                buffer.write(table.line(row))
                buffer.write("\n")
                pending += 1
                if pending >= CHUNK_ROWS:
                    buffer.seek(0)
                    raw.copy_expert(sql, buffer)
                    count += pending
                    buffer, pending = io.StringIO(), 0
            if pending:
                buffer.seek(0)
                raw.copy_expert(sql, buffer)
                count += pending
        took = time.perf_counter() - started
        self.seconds += took
        self.rows += count
        name = model._meta.label
        self.per_table[name] = self.per_table.get(name, 0) + count
        self.per_table_seconds[name] = self.per_table_seconds.get(name, 0.0) + took
        return count

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def sequences_reset(models_: Iterable[type[models.Model]]) -> None:
    """Move each table's id sequence past the ids the builder gave."""
    with connection.cursor() as cursor:
        for model in models_:
            pk = model._meta.pk
            if not isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField):
                continue
            table = model._meta.db_table
            quote = connection.ops.quote_name
            sql = (
                "SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608 - names, not input
                f"COALESCE((SELECT MAX({quote(pk.column)}) FROM {quote(table)}), 0) + 1, false)"
            )
            cursor.execute(sql, [table, pk.column])


class IndexesDeferred:
    """Drop the tables' secondary indexes and unique/exclusion constraints for the load and
    build them again from their own definitions afterwards (``pg_get_indexdef``,
    ``pg_get_constraintdef``): one bulk build instead of 300k GiST insertions. Whatever
    indexes the app has when the bench runs are the ones rebuilt; ``seconds`` is the
    rebuild's time, which the reported rate includes."""

    def __init__(self, models_: Iterable[type[models.Model]]):
        self.tables = [m._meta.db_table for m in models_]
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[tuple[str, str]] = []
        self.seconds = 0.0
        self.slowest: list[tuple[float, str]] = []

    def timings(self, name: str, cursor, sql: str) -> None:
        started = time.perf_counter()
        cursor.execute(sql)
        self.slowest.append((round(time.perf_counter() - started, 2), name))

    def __enter__(self) -> IndexesDeferred:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                "WHERE t.relname = ANY(%s) AND c.contype IN ('u', 'x') ORDER BY c.conname",
                [self.tables],
            )
            self.constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                "WHERE t.relname = ANY(%s) AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [self.tables],
            )
            self.indexes = cursor.fetchall()
            for table, name, _ in self.constraints:
                cursor.execute(
                    f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}"
                )
            for name, _ in self.indexes:
                cursor.execute(f"DROP INDEX {name}")
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            return
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # The deferred foreign-key checks of the load run now (an index cannot be built
            # on a table with checks pending); they count in the rebuild's time.
            timed = self.timings
            timed("SET CONSTRAINTS ALL IMMEDIATE", cursor, "SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for name, definition in self.indexes:
                timed(name, cursor, definition)
            for table, name, definition in self.constraints:
                timed(
                    name,
                    cursor,
                    f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} "
                    f"{definition}",
                )
        self.seconds = time.perf_counter() - started


class ForeignKeyChecksDeferred:
    """Load with the row-by-row foreign-key triggers off (``session_replication_role``, as
    ``pg_restore --disable-triggers`` does), then check every foreign key of the loaded
    tables in one anti-join each: the same guarantee for a fraction of the time."""

    def __init__(self, models_: Iterable[type[models.Model]]):
        self.models = list(models_)
        self.seconds = 0.0

    def __enter__(self) -> ForeignKeyChecksDeferred:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        return self

    def __exit__(self, *exc) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        if exc[0] is not None:
            return
        started = time.perf_counter()
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in self.models:
                for field in model._meta.concrete_fields:
                    if not field.is_relation or not field.db_constraint:
                        continue
                    target = field.target_field
                    column, key = quote(field.column), quote(target.column)
                    sql = (
                        f"SELECT COUNT(*) FROM {quote(model._meta.db_table)} t "  # noqa: S608
                        f"LEFT JOIN {quote(target.model._meta.db_table)} r ON t.{column} = r.{key} "
                        f"WHERE t.{column} IS NOT NULL AND r.{key} IS NULL"
                    )
                    cursor.execute(sql)
                    (broken,) = cursor.fetchone()
                    if broken:
                        raise AssertionError(
                            f"bench data: {broken} rows of {model._meta.label}.{field.name} "
                            "point at nothing"
                        )
        self.seconds = time.perf_counter() - started
