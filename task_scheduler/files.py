"""Binary inputs (init images, masks, extension images) as files beside the database.

Files are content-addressed (``<sha256>.<ext>``), so a sweep of 100 tasks over one init image
stores it once, and a requeued copy shares its original's files. The ``task_file`` table holds
which task uses which file; a file is deleted when the last task using it is gone.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import InvalidTaskData

_REF = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,8}$")


class FileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, extension: str = "png") -> str:
        """Store ``data`` and return its reference; writing the same bytes twice is free."""
        extension = extension.lower().lstrip(".")
        if not re.fullmatch(r"[a-z0-9]{1,8}", extension):
            raise InvalidTaskData("file", f"unsupported file extension {extension!r}")
        ref = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        target = self._path_for(ref)
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
        return ref

    def path(self, ref: str) -> Path:
        """The file behind a reference; refuses anything that is not a reference we made."""
        if not isinstance(ref, str) or not _REF.match(ref):
            raise InvalidTaskData("file", f"not a stored file reference: {ref!r}")
        return self._path_for(ref)

    def read(self, ref: str) -> bytes:
        path = self.path(ref)
        if not path.is_file():
            raise InvalidTaskData("file", f"stored file {ref} is missing")
        return path.read_bytes()

    def exists(self, ref: str) -> bool:
        return self.path(ref).is_file()

    def delete(self, refs: Iterable[str]) -> None:
        for ref in refs:
            self.path(ref).unlink(missing_ok=True)

    def _path_for(self, ref: str) -> Path:
        return self.root / ref[:2] / ref
