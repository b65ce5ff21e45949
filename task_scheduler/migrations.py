"""Numbered schema migrations, applied in order on ``PRAGMA user_version``.

Each entry moves the schema from version ``n`` to ``n + 1`` and runs in the same transaction
as its version bump, so a crash mid-upgrade leaves the previous version intact. Never edit a
released migration; append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[tuple[str, str]] = [
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
        """
        ALTER TABLE task ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE task ADD COLUMN requeued_from TEXT;
        ALTER TABLE task ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE task ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE task ADD COLUMN checkpoint_key TEXT;
        ALTER TABLE task ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
        UPDATE task SET
            checkpoint_key = lower(checkpoint),
            search_text = lower(name || ' ' || coalesce(json_extract(params, '$.prompt'), '') || ' '
                                || coalesce(checkpoint, ''));
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
]

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring ``conn`` (in autocommit mode) up to ``target``; returns the version reached.

    A database newer than this code is left untouched and refused: downgrading would drop
    columns the newer version relies on.
    """
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the task database is schema version {version}, newer than this extension "
            f"({SCHEMA_VERSION}); update the extension instead of downgrading the data"
        )
    while version < target:
        _title, script = MIGRATIONS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would COMMIT first; run statements one by one inside our transaction.
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version += 1
    return version


def _statements(script: str) -> list[str]:
    parts: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                parts.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        parts.append(buffer.strip())
    return parts
