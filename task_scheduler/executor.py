"""The executor: a worker of the queue, a daemon thread that runs tasks one at a time through a Runner.

``run_one()`` does one unit of work and is what tests call; the thread is only a loop around it
that sleeps on an Event, so an idle queue costs nothing and new work starts at once (a task
queued by another process wakes it through the store's change watch).

A second thread beats the worker's heart (:mod:`.workers`): it renews the lease of the running
task however long the run blocks, puts back tasks of workers whose lease lapsed, and notices
when this worker's own claim was taken from it (its run is then interrupted: another worker has
the task).
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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from . import batch_run, resume
from .batching import DEFAULT_FOR_CLICKS, DEFAULT_FOR_JOBS, BatchPolicy
from .checker import errors_of, warnings_of
from .errors import InvalidTransition, OutOfMemory, RunnerUnavailable, StoreUnavailable, TaskNotFound
from .events import WAKES_WORKERS, QueueEvent
from .outcome import Outcome
from .runner import ProgressUpdate, Runner
from .task import Task, TaskStatus
from .task_queue import Progress, TaskQueue
from .workers import WorkerIdentity

log = logging.getLogger(__name__)

_RETRY_AFTER_STORE_ERROR_S = 5.0
#: after an unexpected error in the loop: retry this soon (never wait for a wake that may not come)
_RETRY_AFTER_ERROR_S = 5.0
#: tries to record one outcome before it is recorded as ``failed`` instead
_RECORD_ATTEMPTS = 3
#: a stop request the store could not be asked about (it was out of reach)
_UNKNOWN = "(unknown)"
#: a running task's progress is written to the store at most this often (every process reads it)
_PROGRESS_EVERY_S = 0.25
#: how often a worker drops its cached copies of files other machines deleted (a farm's cache)
_PRUNE_CACHE_EVERY_S = 3600.0
#: an idle executor looks again at least this often (a clock changed under it, a missed wake)
_LONGEST_IDLE_WAIT_S = 6 * 3600.0


@dataclass
class ExecutorSettings:
    """Behaviour switches; the WebUI glue refreshes them from the Settings page."""

    checkpoint_aware_order: bool = True
    requeue_interrupted: bool = True
    pause_on_out_of_memory: bool = True
    retention_days: float | None = None
    #: auto-batching (:mod:`.batching`): the most tasks of a job or a seed repeat per WebUI
    #: batch, and of single clicks (0 or 1: off)
    auto_batch: int = DEFAULT_FOR_JOBS
    auto_batch_clicks: int = DEFAULT_FOR_CLICKS


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
        worker: WorkerIdentity | None = None,
    ) -> None:
        """``worker``: who this executor is in the shared queue; give a stable id (the WebUI's
        host and port) so that a restart recovers its own tasks at once."""
        self.queue = queue
        self.runner = runner
        self.settings = settings or ExecutorSettings()
        self.worker = worker or WorkerIdentity.local()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._current: str | None = None
        #: the tasks of the batch being run (empty when one task runs alone)
        self._members: tuple[str, ...] = ()
        #: every task of the claim in hand, until its outcomes are kept: the heartbeat renews them
        #: all, also those waiting their turn while a failed batch runs one by one
        self._claimed: tuple[str, ...] = ()
        #: batch sizes and what out-of-memory taught (kept while the process lives)
        self.batching = BatchPolicy()
        self._recovered = False
        self._stop_acted: tuple[str, str] | None = None
        self._progress_written = 0.0
        self._cache_pruned = -_PRUNE_CACHE_EVERY_S  # the first task's end prunes
        self._heart_stop = threading.Event()
        #: set while the store is out of reach; other workers' leases are judged again a lease after
        self._store_lost = False
        self._judge_leases_after = 0.0
        self._heart: threading.Thread | None = None
        self._unrecorded: list[_Unrecorded] = []
        self._after: list[Any] = []
        self._ended = True
        #: since when (store clock) nothing ran here, after a run; None while busy or unloaded
        self._idle_since: float | None = None
        self._unloaded = False
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
            self.register()
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
            if self._heart is None or not self._heart.is_alive():
                self._heart_stop.clear()
                self._heart = threading.Thread(
                    target=self._heartbeat_loop, name="task-scheduler-heartbeat", daemon=True
                )
                self._heart.start()

    def register(self) -> None:
        """Write this worker's row: who it is, what it has loaded and which models it has.

        :meth:`start` does it; an owner of several workers registers them all first, so that
        none claims a task for a model only another has before that other is known.
        """
        self.worker = self.queue.workers.register(
            self.worker, checkpoint=self._checkpoint(), available=self._available()
        )
        if self.worker.id in self.queue.unloaded_workers():  # a new process: nothing given back yet
            self.queue.note_model_unloaded(self.worker.id, None)

    def _recover_once(self) -> None:
        if self._recovered:
            return
        recovered = self.queue.recover(worker=self.worker, requeue=self.settings.requeue_interrupted)
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
                ended = thread is not None
            else:
                ended = False
        if ended:
            try:
                self.queue.workers.stopped(self.worker)
            except Exception:
                log.exception("worker %s: could not record its stop", self.worker.id)

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

    def _on_queue_event(self, event: QueueEvent, task: Task | None) -> None:
        if event in (QueueEvent.STOP_REQUESTED, QueueEvent.CHANGED_ELSEWHERE):
            self._act_on_stop_request()
        if event in WAKES_WORKERS:
            self._wake.set()

    def _act_on_stop_request(self) -> None:
        """Stop the current run when someone (this process or another) asked; once per request."""
        current = self._current
        if current is None:
            return
        for member in self._members or (current,):
            self._act_on_stop_request_of(member)

    def _act_on_stop_request_of(self, current: str) -> None:
        try:
            reason = self.queue.requested(current)
            if reason == "skip":
                skip = getattr(self.runner, "skip", None)
                if self.queue.take_skip(current) and skip is not None:
                    skip()
                return
        except Exception:
            log.exception("task %s: could not read its stop request", current)
            return
        if reason is None or self._stop_acted == (current, reason):
            return
        self._stop_acted = (current, reason)
        if reason == "paused":
            stop_after_current = getattr(self.runner, "stop_after_current", None)
            if stop_after_current is not None:  # else the task runs to its end, then the queue waits
                stop_after_current()
        else:
            self.runner.interrupt()

    def _loop(self, predecessor: Executor | None = None) -> None:
        try:
            if predecessor is not None:
                predecessor.join()
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self._recover_once()
                    worked = self.run_one()
                except StoreUnavailable as exc:  # a line, not a traceback: it says it all, often
                    log.warning("%s; retrying in %.0f s", exc, _RETRY_AFTER_STORE_ERROR_S)
                    self._wake.wait(_RETRY_AFTER_STORE_ERROR_S)
                    continue
                except Exception:
                    log.exception("task executor iteration failed; retrying in %.0f s", _RETRY_AFTER_ERROR_S)
                    self._wake.wait(_RETRY_AFTER_ERROR_S)
                    continue
                if not worked and not self._stop.is_set():
                    self._wake.wait(self._idle_step())
            if self._unrecorded:  # stopping: one last try to keep the result
                try:
                    self._record_pending()
                except Exception:
                    log.exception("task %s: its outcome could not be recorded", self._unrecorded[0].task.id)
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
        self._heart_stop.set()
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
        if self._unrecorded:
            self._record_pending()
            return True
        prefer = None
        if self.settings.checkpoint_aware_order:
            try:
                prefer = self.runner.current_checkpoint()
            except Exception:
                log.exception("runner could not tell its current checkpoint")
        batches = getattr(self.runner, "run_batch", None) is not None
        self.batching.for_jobs = self.settings.auto_batch
        self.batching.for_clicks = self.settings.auto_batch_clicks
        group = self.queue.claim_group(
            worker=self.worker,
            prefer_checkpoint=prefer,
            batching=self.batching if batches else None,
            checkpoint_aware=self.settings.checkpoint_aware_order,
        )
        if not group:
            return False
        self._current = group[0].id
        self._claimed = tuple(task.id for task in group)
        self._idle_since = None
        if self._unloaded:  # the run loads the model again, as any run does
            self._unloaded = False
            self._quietly(
                "record the model loaded again", self.queue.note_model_unloaded, self.worker.id, None
            )
        self._progress_written = 0.0
        try:
            if len(group) == 1:
                outcomes = [(group[0], self._outcome(group[0]))]
            else:
                self._members = tuple(task.id for task in group)
                outcomes = batch_run.run_group(
                    group,
                    runner=self.runner,
                    policy=self.batching,
                    before_start=self._before_start,
                    ask_after=lambda task: _known(self._stop_request(task, "after it ran")),
                    run_alone=self._run_alone,
                    report=lambda update, started: self._report(group[0], update, started, group),
                )
            # kept before the tasks stop being current: the heartbeat renews their leases throughout
            self._unrecorded = [_Unrecorded(task, outcome) for task, outcome in outcomes]
        finally:
            self._current = None
            self._members = ()
            self._claimed = ()
        self._record_pending()
        self._purge_history()
        self._prune_file_cache()
        self._idle_since = self.queue.store.clock()
        return True

    # -- idle: wake at the next due time; give the GPU back ------------------------------------

    def idle_step(self) -> float | None:
        """What an idle executor does between claims; returns how long it may sleep (None: until woken).

        It sleeps until the next thing that can change what it may run: a not-before time, a
        run window opening or closing (:mod:`.schedule`), or the moment to give the GPU back:
        after the queue ran something and then had nothing to run here (empty, paused, outside
        its window) for the user's delay, the model is unloaded through the runner
        (``unload_model``); the next task loads it again.
        """
        now = self.queue.store.clock()
        plan = self.queue.idle_plan(self.worker.id, now)
        waits = [at - now for at in (plan.next_due, plan.gate_change) if at is not None]
        delay = plan.unload_after_s
        unload = getattr(self.runner, "unload_model", None)
        if delay is not None and unload is not None and self._idle_since is not None and not self._unloaded:
            due = self._idle_since + delay
            if now >= due:
                self._give_gpu_back(unload, now)
            else:
                waits.append(due - now)
        return max(0.0, min(min(waits), _LONGEST_IDLE_WAIT_S)) if waits else None

    def _give_gpu_back(self, unload: Any, now: float) -> None:
        try:
            unloaded = unload()
        except Exception:
            log.exception("task scheduler: unloading the model failed; it stays loaded")
            self._idle_since = None  # not again until the queue ran something
            return
        self._idle_since = None
        if unloaded is False:  # nothing was loaded
            return
        self._unloaded = True
        log.info("task scheduler: the queue is idle; the model was unloaded to give the GPU back")
        self._quietly("record the model unloaded", self.queue.note_model_unloaded, self.worker.id, now)

    def _idle_step(self) -> float | None:
        try:
            return self.idle_step()
        except Exception:
            log.exception(
                "task executor: planning the idle wait failed; looking again in %.0f s", _RETRY_AFTER_ERROR_S
            )
            return _RETRY_AFTER_ERROR_S

    @staticmethod
    def _quietly(what: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("task executor: could not %s", what)

    def _run_alone(self, task: Task) -> Outcome:
        """One task of a batch that could not run as one, run by itself (stops act on it alone)."""
        members = self._members
        self._current, self._members = task.id, ()
        try:
            return self._outcome(task)
        finally:
            self._current, self._members = members[0] if members else task.id, members

    def _record_pending(self) -> None:
        """Record the kept outcomes; on failure keep them (and raise) so the loop retries later."""
        while self._unrecorded:
            self._record_one(self._unrecorded[0])
            self._unrecorded.pop(0)

    def _record_one(self, pending: _Unrecorded) -> None:
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

    def _stop_request(self, task: Task, when: str) -> str | None:
        """What was asked of the task; ``_UNKNOWN`` when the store is out of reach.

        Why not raise: the task is claimed (or has run) and its outcome must be kept to be
        recorded later; an exception here would leave it ``running`` with nobody running it.
        """
        try:
            return self.queue.stop_request(task.id)
        except StoreUnavailable as exc:
            log.warning("task %s: its stop request could not be read %s: %s", task.id, when, exc)
            return _UNKNOWN

    def _before_start(self, task: Task) -> tuple[Outcome | None, list[str]]:
        """Whether a claimed task may start: ``(its outcome, [])`` when it may not, else
        ``(None, the warnings the check found since it was queued)``."""
        stop = self._stop_request(task, "before it started")
        if stop == _UNKNOWN:  # a worker that cannot reach the store starts nothing: back it goes
            return Outcome(None, error="the task store was out of reach when the task was to start"), []
        if stop == "paused":  # paused between claim and start: back to its place, untouched
            return Outcome(TaskStatus.PENDING, made=task.result), []
        if stop is not None:  # stopped between claim and start
            return Outcome(TaskStatus(stop)), []
        refused, new_warnings = self._check_at_start(task)
        if refused is not None:
            return Outcome(TaskStatus.FAILED, error=refused), []
        return None, new_warnings

    def _outcome(self, task: Task) -> Outcome:
        settled, new_warnings = self._before_start(task)
        if settled is not None:
            return settled
        started = time.monotonic()
        try:
            run = self.runner.run(resume.remaining(task), lambda update: self._report(task, update, started))
        except RunnerUnavailable as exc:
            log.warning("task %s goes back to the queue: %s", task.id, exc)
            stop = _known(self._stop_request(task, "after it ran"))
            return Outcome(TaskStatus(stop) if stop is not None else None, error=_describe(exc))
        except OutOfMemory as exc:
            log.error("task %s ran out of memory: %s", task.id, exc)
            if self.settings.pause_on_out_of_memory:
                try:
                    self.queue.pause()
                except StoreUnavailable as lost:  # the outcome is kept all the same
                    log.warning("task %s: the queue could not be paused: %s", task.id, lost)
            return Outcome(TaskStatus.FAILED, error=f"Out of memory: {exc}")
        except Exception as exc:
            log.error("task %s failed:\n%s", task.id, traceback.format_exc())
            return Outcome(TaskStatus.FAILED, error=_describe(exc))
        run.result = resume.merged(task, run.result)
        run.warnings = [*new_warnings, *run.warnings]
        stop = _known(self._stop_request(task, "after it ran"))  # unknown: as the run ended
        if stop == "paused":
            whole = len(run.result.seeds) >= resume.iterations(task) * resume.batch_size(task)
            if not run.interrupted or whole:  # the runner let it finish (or it had finished anyway)
                return Outcome(TaskStatus.DONE, run)
            # k of N iterations (maybe none yet): wait in the queue to make the rest; the grid
            # over all of them is made when it resumes
            resume.discard_grids(run.result)
            return Outcome(TaskStatus.PENDING, run, made=resume.partial(task, run.result))
        if stop is not None:
            return Outcome(TaskStatus(stop), run)
        if run.interrupted:
            return Outcome(TaskStatus.INTERRUPTED, run)
        return Outcome(TaskStatus.DONE, run)

    def _check_at_start(self, task: Task) -> tuple[str | None, list[str]]:
        """Check ``task`` again before anything is loaded: ``(why it fails, new warnings)``.

        A LoRA deleted or a checkpoint renamed since it was queued: errors fail it with the
        reason; a warning it was not queued with fails it too when the setting says so, else
        the task runs and keeps the warning.
        """
        checker = self.queue.checker
        if checker is None:
            return None, []
        try:
            (problems,) = checker.check_many([task])
        except Exception:
            log.exception("task %s: the check at start failed; it runs unchecked", task.id)
            return None, []
        errors = errors_of(problems)
        fresh = [p.text for p in warnings_of(problems) if p.text not in task.warnings]
        if errors:
            return "Not started: " + "; ".join(p.text for p in errors), []
        if fresh and checker.settings.at_start == "fail":
            return "Not started: " + "; ".join(fresh), []
        return None, fresh

    def _record(self, task: Task, outcome: Outcome) -> None:
        if outcome.status is None:
            self.queue.requeue_running(
                task.id, outcome.error or "the runner became unavailable", worker=self.worker
            )
            return
        if outcome.status is TaskStatus.PENDING:
            self.queue.park(task.id, outcome.made, worker=self.worker)
            return
        run = outcome.run
        self.queue.finish(
            task.id,
            outcome.status,
            result=run.result if run else None,
            error=outcome.error,
            warnings=run.warnings if run else (),
            worker=self.worker,
        )

    def _prune_file_cache(self) -> None:
        """At most once per :data:`_PRUNE_CACHE_EVERY_S`, after a task: this machine's cached
        copies of files other machines deleted go (:meth:`FileStore.prune_cache`)."""
        files = self.queue.files
        now = time.monotonic()
        if files is None or files.blobs is None or now - self._cache_pruned < _PRUNE_CACHE_EVERY_S:
            return
        self._cache_pruned = now
        try:
            removed = files.prune_cache()
            if removed:
                log.info("removed %d cached input files that no task uses any more", len(removed))
        except Exception:
            log.exception("pruning the file cache failed; it runs again later")

    def _purge_history(self) -> None:
        try:
            if self.settings.retention_days and not self.queue.count(TaskStatus.PENDING):
                removed = self.queue.purge_older_than(self.settings.retention_days * 86400)
                if removed:
                    log.info("history retention removed %d old tasks", removed)
        except Exception:
            log.exception("history retention failed; it runs again after the next task")

    def _report(
        self, task: Task, update: ProgressUpdate, started: float, members: Sequence[Task] = ()
    ) -> None:
        """Keep the run's progress in the store; a batch's on every task of it (``members``)."""
        if update.made is not None:  # what the run made so far, not a step of progress
            if members:  # a batch makes every image at once, one per task: nothing to resume
                return
            made = resume.partial(task, resume.merged(task, update.made))
            if made is not None:
                try:
                    self.queue.record_partial(task.id, made, worker=self.worker)
                except Exception:  # best effort: the run itself goes on
                    log.exception("task %s: could not keep its images so far", task.id)
            return
        eta = update.eta_s
        if eta is None and 0 < update.fraction < 1:
            elapsed = time.monotonic() - started
            eta = elapsed / update.fraction - elapsed
        now = time.monotonic()
        if update.fraction >= 1 or now - self._progress_written < _PROGRESS_EVERY_S:
            return  # "finished" says nothing the task's status will not say at once
        self._progress_written = now
        extra: dict[str, Any] = dict(update.extra)
        for each in members or (task,):
            try:
                self.queue.set_progress(
                    Progress(each.id, update.fraction, update.text, eta, extra), worker=self.worker
                )
            except Exception:  # progress is best effort: the run goes on
                log.exception("task %s: could not write its progress", each.id)

    # -- the heartbeat ------------------------------------------------------------------------

    def _checkpoint(self) -> str | None:
        try:
            return self.runner.current_checkpoint()
        except Exception:
            return None

    def _available(self) -> Collection[str] | None:
        """The checkpoints the runner has, when it says (another worker takes tasks for others)."""
        available = getattr(self.runner, "available_checkpoints", None)
        try:
            return available() if available is not None else None
        except Exception:
            log.exception("runner could not tell which checkpoints it has")
            return None

    def down(self) -> bool:
        """Whether the worker cannot run anything now (a remote WebUI that does not answer)."""
        return False

    def beat(self) -> None:
        """One heartbeat: renew the lease, notice a lost claim, put back tasks of dead workers.

        After the store was out of reach (a database server restart, a network cut), every
        lease looks lapsed; other workers' are judged only once they had a lease's time to
        renew them, so a task that ran on through the outage is not run a second time.
        """
        current = self._current
        running = self._members or ((current,) if current is not None else ())
        # every task of the claim in hand (the running ones among them), and every outcome kept
        # for the store, stays this worker's
        kept = [pending.task.id for pending in list(self._unrecorded)]
        holding = list(dict.fromkeys([*self._claimed, *kept]))
        try:
            held = self.queue.workers.heartbeat(
                self.worker,
                checkpoint=self._checkpoint(),
                down=self.down(),
                available=self._available(),
                holding=holding,
            )
        except StoreUnavailable:
            self._store_lost = True
            raise
        if self._store_lost:
            self._store_lost = False
            self._judge_leases_after = time.monotonic() + self.worker.lease_s
        if not current:
            self._wake.set()  # idle: look again (a worker whose model kept a task from us may be gone)
        lapsed = [task_id for task_id in running if task_id not in held]
        if lapsed and current == self._current:
            log.error(
                "task %s: this worker's claim lapsed and the task was taken back; stopping its run",
                ", ".join(lapsed),
            )
            self.runner.interrupt()
        if time.monotonic() < self._judge_leases_after:
            return
        for task in self.queue.recover(lapsed_only=True, requeue=self.settings.requeue_interrupted):
            log.warning(
                "task %s: its worker %s stopped renewing its lease; %s",
                task.id,
                task.worker_id,
                "requeued" if task.status is TaskStatus.PENDING else "left interrupted",
            )

    def _heartbeat_loop(self) -> None:
        """Beats until the executor's thread has ended, not when it was asked to stop: a task
        it still finishes keeps its lease."""
        while not self._heart_stop.wait(self.worker.heartbeat_s):
            try:
                self.beat()
            except StoreUnavailable as exc:
                log.warning("worker %s: heartbeat failed; trying again: %s", self.worker.id, exc)
            except Exception:
                log.exception("worker %s: heartbeat failed; trying again", self.worker.id)


def _known(stop: str | None) -> str | None:
    return None if stop == _UNKNOWN else stop


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
