"""``/task-scheduler/v1``: the router of the queue's own API, put together from its parts.

One prefix, one auth dependency, one error mapping and the documented error answers, shared by
the task routes (:mod:`.routes`), the jobs (:mod:`.jobs`), the saved tasks (:mod:`.saved`) and
the workers (:mod:`.workers`).
Those modules only define routes; this one mounts them, so none of them imports another.
"""

from typing import Any

from fastapi import APIRouter, Depends

from .auth import make_auth_dependency
from .errors import ErrorMappingRoute
from .jobs import make_jobs_router
from .routes import add_task_routes
from .saved import make_saved_router
from .services import ApiServices
from .urls import PREFIX
from .workers import make_workers_router

_ERRORS: dict[int, dict[str, Any]] = {
    401: {"description": "Credentials are required (--api-auth or a gradio login)."},
    404: {"description": "No task with that id."},
    409: {"description": "The task's status does not allow it."},
    422: {"description": "A field is invalid; `detail` names it."},
    503: {"description": "The task store is unavailable."},
}


def make_router(services: ApiServices) -> APIRouter:
    """The ``/task-scheduler/v1`` router over ``services``; include it in any FastAPI app."""
    router = APIRouter(
        prefix=PREFIX,
        tags=["task-scheduler"],
        dependencies=[Depends(make_auth_dependency(services))],
        route_class=ErrorMappingRoute,
        responses=_ERRORS,
    )
    add_task_routes(router, services)
    router.include_router(make_jobs_router(services))
    router.include_router(make_saved_router(services))
    router.include_router(make_workers_router(services))
    return router


__all__ = ["make_router"]
