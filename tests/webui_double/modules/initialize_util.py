"""``modules.initialize_util``: the part the extension meets, the WebUI's Ctrl+C handler.

All three flavours install it while initializing, before any extension's ``on_app_started``:
on SIGINT it prints one line and ends the process with ``os._exit(0)``: no ``finally``, no
``atexit``, no ``on_script_unloaded``. SIGTERM keeps Python's default (the process ends at once).
"""

from __future__ import annotations

import os
import signal


def configure_sigint_handler() -> None:
    def sigint_handler(sig, frame):
        print(f"Interrupted with signal {sig} in {frame}", flush=True)
        os._exit(0)

    if not os.environ.get("COVERAGE_RUN"):
        signal.signal(signal.SIGINT, sigint_handler)
