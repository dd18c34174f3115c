"""Queries on every request's path that the ORM writes once per process and PostgreSQL
plans once per connection (issue 14).

Building a query with the ORM and planning it in the database each cost more than
running an index lookup: for the API token lookup and a client's eligibility facts,
about as much as the whole one-primary-key floor request. A ``Statement`` compiles its
queryset once, with stand-in values it then finds among the compiled parameters; each
call binds the real values in their place. On PostgreSQL the statement is prepared
(``PREPARE``) once per database connection, as Django sets a connection up (on the
driver's own cursor, so once per connection, not per request); elsewhere it runs as is.
The rows come back through the same converters the ORM would apply.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections, models
from django.db.models import QuerySet

# The SQL of each statement, by name, as written (``%s`` for each value): the data version
# (``clinic.dataversion``) reads it to know whether an ``EXECUTE`` of one writes.
_SQL: dict[str, str] = {}
_EXECUTE = re.compile(r"^\s*EXECUTE\s+(\w+)", re.I)


def sql_executed(sql: str) -> str | None:
    """The statement that ``sql`` (an ``EXECUTE name(...)``) runs, if it is one of ours."""
    match = _EXECUTE.match(sql)
    return _SQL.get(match.group(1)) if match else None


class Statement:
    """``build(**stand_ins)`` is the queryset; ``fields`` names a model field per
    stand-in, to put a value in the database's terms as the ORM does."""

    def __init__(
        self,
        name: str,
        build: Callable[..., QuerySet],
        *,
        stand_ins: dict[str, object],
        fields: dict[str, models.Field],
    ):
        self.name = name
        self.build = build
        self.stand_ins = stand_ins
        self.fields = fields
        self._compiled: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def rows(self, *, using: str = "default", **values) -> list[tuple]:
        connection = connections[using]
        sql, params, slots, converters = self._compile(using)
        bound = {name: self._adapt(name, value, connection) for name, value in values.items()}
        arguments = [bound[slots[i]] if i in slots else p for i, p in enumerate(params)]
        with connection.cursor() as cursor:
            if _prepares(connection):
                cursor.execute(self._prepared(connection, sql, len(arguments)), arguments)
            else:
                cursor.execute(sql, arguments)
            rows = cursor.fetchall()
        if not converters:
            return rows
        return [_converted(row, converters, connection) for row in rows]

    def _adapt(self, name: str, value, connection):
        return self.fields[name].get_db_prep_value(value, connection, prepared=False)

    def _compile(self, using: str) -> tuple:
        if using not in self._compiled:
            with self._lock:
                if using not in self._compiled:
                    self._compiled[using] = self._write(using)
        return self._compiled[using]

    def _write(self, using: str) -> tuple:
        connection = connections[using]
        compiler = self.build(**self.stand_ins).query.get_compiler(using)
        sql, params = compiler.as_sql()
        if "%%" in sql:
            raise RuntimeError(f"{self.name}: a literal % in the statement")
        adapted = {name: self._adapt(name, v, connection) for name, v in self.stand_ins.items()}
        slots = {
            index: name
            for index, param in enumerate(params)
            for name, value in adapted.items()
            if type(param) is type(value) and param == value
        }
        if set(slots.values()) != set(self.stand_ins):
            raise RuntimeError(f"{self.name}: stand-ins not found in {params!r}")
        selected = [column for column, _, _ in compiler.select]
        converters = compiler.get_converters(selected)
        _SQL[self.name] = sql
        return sql, tuple(params), slots, converters

    def _prepared(self, connection, sql: str, count: int) -> str:
        return _prepared(connection, self.name, sql, count)


def _prepares(connection) -> bool:
    """PostgreSQL, unless DATABASE_PREPARED_STATEMENTS is off (behind a transaction-mode
    pooler, where a PREPARE and its EXECUTE may reach different server sessions)."""
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


def _prepared(connection, name: str, sql: str, count: int) -> str:
    """``EXECUTE`` of the statement ``name``, prepared first if this database connection
    does not have it yet (a new connection is a new session)."""
    prepared_on = connection.__dict__.setdefault("_clinic_prepared", {})
    if prepared_on.get(name) is not connection.connection:
        numbers = iter(range(1, count + 1))
        numbered = re.sub("%s", lambda _: f"${next(numbers)}", sql)
        with connection.connection.cursor() as cursor:
            cursor.execute(f"PREPARE {name} AS {numbered}")
        prepared_on[name] = connection.connection
    return f"EXECUTE {name}({', '.join(['%s'] * count)})"


def _converted(row: tuple, converters: dict, connection) -> tuple:
    values = list(row)
    for position, (functions, expression) in converters.items():
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return tuple(values)


class Insert:
    """The INSERT of one new row of ``model`` (every concrete field but the automatic
    primary key, nothing returned), written by the ORM once per process and prepared once
    per database connection, like ``Statement``. ``execute(obj)`` writes ``obj`` as
    ``obj.save()`` would write it (each field's ``pre_save`` and database value, as
    Django's own INSERT takes them), but sends no model signals and sets no primary key:
    for rows that nothing listens for and nobody reads back (the access log's reads).

    Only for tables the data version leaves out (``clinic.dataversion.QUIET_TABLES``): a
    row the data version should see goes through the ORM."""

    def __init__(self, name: str, model: type[models.Model]):
        self.name = name
        self.model = model
        opts = model._meta
        self.fields = [
            f
            for f in opts.local_concrete_fields
            if f is not opts.auto_field and not getattr(f, "generated", False)
        ]
        self._compiled: dict[str, str] = {}
        self._lock = threading.Lock()

    def execute(self, obj: models.Model, *, using: str = "default") -> None:
        connection = connections[using]
        values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in self.fields]
        sql = self._compile(using, obj)
        with connection.cursor() as cursor:
            if _prepares(connection):
                cursor.execute(_prepared(connection, self.name, sql, len(values)), values)
            else:
                cursor.execute(sql, values)

    def _compile(self, using: str, obj: models.Model) -> str:
        if using not in self._compiled:
            with self._lock:
                if using not in self._compiled:
                    self._compiled[using] = self._write(using, obj)
        return self._compiled[using]

    def _write(self, using: str, obj: models.Model) -> str:
        from django.db.models.sql import InsertQuery

        from clinic.dataversion import changes_data

        query = InsertQuery(self.model)
        query.insert_values(self.fields, [obj])
        [(sql, params)] = query.get_compiler(using=using).as_sql()
        if changes_data(sql):
            raise RuntimeError(f"{self.name}: the data version would not see this write")
        if "%%" in sql or sql.count("%s") != len(self.fields) or len(params) != len(self.fields):
            raise RuntimeError(f"{self.name}: not one plain placeholder per field")
        _SQL[self.name] = sql
        return sql
