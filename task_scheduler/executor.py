"""The executor: a daemon thread that runs pending tasks one at a time through a Runner.

``run_one()`` does one unit of work and is what tests call; the thread is only a loop around it
that sleeps on an Event, so an idle queue costs nothing and new work starts at once.
All outcomes are decided in :meth:`Executor._outcome`, the single place that maps what happened
to a status.

An outcome is kept until the store has recorded it: when recording fails (a disk hiccup, a
locked file), the loop retries after a pause and claims nothing new meanwhile, so a task never
stays ``running`` behind a live executor, and its result is not lost. An outcome the store
refuses outright (``_RECORD_ATTEMPTS`` failures) is recorded as ``failed`` with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from . import resume
from .errors import InvalidTransition, OutOfMemory, RunnerUnavailable, StoreUnavailable, TaskNotFound
from .runner import ProgressUpdate, Runner, RunResult
from .task import Task, TaskResult, TaskStatus
from .task_queue import Progress, TaskQueue

log = logging.getLogger(__name__)

_RETRY_AFTER_STORE_ERROR_S = 5.0
#: after an unexpected error in the loop: retry this soon (never wait for a wake that may not come)
_RETRY_AFTER_ERROR_S = 5.0
#: tries to record one outcome before it is recorded as ``failed`` instead
_RECORD_ATTEMPTS = 3


@dataclass
class ExecutorSettings:
    """Behaviour switches; the WebUI glue refreshes them from the Settings page."""

    checkpoint_aware_order: bool = True
    requeue_interrupted: bool = True
    pause_on_out_of_memory: bool = True
    retention_days: float | None = None


@dataclass
class Outcome:
    #: None: the runner became unavailable and the task goes back to the queue;
    #: PENDING: paused inside (or before it began): back to its place, keeping ``made``
    status: TaskStatus | None
    run: RunResult | None = None
    error: str | None = None
    made: TaskResult | None = None


@dataclass
class _Unrecorded:
    """A finished run whose outcome the store has not recorded yet."""

    task: Task
    outcome: Outcome
    failures: int = 0


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
        self._unrecorded: _Unrecorded | None = None
        self._after: list[Any] = []
        self._ended = True
        self._unsubscribe = queue.subscribe(self._on_queue_event)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, after: Executor | None = None) -> None:
        """Recover from a crash (once) and start the thread; calling it again does nothing.

        ``after``: an executor of the same queue that still finishes its last task (a reload
        did not wait for it). Its task is alive, not crashed: this one waits for it to end,
        then recovers and starts, so no task runs twice.
        """
        with self._lifecycle:
            if self._thread is not None and self._thread.is_alive():
                return
            predecessor = after if after is not None and after is not self and after.alive else None
            if predecessor is None:
                self._recover_once()
            else:
                log.warning(
                    "task scheduler: waiting for task %s of the previous executor before starting",
                    predecessor.current_task_id,
                )
            self._stop.clear()
            self._ended = False
            self._thread = threading.Thread(
                target=self._loop, args=(predecessor,), name="task-scheduler-executor", daemon=True
            )
            self._thread.start()

    def _recover_once(self) -> None:
        if self._recovered:
            return
        recovered = self.queue.recover_after_crash(requeue=self.settings.requeue_interrupted)
        for task in recovered:
            log.warning(
                "task %s was running when the WebUI stopped: %s",
                task.id,
                "requeued" if task.status is TaskStatus.PENDING else "left interrupted",
            )
        self._recovered = True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never ran)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return not self.alive

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
        reason = self.queue.stop_request(current) if event == "stop_requested" and current else None
        if reason == "paused":
            stop_after_current = getattr(self.runner, "stop_after_current", None)
            if stop_after_current is not None:  # else the task runs to its end, then the queue waits
                stop_after_current()
        elif reason is not None:
            self.runner.interrupt()
        if event in ("enqueued", "resumed", "run_once", "moved", "recovered", "requeued", "job_resumed"):
            self._wake.set()

    def _loop(self, predecessor: Executor | None = None) -> None:
        try:
            if predecessor is not None:
                predecessor.join()
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self._recover_once()
                    worked = self.run_one()
                except StoreUnavailable:
                    log.exception("task store unavailable; retrying in %.0f s", _RETRY_AFTER_STORE_ERROR_S)
                    self._wake.wait(_RETRY_AFTER_STORE_ERROR_S)
                    continue
                except Exception:
                    log.exception("task executor iteration failed; retrying in %.0f s", _RETRY_AFTER_ERROR_S)
                    self._wake.wait(_RETRY_AFTER_ERROR_S)
                    continue
                if not worked and not self._stop.is_set():
                    self._wake.wait()
            if self._unrecorded is not None:  # stopping: one last try to keep the result
                try:
                    self._record_pending()
                except Exception:
                    log.exception("task %s: its outcome could not be recorded", self._unrecorded.task.id)
        finally:
            self._run_after_stop()

    def after_stop(self, fn: Any) -> None:
        """Call ``fn()`` once the thread has ended (at once when it is not running).

        Lets an owner close what the running task still needs (the store) only after the task
        recorded its outcome, however long it takes.
        """
        with self._lifecycle:
            if self.alive and not self._ended:
                self._after.append(fn)
                return
        fn()

    def _run_after_stop(self) -> None:
        with self._lifecycle:
            self._ended = True
            after, self._after = self._after, []
        for fn in after:
            try:
                fn()
            except Exception:
                log.exception("task executor: clean-up after stop failed")

    # -- one unit of work ---------------------------------------------------------------------

    def run_one(self) -> bool:
        """Claim the next task and run it to an outcome; False when there was nothing to run.

        An outcome not yet recorded (the store failed last time) is recorded first, and nothing
        new is claimed until it is.
        """
        if self._unrecorded is not None:
            self._record_pending()
            return True
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
        self._unrecorded = _Unrecorded(task, outcome)
        self._record_pending()
        self._purge_history()
        return True

    def _record_pending(self) -> None:
        """Record the kept outcome; on failure keep it (and raise) so the loop retries later."""
        pending = self._unrecorded
        if pending is None:
            return
        try:
            self._record(pending.task, pending.outcome)
        except (InvalidTransition, TaskNotFound) as exc:
            # no longer ours to record (deleted, or taken over by a crash recovery elsewhere)
            log.warning("task %s: outcome %s not recorded: %s", pending.task.id, pending.outcome.status, exc)
        except StoreUnavailable:
            raise
        except Exception as exc:
            pending.failures += 1
            if pending.failures >= _RECORD_ATTEMPTS and pending.outcome.status is not TaskStatus.FAILED:
                what = pending.outcome.status.value if pending.outcome.status else "requeue"
                pending.outcome = Outcome(
                    TaskStatus.FAILED, error=f"The outcome ({what}) could not be recorded: {_describe(exc)}"
                )
            raise
        self._unrecorded = None

    def _outcome(self, task: Task) -> Outcome:
        stop = self.queue.stop_request(task.id)
        if stop == "paused":  # paused between claim and start: back to its place, untouched
            return Outcome(TaskStatus.PENDING, made=task.result)
        if stop is not None:  # stopped between claim and start
            return Outcome(TaskStatus(stop))
        started = time.monotonic()
        try:
            run = self.runner.run(resume.remaining(task), lambda update: self._report(task, update, started))
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
        run.result = resume.merged(task, run.result)
        stop = self.queue.stop_request(task.id)
        if stop == "paused":
            whole = len(run.result.seeds) >= resume.iterations(task) * resume.batch_size(task)
            if not run.interrupted or whole:  # the runner let it finish (or it had finished anyway)
                return Outcome(TaskStatus.DONE, run)
            # k of N iterations (maybe none yet): wait in the queue to make the rest
            return Outcome(TaskStatus.PENDING, run, made=resume.partial(task, run.result))
        if stop is not None:
            return Outcome(TaskStatus(stop), run)
        if run.interrupted:
            return Outcome(TaskStatus.INTERRUPTED, run)
        return Outcome(TaskStatus.DONE, run)

    def _record(self, task: Task, outcome: Outcome) -> None:
        if outcome.status is None:
            self.queue.requeue_running(task.id, outcome.error or "the runner became unavailable")
            return
        if outcome.status is TaskStatus.PENDING:
            self.queue.park(task.id, outcome.made)
            return
        run = outcome.run
        self.queue.finish(
            task.id,
            outcome.status,
            result=run.result if run else None,
            error=outcome.error,
            warnings=run.warnings if run else (),
        )

    def _purge_history(self) -> None:
        try:
            if self.settings.retention_days and not self.queue.count(TaskStatus.PENDING):
                removed = self.queue.purge_older_than(self.settings.retention_days * 86400)
                if removed:
                    log.info("history retention removed %d old tasks", removed)
        except Exception:
            log.exception("history retention failed; it runs again after the next task")

    def _report(self, task: Task, update: ProgressUpdate, started: float) -> None:
        if update.made is not None:  # what the run made so far, not a step of progress
            made = resume.partial(task, resume.merged(task, update.made))
            if made is not None:
                try:
                    self.queue.record_partial(task.id, made)
                except Exception:  # best effort: the run itself goes on
                    log.exception("task %s: could not keep its images so far", task.id)
            return
        eta = update.eta_s
        if eta is None and 0 < update.fraction < 1:
            elapsed = time.monotonic() - started
            eta = elapsed / update.fraction - elapsed
        extra: dict[str, Any] = dict(update.extra)
        self.queue.set_progress(Progress(task.id, update.fraction, update.text, eta, extra))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
