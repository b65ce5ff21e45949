"""Binary inputs (init images, masks, extension images) as files beside the database.

On a queue shared by several machines (PostgreSQL) the files live in the database instead
(:class:`~task_scheduler.blobs.StoreBlobs`, unless the user names a folder every machine
mounts), and the folder is each machine's cache of them: a worker on another machine reads
an init image the way the machine that queued it does.

Files are content-addressed (``<sha256>.<ext>``), so a sweep of 100 tasks over one init image
stores it once, and a requeued copy shares its original's files. The ``task_file`` table holds
which task uses which file; a file is deleted when the last task using it is gone.

A file is written (:meth:`FileStore.put`) before the task that uses it is queued, and the same
bytes give the same file. So a put *holds* its file until the task is queued
(:meth:`FileStore.release`, called by the queue after its commit): deleting the last task that
used a file skips a held one, or a new task uploading the same image meanwhile would point at
a deleted file. A hold that nobody releases (the task was refused) lapses after ``HOLD_S``.

Where holds live decides who sees them: :class:`ProcessHolds` (this process only; tools and
tests) or :class:`StoreHolds` (the queue's database, so several WebUIs that share one queue
folder see each other's puts). A put writes its hold before it looks for the file, and the queue
deletes files inside its write transaction, so a put never finds a file that is about to go.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from .db_backend import Connection
from .errors import InvalidTaskData
from .store import Store

_REF = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,8}$")

#: a put's hold lapses after this long when its task was never queued
HOLD_S = 3600.0


def _checked(ref: str) -> str:
    """``ref`` when it is a reference this store makes; anything else is refused."""
    if not isinstance(ref, str) or not _REF.match(ref):
        raise InvalidTaskData("file", f"not a stored file reference: {ref!r}")
    return ref


class Blobs(Protocol):
    """Where files live when the folder is only a cache (:class:`~task_scheduler.blobs.StoreBlobs`)."""

    def put(self, ref: str, data: bytes) -> None: ...
    def get(self, ref: str) -> bytes | None: ...
    def has(self, ref: str) -> bool: ...
    def present(self, refs: list[str]) -> set[str]: ...
    def delete(self, refs: list[str], conn: Connection | None) -> None: ...


class FileHolds(Protocol):
    """Where a put's hold on its file is kept until its task is queued."""

    def hold(self, ref: str) -> None: ...

    def release(self, refs: Iterable[str]) -> None: ...

    def held(self, refs: Iterable[str]) -> set[str]:
        """The refs among ``refs`` that a put still holds (its hold has not lapsed)."""
        ...


# One registry per process, by folder: every FileStore over one folder sees the same holds.
_lock = threading.RLock()
_holds: dict[str, dict[str, float]] = {}


