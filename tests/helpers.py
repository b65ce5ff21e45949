"""Small helpers shared by test modules (import as ``from helpers import ...``)."""

from __future__ import annotations

from task_scheduler.task import NewTask


def make_task(prompt: str = "a cat", **kw) -> NewTask:
    params = {"prompt": prompt, "steps": 2, "width": 64, "height": 64}
    params.update(kw.pop("params", {}))
    return NewTask(kind=kw.pop("kind", "txt2img"), params=params, **kw)
