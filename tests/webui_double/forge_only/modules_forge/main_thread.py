"""Forge's main-thread task loop, as ``modules_forge.main_thread``.

``run_and_wait_result`` queues a call for the single loop thread (FIFO, one at a time), blocks until
it finished and returns its result; if it raised, the traceback is printed, ``last_exception`` is
set (Forge: the exception; Neo: the string ``"Type: message"``, or ``"OOM"``) and the caller gets
``None``. The harness runs ``loop()`` in a daemon thread named
``"shim-main-thread"`` (the real one owns the process main thread, which pytest needs).
Unlike Forge, calling ``run_and_wait_result`` from the loop thread itself raises RuntimeError
instead of deadlocking silently.
"""

from __future__ import annotations

import threading
import traceback

from webui_double import shim_config

lock = threading.Lock()
last_id = 0
waiting_list: list = []
finished_list: list = []
last_exception = None

_shim_changed = threading.Condition(lock)
_shim_stop = threading.Event()
_shim_loop_thread: threading.Thread | None = None


class Task:
    def __init__(self, task_id, func, args, kwargs):
        self.task_id = task_id
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.result = None
        self.exception = None

    def work(self) -> None:
        global last_exception
        try:
            self.result = self.func(*self.args, **self.kwargs)
            self.exception = None
            last_exception = None
        except Exception as e:
            traceback.print_exc()
            print(e)
            self.exception = e
            # Neo keeps a string ("OOM" for out of memory), Forge the exception itself
            if shim_config.current.is_neo:
                last_exception = "OOM" if "out of memory" in str(e).lower() else f"{type(e).__name__}: {e}"
            else:
                last_exception = e


def loop() -> None:
    global _shim_loop_thread
    _shim_loop_thread = threading.current_thread()
    while not _shim_stop.is_set():
        with _shim_changed:
            if not waiting_list:
                _shim_changed.wait(0.01)
                continue
            task = waiting_list.pop(0)
        task.work()
        with _shim_changed:
            finished_list.append(task)
            _shim_changed.notify_all()


def async_run(func, *args, **kwargs) -> int:
    global last_id
    with _shim_changed:
        last_id += 1
        new_task = Task(task_id=last_id, func=func, args=args, kwargs=kwargs)
        waiting_list.append(new_task)
        _shim_changed.notify_all()
    return new_task.task_id


def run_and_wait_result(func, *args, **kwargs):
    if threading.current_thread() is _shim_loop_thread:
        raise RuntimeError(
            "run_and_wait_result called on the main-thread loop itself: this deadlocks in Forge"
        )
    current_id = async_run(func, *args, **kwargs)
    with _shim_changed:
        while True:
            finished_task = next((t for t in finished_list if t.task_id == current_id), None)
            if finished_task is not None:
                finished_list.remove(finished_task)
                return finished_task.result
            _shim_changed.wait(0.01)


def _shim_stop_loop(timeout: float = 5.0) -> None:
    """Test helper: end ``loop()`` (the real one never ends)."""
    _shim_stop.set()
    thread = _shim_loop_thread
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
