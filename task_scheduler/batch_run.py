"""Run a claimed group of tasks (:mod:`.batching`) as one WebUI batch and decide each outcome.

The group is already ``running`` under this worker's lease. It goes to the runner's
``run_batch`` in one call; each task then gets its own image, seed and infotext. What can go
wrong stays with the task it concerns:

* out of device memory: the batch size is halved for that model and size
  (:meth:`BatchPolicy.out_of_memory`) and the same tasks run one by one, now;
* not one image per task (a model that reads the batch size otherwise, such as a Wan video
  model on Forge Neo): the same tasks run one by one, and that model is not batched again
  (:meth:`BatchPolicy.not_batchable`);
* any other error: the tasks run one by one, so a bad task fails alone;
* a task stopped (deleted, interrupted) while the batch runs: the batch is interrupted, that
  task ends as asked and the others go back to their places at the front of the queue, not
  counted as crashes;
* "pause now": the batch is one image per task, so it finishes, as a task's last image would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from .batching import BatchPolicy, resolved_seeds
from .errors import NotBatchable, OutOfMemory, RunnerUnavailable
from .outcome import Outcome
from .runner import ProgressUpdate, RunResult
from .task import Task, TaskStatus

log = logging.getLogger(__name__)


#: before a task starts: ``(outcome, None)`` when it must not run (stopped, paused, refused by
#: the check, store out of reach), else ``(None, warnings the check found since it was queued)``
BeforeStart = Callable[[Task], tuple[Outcome | None, list[str]]]
#: what was asked of a task once its run ended (None: nothing, or the store could not tell)
AskAfter = Callable[[Task], str | None]


def run_group(
    tasks: Sequence[Task],
    *,
    runner: Any,
    policy: BatchPolicy,
    before_start: BeforeStart,
    ask_after: AskAfter,
    run_alone: Callable[[Task], Outcome],
    report: Callable[[ProgressUpdate, float], None],
) -> list[tuple[Task, Outcome]]:
    """Each task of ``tasks`` with its outcome, in the order given.

    ``before_start`` and ``ask_after`` are the executor's own decisions for a single task, so
    a task of a batch is stopped, refused or kept exactly as it would be alone.
    """
    outcomes: dict[str, Outcome] = {}
    ready: list[Task] = []
    found: dict[str, list[str]] = {}
    for task in tasks:
        settled, found[task.id] = before_start(task)
        if settled is not None:
            outcomes[task.id] = settled
        else:
            ready.append(task)
    if len(ready) == 1:
        outcomes[ready[0].id] = run_alone(ready[0])
    elif ready:
        outcomes.update(_together(ready, found, runner, policy, ask_after, run_alone, report))
    return [(task, outcomes[task.id]) for task in tasks]


def _together(
    tasks: list[Task],
    found: dict[str, list[str]],
    runner: Any,
    policy: BatchPolicy,
    ask_after: AskAfter,
    run_alone: Callable[[Task], Outcome],
    report: Callable[[ProgressUpdate, float], None],
) -> dict[str, Outcome]:
    started = time.monotonic()
    try:
        runs: list[RunResult] = runner.run_batch(
            resolved_seeds(tasks), lambda update: report(update, started)
        )
        if len(runs) != len(tasks):
            raise RuntimeError(f"the runner returned {len(runs)} results for a batch of {len(tasks)}")
    except RunnerUnavailable as exc:
        log.warning("batch of %d tasks goes back to the queue: %s", len(tasks), exc)
        outcomes = {}
        for task in tasks:
            stop = ask_after(task)
            outcomes[task.id] = Outcome(TaskStatus(stop) if stop is not None else None, error=str(exc))
        return outcomes
    except OutOfMemory as exc:
        smaller = policy.out_of_memory(tasks)
        log.warning(
            "a batch of %d tasks ran out of memory (%s); running them one by one, batches of at most %d "
            "for this model and size from now on",
            len(tasks),
            exc,
            smaller,
        )
        return _one_by_one(tasks, run_alone)
    except NotBatchable as exc:
        policy.not_batchable(tasks)
        log.warning("%s; running the %d tasks one by one, and their model alone from now on", exc, len(tasks))
        return _one_by_one(tasks, run_alone)
    except Exception:
        log.exception("a batch of %d tasks failed; running them one by one", len(tasks))
        return _one_by_one(tasks, run_alone)
    asked = {task.id: ask_after(task) for task in tasks}
    stopped_for = any(reason in ("cancelled", "interrupted") for reason in asked.values())
    outcomes = {}
    for task, run in zip(tasks, runs, strict=True):
        run.warnings = [*found.get(task.id, []), *run.warnings]
        stop = asked[task.id]
        if stop in ("cancelled", "interrupted"):
            outcomes[task.id] = Outcome(TaskStatus(stop), run)
        elif run.interrupted and stopped_for:  # stopped for another task of the batch
            outcomes[task.id] = Outcome(TaskStatus.PENDING, made=task.result)
        elif run.interrupted and stop != "paused":
            outcomes[task.id] = Outcome(TaskStatus.INTERRUPTED, run)
        else:
            outcomes[task.id] = Outcome(TaskStatus.DONE, run)
    return outcomes


def _one_by_one(tasks: list[Task], run_alone: Callable[[Task], Outcome]) -> dict[str, Outcome]:
    return {task.id: run_alone(task) for task in tasks}


__all__ = ["run_group"]
