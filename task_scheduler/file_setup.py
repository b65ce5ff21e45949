"""Which file store a queue gets: a folder beside its SQLite file, or the database's blobs.

One place decides it for the WebUI extension and the standalone server alike.
"""

from __future__ import annotations

from pathlib import Path

from .blobs import StoreBlobs
from .config import FILES_CACHE_DIRNAME, files_dir_for
from .files import FileStore, StoreHolds
from .store import Store


def open_files(store: Store, *, local_dir: Path, shared_dir: Path | None = None) -> FileStore:
    """The input files of ``store``'s queue.

    SQLite: the folder beside the database file (``shared_dir`` when given). PostgreSQL: in
    the database, with ``local_dir/task_scheduler_files_cache`` as this machine's copy, unless
    the user named a folder every worker mounts (``shared_dir``). Holds are in the store
    either way, so every process sharing the queue sees every put.
    """
    holds = StoreHolds(store)
    if shared_dir is not None:
        return FileStore(shared_dir, holds=holds)
    if store.location.is_postgres:
        return FileStore(local_dir / FILES_CACHE_DIRNAME, holds=holds, blobs=StoreBlobs(store))
    return FileStore(files_dir_for(store.path), holds=holds)
