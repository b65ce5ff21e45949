"""Auto-batching: which pending tasks may run together as one WebUI batch.

A sweep of prompts × seeds or "Queue N times with new seeds" fills the queue with tasks that
differ only in prompt, negative prompt, seed and subseed. The WebUI already generates a batch
with one prompt and seed per image (list prompts and seeds in its processing object), which
keeps a GPU far busier than one image at a time. Everything here is a pure function over
stored tasks, so every rule is testable without a store or a WebUI: the queue asks
:func:`select_group` inside its claim transaction, the runner gets :func:`combined`.

Who may join (:func:`batch_key`): the same kind (txt2img, img2img), checkpoint, parameters (VAE
and text encoders live in ``override_settings``, hires fix, sampler, size, CFG, styles, an
img2img init image's stored reference ...), extension values and user, no selected script,
one image each (batch size 1, batch count 1), not marked "exact". Where (:func:`select_group`):
next to each other in run order, or tasks of one job; a task the user placed explicitly is
never jumped. How many (:class:`BatchPolicy`): up to the setting for tasks of a job or a seed
repeat (default 4), up to another setting for single clicks (default off).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .task import Task, checkpoint_key

#: the parameters in which tasks of one batch may differ: the WebUI takes a list for each
VARYING = ("prompt", "negative_prompt", "seed", "subseed")
KINDS = ("txt2img", "img2img")
#: the choices the settings offer (0: off)
SIZES = (0, 2, 4, 8)
DEFAULT_FOR_JOBS = 4
DEFAULT_FOR_CLICKS = 0


def batch_key(task: Task) -> str | None:
    """What two tasks must share to run as one batch; None when this one never joins one."""
    if task.kind not in KINDS or task.script_name or task.batching == "exact" or task.damaged:
        return None
    params = task.params
    for name in ("n_iter", "batch_size"):
        if params.get(name, 1) != 1:
            return None
    if task.result is not None and task.result.images:  # resumed with images made: keep it whole
        return None
    rest = {name: value for name, value in params.items() if name not in VARYING}
    for name in ("seed", "subseed"):
        if _whole_seed(params.get(name, -1)) is None:
            return None  # a seed the WebUI must parse itself ("", "123"): run it as it is
    for name in ("prompt", "negative_prompt"):
        if not isinstance(params.get(name, ""), str):
            return None
    return json.dumps(
        [
            task.kind,
            checkpoint_key(task.checkpoint),
            rest,
            task.script_args,
            task.user,
            task.worker_pin,
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )


def _whole_seed(value: Any) -> int | None:
    """A seed as the WebUI's Seed field gives it (an int; gradio 3 may send 1234.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def origin(task: Task) -> str:
    """``"job"``, ``"repeat"`` (a "Queue N times with new seeds") or ``"single"``."""
    if task.batching == "repeat":
        return "repeat"
    return "job" if task.job_id else "single"


