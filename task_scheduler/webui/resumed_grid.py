"""The grid of a task paused inside and resumed: one grid over all of its images, as the WebUI
saves over an uninterrupted run (:mod:`task_scheduler.resume`).

The run that makes the missing images is told not to save a grid of its own (``p``'s
``do_not_save_grid``); once it ends, this module makes the grid the WebUI would have made
(``processing.process_images_inner``: ``images.image_grid`` with the batch size, saved with
``images.save_image`` into ``p.outpath_grids`` under the task's first seed and the first image's
infotext) over the earlier images and the new ones, in order.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..task import GRIDS_KEY, TaskResult

log = logging.getLogger(__name__)


def wanted(count: int) -> bool:
    """Whether the WebUI saves a grid over ``count`` images (its Settings: *Saving images/grids*)."""
    from modules import shared

    opts = shared.opts
    if not opts.data.get("grid_save", True):
        return False
    return count >= 2 or not opts.data.get("grid_only_if_multiple", True)


def _seeded(result: TaskResult) -> tuple[list[str], list[str]]:
    """The images a run made, with their infotexts (grids and an extension's extra files are
    listed after them)."""
    count = len(result.seeds)
    return result.images[:count], result.infotexts[:count]


def with_whole_grid(earlier: TaskResult, result: TaskResult, p: Any) -> TaskResult:
    """``result`` (the resumed run's) with the grid over ``earlier``'s images and its own
    appended and marked; ``result`` unchanged when no grid is wanted or an earlier image is gone
    (deleted, or made on another machine of a farm)."""
    before_paths, before_texts = _seeded(earlier)
    paths = before_paths + _seeded(result)[0]
    if p is None or not wanted(len(paths)):
        return result
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        log.warning("no grid for the resumed task: %d of its images are not on this machine", len(missing))
        return result
    from modules import images, shared
    from PIL import Image

    pictures = []
    for path in paths:
        with Image.open(path) as picture:
            pictures.append(picture.copy())
    grid = images.image_grid(pictures, p.batch_size)
    first_text = before_texts[0] if before_texts else ""
    first_seed = earlier.seeds[0] if earlier.seeds else None
    prompt = (getattr(p, "all_prompts", None) or [getattr(p, "prompt", "")])[0]
    opts = shared.opts
    saved = images.save_image(
        grid,
        p.outpath_grids,
        "grid",
        first_seed,
        prompt,
        opts.grid_format,
        info=first_text,
        short_filename=not opts.grid_extended_filename,
        p=p,
        grid=True,
    )
    path = os.path.abspath(saved[0] if isinstance(saved, tuple) else saved)
    return TaskResult(
        images=[*result.images, path],
        infotexts=[*result.infotexts, first_text]
        if len(result.infotexts) == len(result.images)
        else result.infotexts,
        seeds=list(result.seeds),
        info={**result.info, GRIDS_KEY: [*result.grids(), path]},
    )


__all__ = ["wanted", "with_whole_grid"]
