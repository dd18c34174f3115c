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

from django.db import connections, models
from django.db.models import QuerySet


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
            if connection.vendor == "postgresql":
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
        return sql, tuple(params), slots, converters

    def _prepared(self, connection, sql: str, count: int) -> str:
        """``EXECUTE`` of the statement, prepared first if this database connection
        does not have it yet (a new connection is a new session)."""
        prepared_on = connection.__dict__.setdefault("_clinic_prepared", {})
        if prepared_on.get(self.name) is not connection.connection:
            numbers = iter(range(1, count + 1))
            numbered = re.sub("%s", lambda _: f"${next(numbers)}", sql)
            with connection.connection.cursor() as cursor:
                cursor.execute(f"PREPARE {self.name} AS {numbered}")
            prepared_on[self.name] = connection.connection
        return f"EXECUTE {self.name}({', '.join(['%s'] * count)})"


def _converted(row: tuple, converters: dict, connection) -> tuple:
    values = list(row)
    for position, (functions, expression) in converters.items():
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return tuple(values)
