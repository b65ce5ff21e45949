"""Numbered schema migrations, the same numbers on SQLite and PostgreSQL.

Each entry moves the schema from version ``n`` to ``n + 1`` and runs in the same transaction
as its version bump, so a crash mid-upgrade leaves the previous version intact. Never edit a
released migration; append a new one. A script is written once in SQL both engines take
(the PostgreSQL backend reads ``REAL`` as 8-byte floats and quotes the ``user`` column); a
step that cannot be is a ``{"sqlite": ..., "postgresql": ...}`` pair. The version lives in
``PRAGMA user_version`` on SQLite and in the ``schema_migration`` table on PostgreSQL, where an
advisory lock lets one of many workers starting at once apply them.
"""

from __future__ import annotations

import sqlite3
from typing import Union

from .db_backend import Backend
from .db_sqlite import SqliteBackend

Script = Union[str, dict[str, str]]
ENGINES = ("sqlite", "postgresql")

#: migration 2, in the order it always ran on SQLite: the columns, their backfill (JSON read by
#: each engine's own functions), the indexes and tables, then the count triggers
_M2_COLUMNS = """
ALTER TABLE task ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task ADD COLUMN requeued_from TEXT;
ALTER TABLE task ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE task ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task ADD COLUMN checkpoint_key TEXT;
ALTER TABLE task ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
"""
_M2_BACKFILL = {
    "sqlite": """
UPDATE task SET
    checkpoint_key = lower(checkpoint),
    search_text = lower(name || ' ' || coalesce(json_extract(params, '$.prompt'), '') || ' '
                        || coalesce(checkpoint, ''));
""",
    "postgresql": """
UPDATE task SET
    checkpoint_key = lower(checkpoint),
    search_text = lower(name || ' ' || coalesce(params::json ->> 'prompt', '') || ' '
                        || coalesce(checkpoint, ''));
""",
}
_M2_TABLES = """
CREATE INDEX idx_task_created ON task (created_at);
CREATE INDEX idx_task_pending_order ON task (priority DESC, position) WHERE status = 'pending';
CREATE INDEX idx_task_pending_position ON task (position) WHERE status = 'pending';
CREATE INDEX idx_task_pending_checkpoint ON task (checkpoint_key, priority, position)
    WHERE status = 'pending';
CREATE INDEX idx_task_bookmarked ON task (bookmarked, created_at) WHERE bookmarked = 1;
CREATE INDEX idx_task_job ON task (job_id) WHERE job_id IS NOT NULL;
CREATE TABLE task_file (
    task_id TEXT NOT NULL REFERENCES task (id) ON DELETE CASCADE,
    ref     TEXT NOT NULL,
    PRIMARY KEY (task_id, ref)
);
CREATE INDEX idx_task_file_ref ON task_file (ref);
CREATE TABLE task_count (status TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO task_count (status, n) SELECT status, count(*) FROM task GROUP BY status;
"""
_M2_TRIGGERS = {
    "sqlite": """
CREATE TRIGGER task_count_insert AFTER INSERT ON task BEGIN
    INSERT INTO task_count (status, n) VALUES (new.status, 1)
        ON CONFLICT(status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER task_count_delete AFTER DELETE ON task BEGIN
    UPDATE task_count SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER task_count_status AFTER UPDATE OF status ON task
    WHEN new.status != old.status BEGIN
    UPDATE task_count SET n = n - 1 WHERE status = old.status;
    INSERT INTO task_count (status, n) VALUES (new.status, 1)
        ON CONFLICT(status) DO UPDATE SET n = n + 1;
END;
""",
    # PL/pgSQL triggers, and the JSON helpers SQLite has built in (JSON1), tolerant of a
    # damaged row as json_valid makes it there
    "postgresql": """
CREATE FUNCTION task_count_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE task_count SET n = n - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO task_count (status, n) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET n = task_count.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION ts_json_number(doc TEXT, key TEXT) RETURNS DOUBLE PRECISION LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item jsonb;
BEGIN
    item := doc::jsonb -> key;
    RETURN CASE jsonb_typeof(item)
        WHEN 'number' THEN item::text::double precision
        WHEN 'boolean' THEN CASE WHEN item = 'true'::jsonb THEN 1 ELSE 0 END
    END;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE FUNCTION ts_json_array_length(doc TEXT, key TEXT) RETURNS INTEGER LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item jsonb;
BEGIN
    item := doc::jsonb -> key;
    RETURN CASE WHEN jsonb_typeof(item) = 'array' THEN jsonb_array_length(item) END;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE TRIGGER task_count_insert AFTER INSERT ON task FOR EACH ROW EXECUTE FUNCTION task_count_track();
CREATE TRIGGER task_count_delete AFTER DELETE ON task FOR EACH ROW EXECUTE FUNCTION task_count_track();
CREATE TRIGGER task_count_status AFTER UPDATE OF status ON task FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION task_count_track();
""",
}


