"""Input files kept in the queue's database, for workers on several machines.

Why in the database: a worker on another machine must read the init image a user uploaded
on this one, and the database is the one thing every worker already reaches (no shared
folder to set up, and ``pg_dump`` backs the files up with the queue). Content-addressed by
the same references as the folder (``<sha256>.<ext>``), so an image used by a sweep of 100
tasks is stored once.
"""

from __future__ import annotations

from .db_backend import Connection
from .store import Store


class StoreBlobs:
    """The ``file_blob`` table behind :class:`~task_scheduler.files.FileStore`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, ref: str, data: bytes) -> None:
        with self.store.write(quiet=True) as conn:  # a new file wakes nobody; its task will
            conn.execute(
                "INSERT INTO file_blob (ref, data, size, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (ref) DO NOTHING",
                (ref, data, len(data), self.store.clock()),
            )

    def get(self, ref: str) -> bytes | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT data FROM file_blob WHERE ref = ?", (ref,)).fetchone()
        return bytes(row[0]) if row is not None else None

    def has(self, ref: str) -> bool:
        with self.store.read() as conn:
            return conn.execute("SELECT 1 FROM file_blob WHERE ref = ?", (ref,)).fetchone() is not None

    def present(self, refs: list[str]) -> set[str]:
        """Which of ``refs`` the database holds (in chunks: one query per 500)."""
        found: set[str] = set()
        with self.store.read() as conn:
            for start in range(0, len(refs), 500):
                chunk = refs[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = conn.execute(f"SELECT ref FROM file_blob WHERE ref IN ({marks})", chunk).fetchall()
                found.update(row[0] for row in rows)
        return found

    def delete(self, refs: list[str], conn: Connection | None) -> None:
        """Inside the caller's transaction when it passes ``conn``, else in one of our own."""
        if conn is not None:
            conn.executemany("DELETE FROM file_blob WHERE ref = ?", [(ref,) for ref in refs])
            return
        with self.store.write() as own:
            own.executemany("DELETE FROM file_blob WHERE ref = ?", [(ref,) for ref in refs])