@dataclass
class BatchPolicy:
    """How large a batch may be: the two settings and the sizes out-of-memory taught us."""

    for_jobs: int = DEFAULT_FOR_JOBS
    for_clicks: int = DEFAULT_FOR_CLICKS
    #: (checkpoint key, width, height) -> the largest batch that did not run out of memory
    learned: dict[tuple[str | None, Any, Any], int] = field(default_factory=dict)
    #: checkpoint keys whose model made no batch of images (:meth:`not_batchable`)
    unbatchable: set[str | None] = field(default_factory=set)

    def limit(self, task: Task) -> int:
        """The most tasks ``task`` may run with, itself included (1: alone)."""
        if batch_key(task) is None or checkpoint_key(task.checkpoint) in self.unbatchable:
            return 1
        setting = self.for_clicks if origin(task) == "single" else self.for_jobs
        limit = setting if isinstance(setting, int) and setting > 1 else 1
        learned = self.learned.get(memory_key(task))
        return min(limit, learned) if learned is not None else limit

    def out_of_memory(self, tasks: Sequence[Task]) -> int:
        """A batch of ``tasks`` ran out of memory: remember half of it for this model and size."""
        smaller = max(1, len(tasks) // 2)
        key = memory_key(tasks[0])
        self.learned[key] = min(smaller, self.learned.get(key, smaller))
        return smaller

    def not_batchable(self, tasks: Sequence[Task]) -> None:
        """A batch of ``tasks`` did not make one image per task: their model runs them alone."""
        self.unbatchable.add(checkpoint_key(tasks[0].checkpoint))


def memory_key(task: Task) -> tuple[str | None, Any, Any]:
    params = task.params
    return checkpoint_key(task.checkpoint), params.get("width"), params.get("height")


def select_group(
    head: Task,
    following: Sequence[Task],
    limit: Callable[[Task], int],
    *,
    checkpoint_aware: bool = True,
) -> list[Task]:
    """``head`` and the tasks that run with it, in run order.

    ``following``: the pending tasks after ``head`` in queue order (same priority). A task
    joins when it is compatible (:func:`batch_key`) and may be batched itself, and either comes
    next in run order (no task that stays behind lies between; with checkpoint-aware order, an
    unplaced task of another model runs after this model's tasks anyway, so it does not count)
    or belongs to ``head``'s job. The scan ends at the first task the user placed explicitly
    (pinned) that does not join: nothing is ever run ahead of it.
    """
    group = [head]
    size = limit(head)
    key = batch_key(head)
    if key is None or size < 2:
        return group
    model = checkpoint_key(head.checkpoint)
    adjacent = True
    for task in following:
        if len(group) >= size:
            break
        joins = batch_key(task) == key and limit(task) > 1
        if joins and (adjacent or (head.job_id is not None and task.job_id == head.job_id)):
            group.append(task)
            continue
        if task.pinned:
            break
        if checkpoint_aware and checkpoint_key(task.checkpoint) != model:
            continue  # checkpoint-aware order runs it after this model's tasks
        adjacent = False
    return group


def resolved_seeds(tasks: Sequence[Task], rng: random.Random | None = None) -> list[Task]:
    """The tasks with a random seed (-1) drawn now, as the WebUI draws it for a task alone."""
    draw = rng or random.SystemRandom()
    out: list[Task] = []
    for task in tasks:
        params = dict(task.params)
        for name in ("seed", "subseed"):
            seed = _whole_seed(params.get(name, -1))
            params[name] = int(draw.randrange(4294967294)) if seed is None or seed == -1 else seed
        out.append(replace(task, params=params))
    return out


def combined(tasks: Sequence[Task]) -> Task:
    """One task that makes every task's image: the first one's values, with a list of prompts,
    negative prompts, seeds and subseeds (one per task, in order), batch size N, batch count 1.

    The WebUI's processing takes these lists as they are (``setup_prompts``: a list prompt
    becomes ``all_prompts``; ``process_images_inner``: a list seed becomes ``all_seeds``), so
    image *i* gets task *i*'s prompt, seed and infotext. No grid is made or saved: alone, no task
    would have had one. Seeds must be resolved first (:func:`resolved_seeds`).
    """
    head = tasks[0]
    params = dict(head.params)
    for name, default in (("prompt", ""), ("negative_prompt", ""), ("seed", -1), ("subseed", -1)):
        params[name] = [task.params.get(name, default) for task in tasks]
    params["batch_size"] = len(tasks)
    params["n_iter"] = 1
    processing = dict(params.get("processing") or {})
    processing["do_not_save_grid"] = True
    params["processing"] = processing
    return replace(head, params=params)


__all__ = [
    "BatchPolicy",
    "DEFAULT_FOR_CLICKS",
    "DEFAULT_FOR_JOBS",
    "KINDS",
    "SIZES",
    "VARYING",
    "batch_key",
    "combined",
    "memory_key",
    "origin",
    "resolved_seeds",
    "select_group",
]
