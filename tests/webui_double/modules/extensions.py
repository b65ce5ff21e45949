"""Minimal ``modules.extensions``: which extension a file belongs to."""

from __future__ import annotations

import os

from modules import paths_internal


class Extension:
    def __init__(self, name: str, path: str, enabled: bool = True, is_builtin: bool = False):
        self.name = name
        self.canonical_name = name.lower()
        self.path = path
        self.enabled = enabled
        self.is_builtin = is_builtin


extensions: list[Extension] = []


def active() -> list[Extension]:
    return [x for x in extensions if x.enabled]


def find_extension(filename: str) -> Extension | None:
    """The extension whose folder holds ``filename``; folders under extensions/ count even if unlisted."""
    filename = os.path.abspath(filename)
    for ext in extensions:
        if filename.startswith(os.path.abspath(ext.path) + os.sep):
            return ext
    for base, builtin in (
        (paths_internal.extensions_dir, False),
        (paths_internal.extensions_builtin_dir, True),
    ):
        base = os.path.abspath(base) + os.sep
        if filename.startswith(base):
            name = filename[len(base) :].split(os.sep, 1)[0]
            return Extension(name, os.path.join(base, name), is_builtin=builtin)
    return None
