"""The executor: a daemon thread that runs pending tasks one at a time through a Runner.

``run_one()`` does one unit of work and is what tests call; the thread is only a loop around it
that sleeps on an Event, so an idle queue costs nothing and new work starts at once.
All outcomes are decided in :meth:`Executor._outcome`, the single place that maps what happened
to a status.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from .errors import OutOfMemory, RunnerUnavailable, StoreUnavailable
from .runner import ProgressUpdate, Runner, RunResult
from .task import Task, TaskStatus
from .task_queue import Progress, TaskQueue

log = logging.getLogger(__name__)

_RETRY_AFTER_STORE_ERROR_S = 5.0


@dataclass
class ExecutorSettings:
    """Behaviour switches; the WebUI glue refreshes them from the Settings page."""

    checkpoint_aware_order: bool = True
    requeue_interrupted: bool = True
    pause_on_out_of_memory: bool = True
    retention_days: float | None = None


@dataclass
class Outcome:
    #: None: the runner became unavailable and the task goes back to the queue
    status: TaskStatus | None
    run: RunResult | None = None
    error: str | None = None


class Executor:
    def __init__(
        self,
        queue: TaskQueue,
        runner: Runner,
        settings: ExecutorSettings | None = None,
        *,
        recover: bool = True,
    ) -> None:
        """``recover=False`` when several executors share one queue and their owner recovered it
        once before starting them (one executor's recovery must not take another's live task)."""
        self.queue = queue
        self.runner = runner
        self.settings = settings or ExecutorSettings()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._current: str | None = None
        self._recovered = not recover
        self._unsubscribe = queue.subscribe(self._on_queue_event)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Recover from a crash (once) and start the thread; calling it again does nothing."""
        with self._lifecycle:
            if self._thread is not None and self._thread.is_alive():
                return
            if not self._recovered:
                recovered = self.queue.recover_after_crash(requeue=self.settings.requeue_interrupted)
                for task in recovered:
                    log.warning(
                        "task %s was running when the WebUI stopped: %s",
                        task.id,
                        "requeued" if task.status is TaskStatus.PENDING else "left interrupted",
                    )
                self._recovered = True
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="task-scheduler-executor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Let the current task finish, then end the thread. Idempotent."""
        with self._lifecycle:
            thread = self._thread
            self._stop.set()
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lifecycle:
            if self._thread is thread and (thread is None or not thread.is_alive()):
                self._thread = None

    def close(self) -> None:
        """Stop and stop listening to the queue (used when the WebUI reloads its scripts)."""
        self.stop()
        self._unsubscribe()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def current_task_id(self) -> str | None:
        return self._current

    def wake(self) -> None:
        self._wake.set()

    def _on_queue_event(self, event: str, task: Task | None) -> None:
        current = self._current
        if event == "stop_requested" and current is not None and self.queue.stop_request(current):
            self.runner.interrupt()
        if event in ("enqueued", "resumed", "run_once", "moved", "recovered", "requeued", "job_resumed"):
            self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                worked = self.run_one()
            except StoreUnavailable:
                log.exception("task store unavailable; retrying in %.0f s", _RETRY_AFTER_STORE_ERROR_S)
                self._wake.wait(_RETRY_AFTER_STORE_ERROR_S)
                continue
            except Exception:
                log.exception("task executor iteration failed")
                worked = False
            if not worked and not self._stop.is_set():
                self._wake.wait()

    # -- one unit of work ---------------------------------------------------------------------

    def run_one(self) -> bool:
        """Claim the next task and run it to an outcome; False when there was nothing to run."""
        prefer = None
        if self.settings.checkpoint_aware_order:
            try:
                prefer = self.runner.current_checkpoint()
            except Exception:
                log.exception("runner could not tell its current checkpoint")
        skip: Any = ()
        elsewhere = getattr(self.runner, "checkpoints_elsewhere", None)
        if elsewhere is not None:
            skip = elsewhere()
        task = self.queue.claim_next(prefer_checkpoint=prefer, skip_checkpoints=skip)
        if task is None:
            return False
        self._current = task.id
        try:
            outcome = self._outcome(task)
        finally:
            self._current = None
        self._record(task, outcome)
        return True

    def _outcome(self, task: Task) -> Outcome:
        stop = self.queue.stop_request(task.id)
        if stop is not None:  # stopped between claim and start
            return Outcome(TaskStatus(stop))
        started = time.monotonic()
        try:
            run = self.runner.run(task, lambda update: self._report(task, update, started))
        except RunnerUnavailable as exc:
            log.warning("task %s goes back to the queue: %s", task.id, exc)
            stop = self.queue.stop_request(task.id)
            return Outcome(TaskStatus(stop) if stop is not None else None, error=_describe(exc))
        except OutOfMemory as exc:
            log.error("task %s ran out of memory: %s", task.id, exc)
            if self.settings.pause_on_out_of_memory:
                self.queue.pause()
            return Outcome(TaskStatus.FAILED, error=f"Out of memory: {exc}")
        except Exception as exc:
            log.error("task %s failed:\n%s", task.id, traceback.format_exc())
            return Outcome(TaskStatus.FAILED, error=_describe(exc))
        stop = self.queue.stop_request(task.id)
        if stop is not None:
            return Outcome(TaskStatus(stop), run)
        if run.interrupted:
            return Outcome(TaskStatus.INTERRUPTED, run)
        return Outcome(TaskStatus.DONE, run)

    def _record(self, task: Task, outcome: Outcome) -> None:
        if outcome.status is None:
            self.queue.requeue_running(task.id, outcome.error or "the runner became unavailable")
            return
        run = outcome.run
        self.queue.finish(
            task.id,
            outcome.status,
            result=run.result if run else None,
            error=outcome.error,
            warnings=run.warnings if run else (),
        )
        if self.settings.retention_days and not self.queue.count(TaskStatus.PENDING):
            removed = self.queue.purge_older_than(self.settings.retention_days * 86400)
            if removed:
                log.info("history retention removed %d old tasks", removed)

    def _report(self, task: Task, update: ProgressUpdate, started: float) -> None:
        eta = update.eta_s
        if eta is None and 0 < update.fraction < 1:
            elapsed = time.monotonic() - started
            eta = elapsed / update.fraction - elapsed
        extra: dict[str, Any] = dict(update.extra)
        self.queue.set_progress(Progress(task.id, update.fraction, update.text, eta, extra))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
