"""Pausing inside a task: a task of N iterations (batch count) stopped after k keeps what it made
and, run again, makes only the N − k that are missing, with the seeds they would have had.

The WebUI numbers a task's images from its first seed: image ``i`` (0-based, over all
iterations) gets ``seed + i`` — or, with a variation strength, the same seed and ``subseed + i``.
So "what is missing" is the task with ``n_iter = N − k`` and its seeds moved on by
``k × batch_size``; an uninterrupted run and a paused-and-resumed one give the same images.

What a task made so far lives in its ``result`` while it waits, marked ``info["resume"]`` with
the number of whole iterations done and the seeds they started from. The executor writes it when
a task is paused inside (``TaskQueue.park``) and, as the run goes, after each image
(``TaskQueue.record_partial``), so a task requeued after a crash resumes the same way. Only whole
iterations count: the images of an iteration cut short stay on disk but are made again.

A grid is made once, over all of a task's images. The grid the WebUI saved over the images of a
paused run is not kept (:func:`discard_grids`); the run that makes the missing images makes the
grid over all of them (the WebUI runner, which knows the earlier images from ``task.result``).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import replace
from typing import Any

from .task import GRIDS_KEY, Task, TaskResult

log = logging.getLogger(__name__)

RESUME_KEY = "resume"
_VARIATION_SEED = re.compile(r"(?:^|,\s*)Variation seed: (-?\d+)")


def _int(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def iterations(task: Task) -> int:
    return max(1, _int(task.params, "n_iter", 1))


def batch_size(task: Task) -> int:
    return max(1, _int(task.params, "batch_size", 1))


def _varies_subseed(task: Task) -> bool:
    strength = task.params.get("subseed_strength")
    return isinstance(strength, (int, float)) and not isinstance(strength, bool) and strength > 0


def marker(result: TaskResult | None) -> dict[str, Any] | None:
    mark = result.info.get(RESUME_KEY) if result is not None else None
    return mark if isinstance(mark, dict) and isinstance(mark.get("done"), int) else None


def done_iterations(task: Task) -> int:
    """Whole iterations the task made in earlier runs (0 for a task never paused inside)."""
    mark = marker(task.result)
    return mark["done"] if mark else 0


def partial(task: Task, result: TaskResult | None) -> TaskResult | None:
    """``result`` (everything the task made so far) marked for resuming; None when nothing is to resume.

    None when not one whole iteration is done (the task simply runs again), or when all are.
    """
    if result is None or not result.seeds:
        return None
    size = batch_size(task)
    done = len(result.seeds) // size
    if done == 0 or done >= iterations(task):
        return None
    result = without_grids(result)
    first_seed = result.seeds[0]
    subseed = None
    if _varies_subseed(task):
        subseed = _first_variation_seed(result)
        if subseed is None:  # the infotext does not say: nothing safe to resume from
            return None
    info = {**result.info, RESUME_KEY: {"done": done, "seed": first_seed, "subseed": subseed}}
    return replace(result, seeds=result.seeds[: done * size], info=info)


def without_grids(result: TaskResult) -> TaskResult:
    """``result`` without the grids it lists (:meth:`TaskResult.grids`)."""
    grids = set(result.grids())
    if not grids and GRIDS_KEY not in result.info:
        return result
    keep = [i for i, path in enumerate(result.images) if path not in grids]
    aligned = len(result.infotexts) == len(result.images)
    return replace(
        result,
        images=[result.images[i] for i in keep],
        infotexts=[result.infotexts[i] for i in keep] if aligned else list(result.infotexts),
        info={k: v for k, v in result.info.items() if k != GRIDS_KEY},
    )


def discard_grids(result: TaskResult | None) -> list[str]:
    """Delete the grid files of a run that was paused inside: the grid over all the task's
    images is made when it resumes (one grid per task, as an uninterrupted run makes). Returns
    the paths deleted; a file already gone is skipped."""
    removed = []
    for path in result.grids() if result is not None else []:
        try:
            os.remove(path)
        except OSError as exc:
            log.warning("could not delete the grid of a paused run %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def remaining(task: Task) -> Task:
    """The task as it must run now: all of it, or only the iterations still missing.

    Resumed, it keeps ``result`` (what the earlier runs made, with the resume mark): the
    runner makes the grid over all the images from it."""
    mark = marker(task.result)
    if not mark:
        return task
    done = mark["done"]
    params = dict(task.params)
    params["n_iter"] = iterations(task) - done
    step = done * batch_size(task)
    if mark.get("subseed") is not None:
        params["seed"] = mark["seed"]
        params["subseed"] = mark["subseed"] + step
    else:
        params["seed"] = mark["seed"] + step
    return replace(task, params=params)


def earlier(task: Task) -> TaskResult | None:
    """What the earlier runs of a resumed task made (None for a task that starts afresh)."""
    return task.result if marker(task.result) else None


def merged(task: Task, result: TaskResult) -> TaskResult:
    """What the earlier runs made followed by what this run made (no resume mark left)."""
    before = task.result if marker(task.result) else None
    if before is None:
        return result
    info = {k: v for k, v in before.info.items() if k not in (RESUME_KEY, GRIDS_KEY)}
    info.update(result.info)
    return TaskResult(
        images=before.images + result.images,
        infotexts=before.infotexts + result.infotexts,
        seeds=before.seeds + result.seeds,
        info=info,
    )


def _first_variation_seed(result: TaskResult) -> int | None:
    for text in result.infotexts:
        match = _VARIATION_SEED.search(text.rsplit("\n", 1)[-1])
        if match:
            return int(match.group(1))
    return None


__all__ = [
    "RESUME_KEY",
    "batch_size",
    "discard_grids",
    "done_iterations",
    "earlier",
    "iterations",
    "merged",
    "partial",
    "remaining",
    "without_grids",
]
