"""The GPU queue lock and the gradio wrappers, as ``modules.call_queue``."""

from __future__ import annotations

import html
import time
from functools import wraps

from modules import errors, fifo_lock, progress, shared

from webui_double import shim_config

queue_lock = fifo_lock.FIFOLock()


def wrap_queued_call(func):
    def f(*args, **kwargs):
        with queue_lock:
            res = func(*args, **kwargs)
        return res

    return f


def wrap_gradio_gpu_call(func, extra_outputs=None):
    """Run ``func`` under ``queue_lock`` with state.begin/end and progress for ``task(...)`` ids."""
    name = func.__name__

    @wraps(func)
    def f(*args, **kwargs):
        if args and isinstance(args[0], str) and args[0].startswith("task(") and args[0].endswith(")"):
            id_task = args[0]
            progress.add_task_to_queue(id_task)
        else:
            id_task = None

        with queue_lock:
            shared.state.begin(job=id_task)
            progress.start_task(id_task)
            try:
                res = func(*args, **kwargs)
                progress.record_results(id_task, res)
            finally:
                progress.finish_task(id_task)
                shared.state.end()
        return res

    return wrap_gradio_call(f, extra_outputs=extra_outputs, add_stats=True, name=name)


def wrap_gradio_call(func, extra_outputs=None, add_stats=False, name=None):
    """Reset the state flags afterwards and turn exceptions into the error-HTML outputs."""

    @wraps(func)
    def f(*args, **kwargs):
        try:
            res = func(*args, **kwargs)
        finally:
            shared.state.skipped = False
            shared.state.interrupted = False
            shared.state.stopping_generation = False
            shared.state.job_count = 0
            shared.state.job = ""
        return res

    return wrap_gradio_call_no_job(f, extra_outputs, add_stats, name)


def wrap_gradio_call_no_job(func, extra_outputs=None, add_stats=False, name=None):
    @wraps(func)
    def f(*args, extra_outputs_array=extra_outputs, **kwargs):
        t = time.perf_counter()
        error = None
        try:
            res = func(*args, **kwargs)
            if res is None and shim_config.current.is_forge:
                from modules_forge import main_thread

                error = main_thread.last_exception
        except Exception as e:
            error = e
        if error is not None:
            if isinstance(error, str):  # Neo's main thread keeps "Type: message" (or "OOM")
                message = html.escape(error)
            else:
                errors.display(error, f"{name or func.__name__}")
                message = html.escape(f"{type(error).__name__}: {error}")
            if extra_outputs_array is None:
                extra_outputs_array = [None, ""]
            res = list(extra_outputs_array) + [f"<div class='error'>{message}</div>"]
        if add_stats and res is not None:
            res = list(res)
            elapsed = time.perf_counter() - t
            if res and isinstance(res[-1], str):
                res[-1] += (
                    f"<div class='performance'><p class='time'>Time taken: {elapsed:.1f} sec.</p></div>"
                )
            res = tuple(res)
        return res

    return f
