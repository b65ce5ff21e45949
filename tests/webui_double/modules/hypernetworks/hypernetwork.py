"""``modules.hypernetworks.hypernetwork.list_hypernetworks`` (A1111, Forge): name -> file."""

from __future__ import annotations

import glob
import os


def list_hypernetworks(path):
    res = {}
    for filename in sorted(glob.iglob(os.path.join(path, "**/*.pt"), recursive=True), key=str.lower):
        name = os.path.splitext(os.path.basename(filename))[0]
        if name != "None":  # the real one's guard against a "None.pt"
            res[name] = filename
    return res
