"""``/task-scheduler/v1/workers``: every process that runs tasks of this queue, and pausing one.

Mounted by ``make_router`` (its auth and error mapping). The workers are the store's rows, so
any WebUI's API shows and steers all of them. A worker id may hold slashes (the standalone
server names each backend's worker by its URL), so the id is a ``path`` parameter: the raw URL
and its percent-encoded form both reach the route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from .errors import ErrorMappingRoute
from .services import ApiServices


def make_workers_router(services: ApiServices) -> APIRouter:
    router = APIRouter(prefix="/workers", route_class=ErrorMappingRoute, tags=["task-scheduler workers"])
    queue = services.queue

    @router.get("")
    def list_workers() -> dict[str, Any]:
        """Every worker the queue has seen: state (idle, running, down, offline, stopped), paused,
        loaded checkpoint, current task and the age of its last heartbeat; ``local``: the worker of
        the process answering (a task running there has the WebUI's live preview), or null."""
        return {"workers": [w.to_json() for w in queue.workers.list()], "local": _local_worker(services)}

    @router.post("/{worker_id:path}/pause")
    def pause_worker(
        worker_id: str,
        now: bool = Query(False, description="Also stop its running task after the image in progress."),
    ) -> dict[str, Any]:
        """This worker takes no new task; the others go on."""
        stopping = queue.pause_now(worker_id) if now else []
        if not now:
            queue.pause_worker(worker_id)
        return {"worker": queue.workers.get(worker_id).to_json(), "stopping": stopping}

    @router.post("/{worker_id:path}/resume")
    def resume_worker(worker_id: str) -> dict[str, Any]:
        queue.resume_worker(worker_id)
        return {"worker": queue.workers.get(worker_id).to_json()}

    @router.delete("/{worker_id:path}")
    def forget_worker(worker_id: str) -> dict[str, Any]:
        """Forget a stopped or offline worker (a live one stays)."""
        return {"forgotten": queue.workers.forget([worker_id])}

    return router


def _local_worker(services: ApiServices) -> str | None:
    """The worker whose tasks run in this process: none without an executor, and none for a
    remote one (the standalone server's, whose tasks run in the WebUIs it drives)."""
    executor = services.executor
    if executor is None or executor.worker.kind == "remote":
        return None
    return executor.worker.id


__all__ = ["make_workers_router"]
