"""Bulk loading for generated data: rows with explicit ids, by COPY (PostgreSQL) or executemany.

The rows are trusted to be consistent by construction (generate_load builds them); the
writer only makes appending them fast.
"""

from __future__ import annotations

import json
import queue
import threading
from datetime import datetime

from django.core.management.base import CommandError
from django.db import connection, models

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class Writer:
    """Appends rows to tables, with explicit ids, by COPY (PostgreSQL) or executemany.

    On PostgreSQL a second thread with its own connection sends the COPY data while this
    thread builds the next chunk, so Python and the database work on both cores at once.
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.next_ids: dict[type[models.Model], int] = {}
        self.counts: dict[str, int] = {}
        self.layouts: dict[type[models.Model], tuple] = {}
        self.failure: BaseException | None = None
        if self.postgres:
            self.outbox: queue.Queue = queue.Queue(maxsize=4)
            self.sender = threading.Thread(target=self._send, daemon=True)
            self.sender.start()

    def _send(self) -> None:
        from django.db import connections

        db = connections["default"]  # this thread's own connection, in autocommit
        cursor = None
        try:
            while (item := self.outbox.get()) is not None:
                try:
                    if self.failure is None:
                        cursor = cursor or self._bulk_cursor(db)
                        statement, payload = item
                        with cursor.cursor.copy(statement) as copy:
                            copy.write(payload)
                except BaseException as error:  # reported to the main thread at its next write
                    self.failure = error
                finally:
                    self.outbox.task_done()
            self.outbox.task_done()
        finally:
            db.close()

    @staticmethod
    def _bulk_cursor(db):
        cursor = db.cursor()
        # A bulk load of rows consistent by construction: skip per-row foreign-key triggers
        # (superusers only) and do not wait for each commit to reach the disk.
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET session_replication_role = replica")
        return cursor

    def reserve(self, model: type[models.Model]) -> None:
        last = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
        self.next_ids[model] = last + 1

    def new_id(self, model: type[models.Model]) -> int:
        value = self.next_ids[model]
        self.next_ids[model] = value + 1
        return value

    def _layout(self, model: type[models.Model]) -> tuple:
        if model not in self.layouts:
            fields = list(model._meta.concrete_fields)
            defaults = {}
            for f in fields:
                if f.has_default():
                    defaults[f.attname] = f.get_default()
                elif f.null:
                    defaults[f.attname] = None
                elif f.blank and isinstance(f, models.CharField | models.TextField):
                    defaults[f.attname] = ""
            names = [f.attname for f in fields]
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            table = connection.ops.quote_name(model._meta.db_table)
            quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            self.layouts[model] = (names, defaults, json_at, table, quoted)
        return self.layouts[model]

    def write(self, model: type[models.Model], rows: list[dict]) -> None:
        if not rows:
            return
        if self.failure is not None:
            raise CommandError(f"Loading failed: {self.failure}") from self.failure
        names, defaults, json_at, table, quoted = self._layout(model)

        def values(row: dict) -> list:
            out = [row[name] if name in row else defaults[name] for name in names]
            for i in json_at:
                out[i] = json.dumps(out[i])
            return out

        if self.postgres:
            # Text COPY, formatted here: several times faster than write_row per row.
            payload = "".join(
                "\t".join([copy_text(v) for v in values(row)]) + "\n" for row in rows
            ).encode()
            self.outbox.put((f"COPY {table} ({quoted}) FROM STDIN", payload))
        else:
            marks = ", ".join(["%s"] * len(names))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({marks})",
                    [tuple(values(r)) for r in rows],
                )
        self.counts[model._meta.label] = self.counts.get(model._meta.label, 0) + len(rows)

    def flush(self) -> None:
        """Wait until the rows written so far are committed, leaving the sender running."""
        if self.postgres:
            self.outbox.join()
        if self.failure is not None:
            raise CommandError(f"Loading failed: {self.failure}") from self.failure

    def drain(self) -> None:
        """Wait until everything written so far is in the database."""
        if not self.postgres:
            return
        self.outbox.put(None)
        self.sender.join()
        if self.failure is not None:
            raise CommandError(f"Loading failed: {self.failure}") from self.failure

    def drop_indexes(self, models_: list[type[models.Model]]) -> list[str]:
        """Drop the plain (non-unique) indexes of big tables; returns how to recreate them."""
        tables = [m._meta.db_table for m in models_]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid "
                "WHERE i.tablename = ANY(%s) AND NOT x.indisunique",
                [tables],
            )
            found = cursor.fetchall()
            for name, _ in found:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        return [definition for _, definition in found]

    def create_indexes(self, definitions: list[str], models_: list[type[models.Model]]) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for definition in definitions:
                cursor.execute(definition)
            for model in models_:
                # As autovacuum would leave a settled table: statistics and a visibility map,
                # so counts can be answered from indexes.
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"VACUUM (ANALYZE) {table}")

    def finish(self) -> None:
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for model in self.next_ids:
                table = model._meta.db_table
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}))",
                    [table],
                )
            # Fresh statistics for the small tables too (users, profiles, markets): without
            # them the planner guesses, and autovacuum may be off or minutes away.
            cursor.execute("ANALYZE")