class ProcessHolds:
    """Holds in this process's memory: enough when one process uses the folder."""

    def __init__(self, root: str | Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = os.path.abspath(root)
        self._clock = clock

    def hold(self, ref: str) -> None:
        with _lock:
            held = _holds.setdefault(self._key, {})
            now = self._clock()
            if len(held) > 1000:  # forget lapsed holds of puts whose task never came
                for stale in [r for r, since in held.items() if now - since >= HOLD_S]:
                    del held[stale]
            held[ref] = now

    def release(self, refs: Iterable[str]) -> None:
        with _lock:
            held = _holds.get(self._key)
            if held:
                for ref in refs:
                    held.pop(ref, None)

    def held(self, refs: Iterable[str]) -> set[str]:
        with _lock:
            held = _holds.get(self._key, {})
            now = self._clock()
            return {ref for ref in refs if ref in held and now - held[ref] < HOLD_S}


class StoreHolds:
    """Holds in the queue's database (``file_hold``), seen by every process that shares it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def hold(self, ref: str) -> None:
        now = self.store.clock()
        with self.store.write(quiet=True) as conn:
            conn.execute("DELETE FROM file_hold WHERE held_until < ?", (now,))
            conn.execute(
                "INSERT INTO file_hold (ref, held_until) VALUES (?, ?) "
                "ON CONFLICT(ref) DO UPDATE SET held_until = excluded.held_until",
                (ref, now + HOLD_S),
            )

    def release(self, refs: Iterable[str]) -> None:
        refs = list(refs)
        if refs:
            with self.store.write(quiet=True) as conn:
                conn.executemany("DELETE FROM file_hold WHERE ref = ?", [(r,) for r in refs])

    def held(self, refs: Iterable[str]) -> set[str]:
        now = self.store.clock()
        with self.store.read() as conn:
            return {
                ref
                for ref in refs
                if conn.execute(
                    "SELECT 1 FROM file_hold WHERE ref = ? AND held_until >= ?", (ref, now)
                ).fetchone()
            }


class FileStore:
    def __init__(
        self,
        root: str | Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        holds: FileHolds | None = None,
        blobs: Blobs | None = None,
    ) -> None:
        """``holds``: :class:`StoreHolds` when several processes share the folder. ``blobs``: the
        files' home when it is not this folder (then the folder is a cache)."""
        self.root = Path(root)
        self.holds: FileHolds = holds or ProcessHolds(self.root, clock)
        self.blobs = blobs

    def put(self, data: bytes, extension: str = "png") -> str:
        """Store ``data`` and return its reference; writing the same bytes twice is free."""
        extension = extension.lower().lstrip(".")
        if not re.fullmatch(r"[a-z0-9]{1,8}", extension):
            raise InvalidTaskData("file", f"unsupported file extension {extension!r}")
        ref = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        target = self._path_for(ref)
        self.holds.hold(ref)  # before looking for the file: a delete now sees the hold
        if self.blobs is not None:
            self.blobs.put(ref, data)
        self._write_local(target, data)
        return ref

    def _write_local(self, target: Path, data: bytes) -> None:
        with _lock:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                # Write then rename, so a crash never leaves a half-written file under a valid name.
                fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(data)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise

    def release(self, refs: Iterable[str]) -> None:
        """The tasks using ``refs`` are queued (or were refused): their puts hold them no more."""
        self.holds.release(refs)

    def path(self, ref: str) -> Path:
        """The file behind a reference; refuses anything that is not a reference we made."""
        path = self._path_for(_checked(ref))
        if self.blobs is not None and not path.is_file():
            data = self.blobs.get(ref)  # put by another machine: bring it into this one's cache
            if data is not None:
                self._write_local(path, data)
        return path

    def read(self, ref: str) -> bytes:
        path = self.path(ref)
        if not path.is_file():
            raise InvalidTaskData("file", f"stored file {ref} is missing")
        return path.read_bytes()

    def exists(self, ref: str) -> bool:
        if self.blobs is not None:
            return self.blobs.has(_checked(ref))
        return self.path(ref).is_file()

    def delete(self, refs: Iterable[str], conn: Connection | None = None) -> list[str]:
        """Delete the files no task uses any more, except those a put holds; return the deleted.

        ``conn``: the queue's write transaction that found them unused (their rows in the
        database go with it).
        """
        refs = [_checked(ref) for ref in refs]
        with _lock:
            held = self.holds.held(refs)
            gone = [ref for ref in refs if ref not in held]
            for ref in gone:
                self._path_for(ref).unlink(missing_ok=True)
            if self.blobs is not None and gone:
                self.blobs.delete(gone, conn)
        return gone

    def prune_cache(self) -> list[str]:
        """Drop this machine's cached copies of files the database no longer holds; returns them.

        Only where the folder is a cache (files in the database): another machine deleted the
        last task using a file, and this machine, which read it once, would keep its copy
        forever. A copy that is still needed is never lost: :meth:`path` fetches a missing one
        again, and a file being put is in the database before it is in the cache.
        """
        if self.blobs is None or not self.root.is_dir():
            return []
        cached = sorted(path.name for path in self.root.glob("??/*") if _REF.match(path.name))
        if not cached:
            return []
        present = self.blobs.present(cached)
        gone = [ref for ref in cached if ref not in present]
        with _lock:
            for ref in gone:
                self._path_for(ref).unlink(missing_ok=True)
        return gone

    def _path_for(self, ref: str) -> Path:
        return self.root / ref[:2] / ref