_M2 = {engine: _M2_COLUMNS + _M2_BACKFILL[engine] + _M2_TABLES + _M2_TRIGGERS[engine] for engine in ENGINES}

MIGRATIONS: list[tuple[str, Script]] = [
    (
        "tasks and queue state",
        """
        CREATE TABLE task (
            id            TEXT PRIMARY KEY,
            kind          TEXT NOT NULL,
            name          TEXT NOT NULL DEFAULT '',
            status        TEXT NOT NULL,
            params        TEXT NOT NULL,
            script_args   TEXT NOT NULL DEFAULT '{}',
            script_name   TEXT,
            checkpoint    TEXT,
            source        TEXT NOT NULL DEFAULT 'api',
            priority      INTEGER NOT NULL DEFAULT 0,
            position      REAL NOT NULL DEFAULT 0,
            job_id        TEXT,
            bookmarked    INTEGER NOT NULL DEFAULT 0,
            created_at    REAL NOT NULL,
            updated_at    REAL NOT NULL,
            started_at    REAL,
            finished_at   REAL,
            result        TEXT,
            error         TEXT,
            attempts      INTEGER NOT NULL DEFAULT 0,
            user          TEXT,
            callback_url  TEXT
        );
        CREATE INDEX idx_task_status_created ON task (status, created_at);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta (key, value) VALUES ('revision', '0'), ('paused', '0');
        """,
    ),
    (
        "crash accounting, requeue links, warnings, explicit order, input files, counts, paging indexes",
        {
            engine: _M2_COLUMNS + _M2_BACKFILL[engine] + _M2_TABLES + _M2_TRIGGERS[engine]
            for engine in ENGINES
        },
    ),
    (
        "jobs: named groups of tasks, a per-job hold, and keep / discard marks on their images",
        """
        CREATE TABLE job (
            id              TEXT PRIMARY KEY,
            name            TEXT NOT NULL DEFAULT '',
            created_at      REAL NOT NULL,
            updated_at      REAL NOT NULL,
            held            INTEGER NOT NULL DEFAULT 0,
            cancelled_at    REAL,
            source_job_id   TEXT,
            source_task_id  TEXT,
            origin          TEXT NOT NULL DEFAULT '{}',
            user            TEXT
        );
        CREATE INDEX idx_job_created ON job (created_at);
        CREATE INDEX idx_job_held ON job (id) WHERE held = 1;
        CREATE TABLE job_image (
            job_id      TEXT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
            path        TEXT NOT NULL,
            task_id     TEXT NOT NULL,
            idx         INTEGER NOT NULL,
            mark        TEXT NOT NULL CHECK (mark IN ('kept', 'discarded')),
            deleted     INTEGER NOT NULL DEFAULT 0,
            updated_at  REAL NOT NULL,
            PRIMARY KEY (job_id, path)
        );
        """,
    ),
    (
        "saved tasks: named templates and the input files they keep alive",
        """
        CREATE TABLE saved_task (
            id           TEXT PRIMARY KEY,
            name         TEXT NOT NULL,
            kind         TEXT NOT NULL,
            params       TEXT NOT NULL,
            script_args  TEXT NOT NULL DEFAULT '{}',
            script_name  TEXT,
            checkpoint   TEXT,
            source       TEXT NOT NULL DEFAULT 'api',
            user         TEXT,
            created_at   REAL NOT NULL,
            updated_at   REAL NOT NULL
        );
        CREATE INDEX idx_saved_task_created ON saved_task (created_at);
        CREATE TABLE saved_task_file (
            saved_id TEXT NOT NULL REFERENCES saved_task (id) ON DELETE CASCADE,
            ref      TEXT NOT NULL,
            PRIMARY KEY (saved_id, ref)
        );
        CREATE INDEX idx_saved_task_file_ref ON saved_task_file (ref);
        """,
    ),
    (
        "workers: who runs what under which lease; stop requests and progress seen by every process",
        """
        CREATE TABLE worker (
            id              TEXT PRIMARY KEY,
            name            TEXT NOT NULL,
            kind            TEXT NOT NULL,
            host            TEXT NOT NULL DEFAULT '',
            pid             INTEGER,
            instance        TEXT NOT NULL DEFAULT '',
            state           TEXT NOT NULL DEFAULT 'idle',
            paused          INTEGER NOT NULL DEFAULT 0,
            checkpoint      TEXT,
            checkpoint_key  TEXT,
            checkpoints     TEXT,
            current_task    TEXT,
            info            TEXT NOT NULL DEFAULT '{}',
            lease_s         REAL NOT NULL,
            started_at      REAL NOT NULL,
            heartbeat_at    REAL NOT NULL,
            stopped_at      REAL
        );
        ALTER TABLE task ADD COLUMN worker_id TEXT;
        ALTER TABLE task ADD COLUMN lease_expires_at REAL;
        ALTER TABLE task ADD COLUMN worker_pin TEXT;
        ALTER TABLE task ADD COLUMN stop_request TEXT;
        ALTER TABLE task ADD COLUMN progress TEXT;
        CREATE INDEX idx_task_running ON task (lease_expires_at) WHERE status = 'running';
        CREATE TABLE file_hold (
            ref         TEXT PRIMARY KEY,
            held_until  REAL NOT NULL
        );
        """,
    ),
    (
        "input files in the database, for workers on other machines (used with PostgreSQL)",
        """
        CREATE TABLE file_blob (
            ref         TEXT PRIMARY KEY,
            data        BLOB NOT NULL,
            size        INTEGER NOT NULL,
            created_at  REAL NOT NULL
        );
        """,
    ),
    (
        "scheduling in time: not-before times and repeating tasks and jobs",
        """
        ALTER TABLE task ADD COLUMN not_before REAL;
        ALTER TABLE task ADD COLUMN repeat_times INTEGER;
        ALTER TABLE task ADD COLUMN repeat_round INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE task ADD COLUMN repeat_keep_seeds INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE task ADD COLUMN repeat_stopped INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE task ADD COLUMN repeat_series TEXT;
        ALTER TABLE job ADD COLUMN not_before REAL;
        ALTER TABLE job ADD COLUMN repeat_times INTEGER;
        ALTER TABLE job ADD COLUMN repeat_round INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE job ADD COLUMN repeat_keep_seeds INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE job ADD COLUMN repeat_stopped INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX idx_task_pending_not_before ON task (not_before)
            WHERE status = 'pending' AND not_before IS NOT NULL;
        CREATE INDEX idx_task_repeat_series ON task (repeat_series) WHERE repeat_series IS NOT NULL;
        """,
    ),
    (
        "mixed farms: the WebUI family a captured task's argument names belong to",
        """
        ALTER TABLE task ADD COLUMN needs_webui TEXT;
        ALTER TABLE saved_task ADD COLUMN needs_webui TEXT;
        """,
    ),
    (
        "history pages in creation order without a sort on PostgreSQL",
        {
            # SQLite's index on created_at holds the rowid, the order's tie-break, already
            "sqlite": "",
            # a sweep queues thousands of tasks with one created_at: a page had to sort them all
            "postgresql": """
            CREATE INDEX idx_task_created_rowid ON task (created_at, rowid);
            DROP INDEX idx_task_created;
            """,
        },
    ),
    (
        "auto-batching: how a task may be batched, and the batch it ran in",
        """
        ALTER TABLE task ADD COLUMN batching TEXT;
        ALTER TABLE task ADD COLUMN batch_id TEXT;
        CREATE INDEX idx_task_batch ON task (batch_id);
        """,
    ),
    (
        "idempotency keys: a request sent again queues its tasks once (request_keys.py)",
        """
        CREATE TABLE request_key (
            id           TEXT PRIMARY KEY,
            fingerprint  TEXT NOT NULL,
            task_ids     TEXT NOT NULL,
            job_id       TEXT,
            created_at   REAL NOT NULL
        );
        CREATE INDEX idx_request_key_created ON request_key (created_at);
        """,
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def script_for(step: Script, engine: str) -> str:
    return step if isinstance(step, str) else step[engine]


def migrate(target_db: Backend | sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database up to ``target``; returns the version reached.

    A database newer than this code is left untouched and refused: downgrading would drop
    columns the newer version relies on. A bare ``sqlite3`` connection (autocommit) is taken
    too, for tools and tests that build an old schema.
    """
    backend = SqliteBackend(target_db, "database") if isinstance(target_db, sqlite3.Connection) else target_db
    with backend.migration_lock():
        version = backend.schema_version()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the task database is schema version {version}, newer than this extension "
                f"({SCHEMA_VERSION}); update the extension instead of downgrading the data"
            )
        while version < target:
            backend.apply_migration(version + 1, script_for(MIGRATIONS[version][1], backend.engine))
            version = backend.schema_version()
    return version
