"""The double as a WebUI *process* with the extension: for tests that signal or kill a WebUI.

``python tests/webui_double/webui_process.py --flavour forge --root DIR --db FILE --worker NAME``
does what ``webui.py`` does, in its order: install the WebUI (the double), install the WebUI's
Ctrl+C handler (``initialize_util.configure_sigint_handler``: ``os._exit(0)``), load the
extension's script, run the start-up callbacks (``on_app_started``), then serve until a signal
ends it. It prints ``READY <pid>`` once the extension's executor runs.

Threads as in the real WebUIs: A1111 runs the UI's start-up (and ``on_app_started``) in the
process's main thread; Forge and Neo run it in a thread of its own (``webui_worker``) while the
main thread runs ``modules_forge.main_thread.loop()``, where their generations run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
sys.path[:0] = [str(ROOT), str(TESTS)]


class _NoRoutes:
    """An app without ``include_router``: the extension skips its routes (building them is slow)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavour", default="forge")
    parser.add_argument("--root", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--worker", required=True)
    args = parser.parse_args()
    os.environ["TASK_SCHEDULER_DB"] = args.db
    os.environ["TASK_SCHEDULER_WORKER"] = args.worker

    import webui_double

    env = webui_double.install(args.flavour, args.root, loop_in_process_main_thread=True)
    from modules import initialize_util

    initialize_util.configure_sigint_handler()
    spec = importlib.util.spec_from_file_location("ts_script", ROOT / "scripts" / "task_scheduler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def webui_worker() -> None:
        env.simulate_startup(app=_NoRoutes())
        if env.is_forge:  # ready once the loop has done what start-up handed to it (FIFO)
            from modules_forge import main_thread

            main_thread.run_and_wait_result(lambda: None)
        print(f"READY {os.getpid()}", flush=True)

    if env.is_forge:
        from modules_forge import main_thread

        threading.Thread(target=webui_worker, name="webui_worker", daemon=True).start()
        main_thread.loop()
    else:
        webui_worker()
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
