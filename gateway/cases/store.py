"""Storage of cases, their events, materials, staged uploads, accounts and sessions.

SQLite by default: the file is ``<data_dir>/cases.db`` (WAL), apart from the log's. Given a
``postgresql://`` URL the same tables are in PostgreSQL, their schema migration 0003
(``gateway/storage/schema/0003_cases.sql``); the SQL is written once (``gateway.storage.sql``)
and the tables read in insertion order carry an explicit ``rowid`` there, so the store names
its columns rather than reading ``SELECT *`` of them. Every write is one
transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), so a case and everything it carries are
in or out together. A transition is journalled first as an *intent* (the signed envelope and
the change it makes); once the exchange is durable in the log, the change is applied and the
intent removed in one transaction. An intent left by a crash is replayed at start (the
exchange is idempotent on its id), so a case never holds an exchange the log does not.

``system_events`` holds what the gateway itself changed on a case without an exchange (today:
a deadline recomputed once its year's holiday calendar was loaded); the timeline shows both.
``_migrate`` brings a SQLite database of an earlier release up to the schema when it is
opened; PostgreSQL's schema comes from the versioned migrations only.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.cases.sqlite_schema import SCHEMA
from gateway.errors import StorageError, storage_boundary
from gateway.exchange.loopguard import OffLoop, assert_off_loop
from gateway.storage import is_postgres_url, migrate, pg_boundary
from gateway.storage.sql import SqlConnection, ThreadConnections

__all__ = [
    "CASE_COLUMNS",
    "CASE_SELECT",
    "SCHEMA",
    "CaseStore",
]

CASE_COLUMNS = (
    "case_id", "number", "receiving_city", "window_region", "handling_region", "matter_code",
    "matter_name", "handling_mode", "status", "applicant_name_masked", "applicant_id_masked",
    "applicant_person_key", "applicant_level", "applicant_sealed", "promised_limit",
    "submitted_at", "accepted_on", "deadline", "deadline_missing_years", "finished_on",
    "rating", "rating_comment", "clerk", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "case_id", "seq", "transition", "status_after", "at", "actor", "note", "exchange_id",
    "kind", "sender", "recipient", "leaf_index", "tree_size", "receipt",
)  # fmt: skip
#: ``SELECT`` lists of the tables that have a ``rowid`` column on PostgreSQL (not read back).
CASE_SELECT = ", ".join(CASE_COLUMNS)
_SYSTEM_EVENT_SELECT = "case_id, at, transition, actor, note, detail"
_ACCESS_SELECT = "case_id, at, username, actor, item, item_label"
_APPLY_LOCK = 0x63617365  # "case": PostgreSQL advisory locks of apply(), per exchange id
_TABLES = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)", re.IGNORECASE)


@pg_boundary
@storage_boundary
class CaseStore(OffLoop):
    """One database, a SQLite file or a ``postgresql://`` URL (schema: the migrations); one
    connection per thread; every write one transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.postgres = is_postgres_url(self.path)
        self._connections = ThreadConnections(
            self.path, named_rows=True, setup=None if self.postgres else _foreign_keys_on
        )
        conn = self._open()
        if self.postgres:
            migrate(conn.raw)
            return
        conn.raw.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a SQLite database made by an earlier release up to ``SCHEMA``."""
        conn = self._open()
        columns = {r["name"] for r in conn.execute("PRAGMA table_info(cases)")}
        if "deadline_missing_years" not in columns:  # added with the provisional deadlines
            conn.execute("ALTER TABLE cases ADD COLUMN deadline_missing_years TEXT")
        conn.execute(  # covering: the once-a-second pass and the gauge never read the rows
            "CREATE INDEX IF NOT EXISTS cases_provisional_deadlines"
            " ON cases(status, deadline_missing_years, case_id)"
            " WHERE deadline_missing_years IS NOT NULL"
        )

    def _conn(self) -> SqlConnection:
        assert_off_loop("CaseStore")  # async callers: ``await store.run(...)``
        return self._open()

    def _open(self) -> SqlConnection:
        """This thread's connection (unchecked: the constructor, before serving). Rows are
        read by position or column name on both backends."""
        return self._connections.get()

    def ensure(self, script: str) -> None:
        """Run a schema script (CREATE ... IF NOT EXISTS) unchecked: for constructors, which
        run once before the gateway serves, never for a request. On PostgreSQL the tables
        come from the migrations: each table the script creates must exist already."""
        conn = self._open()
        if not self.postgres:
            conn.raw.executescript(script)
            return
        for table in _TABLES.findall(script):
            found = conn.execute("SELECT to_regclass(?)", (table,)).fetchone()
            if found is None or found[0] is None:
                raise StorageError(f"ensure: table {table} is in no PostgreSQL migration")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        """All-or-nothing: commit on success, roll back on any exception. A PostgreSQL
        error (in the body or at commit) arrives as :class:`StorageError`, as SQLite's do."""
        conn = self._conn()
        conn.begin()
        try:
            yield conn
        except BaseException as exc:
            conn.rollback()
            if self.postgres and isinstance(exc, conn.errors):
                raise StorageError(f"transaction: database error: {exc}") from exc
            raise
        try:
            conn.commit()
        except conn.errors as exc:
            if not self.postgres:
                raise
            conn.rollback()
            raise StorageError(f"transaction: database error at commit: {exc}") from exc

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        """Every row of ``sql`` (rows read by position or column name)."""
        return list(self._conn().execute(sql, params).fetchall())

    def one(self, sql: str, params: Any = ()) -> Any:
        """The first row of ``sql``, or None."""
        return self._conn().execute(sql, params).fetchone()

    # -- cases ----------------------------------------------------------------------------
    def case(self, case_id: str) -> dict[str, Any] | None:
        row = self.one(f"SELECT {CASE_SELECT} FROM cases WHERE case_id = ?", (case_id,))  # noqa: S608
        return None if row is None else dict(row)

    def events(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM events WHERE case_id = ? ORDER BY seq", (case_id,))
        return [dict(r) for r in rows]

    def event_by_exchange(self, exchange_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM events WHERE exchange_id = ?", (exchange_id,))
        return None if row is None else dict(row)

    def materials(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT case_id, material_id, name, filename, content_type, size, sm3"
            " FROM materials WHERE case_id = ? ORDER BY material_id",
            (case_id,),
        )
        return [dict(r) for r in rows]

    def material_blob(self, case_id: str, material_id: str) -> dict[str, Any] | None:
        row = self.one(
            "SELECT * FROM materials WHERE case_id = ? AND material_id = ?",
            (case_id, material_id),
        )
        return None if row is None else dict(row)

    def upload(self, upload_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM uploads WHERE upload_id = ?", (upload_id,))
        return None if row is None else dict(row)

    def insert_upload(self, row: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO uploads(upload_id, city, filename, content_type, size, sm3, sealed,"
                " created_at) VALUES (:upload_id, :city, :filename, :content_type, :size, :sm3,"
                " :sealed, :created_at)",
                row,
            )

    def counts(self) -> dict[str, int]:
        return {
            t: self.count(f"SELECT COUNT(*) FROM {t}")  # noqa: S608 - fixed table names
            for t in ("cases", "events", "materials", "uploads", "intents")
        }

    def count(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """The single number a ``SELECT COUNT(*)`` gives."""
        row = self.one(sql, params)
        return 0 if row is None else int(row[0])

    # -- intents and their application ----------------------------------------------------
    def add_intent(
        self, exchange_id: str, case_id: str, change: dict, signed: bytes, caller: str, now: float
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO intents(exchange_id, case_id, change, signed, caller, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (exchange_id, case_id, json.dumps(change, ensure_ascii=False), signed, caller, now),
            )

    def drop_intent(self, exchange_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM intents WHERE exchange_id = ?", (exchange_id,))

    def intents(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM intents ORDER BY created_at")
        return [{**dict(r), "change": json.loads(r["change"])} for r in rows]

    def apply(self, exchange_id: str, change: dict[str, Any], event: dict[str, Any]) -> bool:
        """Apply one journalled change with its event; False if the case moved meanwhile.

        ``change`` is ``{"create": {case row}, "materials": [...], "uploads": [...]}`` for a
        new case, or ``{"case_id", "from", "set": {columns}}`` for a transition.
        """
        with self.transaction() as conn:
            if conn.postgres:  # SQLite's BEGIN IMMEDIATE already lets one writer in at a time
                # a second process applying this exchange waits here, then finds it applied
                # (the two-key form: its own key space, "case" and the exchange id's hash)
                conn.execute(
                    "SELECT pg_advisory_xact_lock(CAST(? AS integer), hashtext(?))",
                    (_APPLY_LOCK, exchange_id),
                )
            if conn.execute(
                "SELECT 1 FROM events WHERE exchange_id = ?", (exchange_id,)
            ).fetchone():
                conn.execute("DELETE FROM intents WHERE exchange_id = ?", (exchange_id,))
                return True
            if "create" in change:
                row = {"deadline_missing_years": None, **change["create"]}  # older intents
                row = {**row, "applicant_sealed": bytes.fromhex(row["applicant_sealed"])}
                cols = ", ".join(CASE_COLUMNS)
                marks = ", ".join(":" + c for c in CASE_COLUMNS)
                conn.execute(f"INSERT INTO cases({cols}) VALUES ({marks})", row)  # noqa: S608
                for m in change.get("materials", []):
                    up = conn.execute(
                        "SELECT * FROM uploads WHERE upload_id = ?", (m["upload_id"],)
                    ).fetchone()
                    if up is None:
                        raise LookupError(f"upload {m['upload_id']} vanished")
                    conn.execute(
                        "INSERT INTO materials(case_id, material_id, name, filename,"
                        " content_type, size, sm3, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (row["case_id"], m["material_id"], m["name"], up["filename"],
                         up["content_type"], up["size"], up["sm3"], up["sealed"]),
                    )  # fmt: skip
                    conn.execute("DELETE FROM uploads WHERE upload_id = ?", (m["upload_id"],))
            else:
                sets = change["set"]
                assignments = ", ".join(f"{k} = :{k}" for k in sets)
                cur = conn.execute(
                    f"UPDATE cases SET {assignments} WHERE case_id = :_case AND status = :_from",  # noqa: S608
                    {**sets, "_case": change["case_id"], "_from": change["from"]},
                )
                if cur.rowcount != 1:
                    conn.execute("DELETE FROM intents WHERE exchange_id = ?", (exchange_id,))
                    return False
                _apply_supplement(conn, change)
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE case_id = ?",
                (event["case_id"],),
            ).fetchone()[0]
            conn.execute(
                f"INSERT INTO events({', '.join(EVENT_COLUMNS)})"  # noqa: S608
                f" VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)})",
                {**event, "seq": seq},
            )
            conn.execute("DELETE FROM intents WHERE exchange_id = ?", (exchange_id,))
        return True

    # -- calendar-provisional deadlines ----------------------------------------------------
    def provisional(
        self, statuses: tuple[str, ...], covered: frozenset[int] | None = None
    ) -> list[str]:
        """Ids of cases in ``statuses`` whose deadline was counted through a year with no
        calendar; with ``covered``, only those missing one of these years (now loaded)."""
        marks = ", ".join("?" for _ in statuses)
        sql = (
            "SELECT case_id FROM cases"  # noqa: S608 - placeholders only
            f" WHERE deadline_missing_years IS NOT NULL AND status IN ({marks})"
        )
        params: list[Any] = list(statuses)
        if covered is not None:
            if not covered:
                return []
            # the column is "2027" or "2027,2028": match whole years
            match = "',' || deadline_missing_years || ',' LIKE ?"
            sql += " AND (" + " OR ".join(match for _ in covered) + ")"
            params += [f"%,{int(y)},%" for y in sorted(covered)]
        return [r["case_id"] for r in self.query(sql, params)]

    def count_provisional(self, statuses: tuple[str, ...]) -> int:
        """How many cases in ``statuses`` have a calendar-provisional deadline."""
        marks = ", ".join("?" for _ in statuses)
        sql = (
            "SELECT COUNT(*) FROM cases"  # noqa: S608 - placeholders only
            f" WHERE deadline_missing_years IS NOT NULL AND status IN ({marks})"
        )
        row = self.one(sql, statuses)
        return int(row[0]) if row else 0

    def set_deadline(
        self, case_id: str, was: dict[str, Any], sets: dict[str, Any], event: dict[str, Any]
    ) -> bool:
        """Recompute one case's deadline with its timeline event, if the case still has the
        ``status`` and ``deadline`` of ``was``; False if it moved meanwhile."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE cases SET deadline = :deadline,"
                " deadline_missing_years = :deadline_missing_years, updated_at = :updated_at"
                " WHERE case_id = :_case AND status = :_status AND deadline = :_deadline",
                {**sets, "_case": case_id, "_status": was["status"], "_deadline": was["deadline"]},
            )
            if cur.rowcount != 1:
                return False
            conn.execute(
                "INSERT INTO system_events(case_id, at, transition, actor, note, detail)"
                " VALUES (:case_id, :at, :transition, :actor, :note, :detail)",
                {**event, "case_id": case_id, "detail": json.dumps(event["detail"])},
            )
        return True

    def system_events(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            f"SELECT {_SYSTEM_EVENT_SELECT} FROM system_events"  # noqa: S608 - fixed columns
            " WHERE case_id = ? ORDER BY rowid",
            (case_id,),
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    # -- accesses (handler's view) ----------------------------------------------------------
    def record_access(self, row: dict[str, Any]) -> None:
        """One opening of a sealed item (a material, the applicant): who, when, which item
        (its id and catalogue name, never its content)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO accesses(case_id, at, username, actor, item, item_label)"
                " VALUES (:case_id, :at, :username, :actor, :item, :item_label)",
                row,
            )

    def accesses(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            f"SELECT {_ACCESS_SELECT} FROM accesses"  # noqa: S608 - fixed columns
            " WHERE case_id = ? ORDER BY rowid",
            (case_id,),
        )
        return [dict(r) for r in rows]

    # -- 补正 (supplement) rounds -------------------------------------------------------------
    def supplements(self, case_id: str) -> list[dict[str, Any]]:
        """The case's 补正 rounds, oldest first (``items`` decoded)."""
        rows = self.query("SELECT * FROM supplements WHERE case_id = ? ORDER BY round", (case_id,))
        return [{**dict(r), "items": json.loads(r["items"])} for r in rows]

    def close(self) -> None:
        """Close every thread's connection (the store is not used after)."""
        self._connections.close()


def _foreign_keys_on(conn: SqlConnection) -> None:
    conn.execute("PRAGMA foreign_keys=ON")


def _apply_supplement(conn: SqlConnection, change: dict[str, Any]) -> None:
    """The 补正 parts of a transition's change, in its transaction: ``supplement_open`` (a
    new round), ``supplement_close`` (the round resumed) and ``attach`` (staged uploads that
    become the case's materials, replacing a material of the same id)."""
    case_id = change["case_id"]
    opened = change.get("supplement_open")
    if opened is not None:
        n = conn.execute(
            "SELECT COALESCE(MAX(round) + 1, 1) FROM supplements WHERE case_id = ?", (case_id,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO supplements(case_id, round, from_status, requested_at, requested_on,"
            " items, note, deadline_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, n, opened["from_status"], opened["requested_at"], opened["requested_on"],
             json.dumps(opened["items"], ensure_ascii=False), opened["note"],
             opened["deadline_before"]),
        )  # fmt: skip
    closed = change.get("supplement_close")
    if closed is not None:
        conn.execute(
            "UPDATE supplements SET resumed_at = ?, resumed_on = ?, deadline_after = ?"
            " WHERE case_id = ? AND resumed_at IS NULL",
            (closed["resumed_at"], closed["resumed_on"], closed["deadline_after"], case_id),
        )
    for m in change.get("attach", []):
        up = conn.execute("SELECT * FROM uploads WHERE upload_id = ?", (m["upload_id"],)).fetchone()
        if up is None:
            raise LookupError(f"upload {m['upload_id']} vanished")
        conn.execute(  # replaces a material of the same id (an upsert both backends take)
            "INSERT INTO materials(case_id, material_id, name, filename, content_type, size,"
            " sm3, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (case_id, material_id) DO UPDATE SET name = excluded.name,"
            " filename = excluded.filename, content_type = excluded.content_type,"
            " size = excluded.size, sm3 = excluded.sm3, sealed = excluded.sealed",
            (case_id, m["material_id"], m["name"], up["filename"], up["content_type"],
             up["size"], up["sm3"], up["sealed"]),
        )  # fmt: skip
        conn.execute("DELETE FROM uploads WHERE upload_id = ?", (m["upload_id"],))
