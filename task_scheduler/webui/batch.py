"""A WebUI batch back into its tasks: each gets its own image, seed, infotext and generation info.

The batch ran as one Generate call with a list of prompts and seeds (:func:`batching.combined`),
so image *i*, ``all_seeds[i]`` and ``infotexts[i]`` are task *i*'s: the WebUI wrote each
infotext for that image alone (its prompt, negative prompt and seed; A1111, Forge and Neo
write no batch size or position into it) and saved each image under the name it would have
had alone (``[number]-[seed]``, or the filename pattern with that image's prompt and seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..runner import RunResult
from ..task import Task, TaskResult

#: generation-info keys that hold one value per image of the batch
_PER_IMAGE = {
    "all_prompts": "prompt",
    "all_negative_prompts": "negative_prompt",
    "all_seeds": "seed",
    "all_subseeds": "subseed",
    "infotexts": None,
}


def split(run: RunResult, tasks: Sequence[Task]) -> list[RunResult]:
    """One :class:`RunResult` per task of ``tasks`` (in order) from the batch's ``run``.

    Image *i* belongs to task *i* when the batch returned one image per task; when some are
    missing (an interrupt stopped the batch before they were saved), the rest are matched by
    their seed, in order. An extension's extra images (saved but not returned) belong to no
    single task and are left out with a warning.
    """
    made = run.result
    count = len(tasks)
    seeds = [_seed(task) for task in tasks]
    owners: list[int | None]
    if len(made.seeds) == count and len(made.images) >= count:
        owners = list(range(count))
    else:
        owners = _by_seed(made.seeds, seeds)
    results = [TaskResult() for _ in tasks]
    for index, owner in enumerate(owners):
        if owner is None or index >= len(made.images):
            continue
        result = results[owner]
        result.images.append(made.images[index])
        result.infotexts.append(made.infotexts[index] if index < len(made.infotexts) else "")
        result.seeds.append(made.seeds[index])
    warnings = list(run.warnings)
    leftover = len(made.images) - len([o for o in owners[: len(made.images)] if o is not None])
    if leftover > 0 and not run.interrupted:
        warnings.append(f"{leftover} extra image(s) of the batch (an extension's) belong to no single task")
    for position, result in enumerate(results):
        result.info = _info_of(made.info, position, count)
    return [RunResult(result, interrupted=run.interrupted, warnings=list(warnings)) for result in results]


def _seed(task: Task) -> int | None:
    value = task.params.get("seed")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _by_seed(made: list[int], wanted: list[int | None]) -> list[int | None]:
    """For each made image, the task whose seed it has (the first one not yet matched)."""
    free = list(range(len(wanted)))
    owners: list[int | None] = []
    for seed in made:
        owner = next((i for i in free if wanted[i] == seed), None)
        if owner is not None:
            free.remove(owner)
        owners.append(owner)
    return owners


def _info_of(info: dict[str, Any], position: int, count: int) -> dict[str, Any]:
    """The batch's generation info as the task alone would have had it: its own values, size 1."""
    own = dict(info)
    for key, single in _PER_IMAGE.items():
        values = info.get(key)
        if isinstance(values, list) and len(values) == count:
            own[key] = [values[position]]
            if single is not None:
                own[single] = values[position]
    own["index_of_first_image"] = 0
    own["batch_size"] = 1
    return own


__all__ = ["split"]
