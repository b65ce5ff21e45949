"""Domain errors -> HTTP, in one place, on the router itself.

FastAPI has no router-level exception handlers, so both routers use :class:`ErrorMappingRoute`
as their ``route_class``: it wraps every endpoint (dependencies and body validation included)
and turns our exceptions into ``{"detail": ...}`` with a meaningful status. The host app's own
handlers (the WebUI installs some) therefore never see them, and both stacks answer alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..checker import TaskRefused
from ..errors import InvalidTaskData, InvalidTransition, StoreUnavailable, TaskNotFound

log = logging.getLogger(__name__)


def field_error(field: str, message: str) -> list[dict[str, Any]]:
    """The 422 detail for one named field, shaped like FastAPI's own validation errors."""
    return [{"loc": [p for p in field.split(".") if p], "msg": message, "type": "value_error"}]


def refused_detail(exc: TaskRefused, *, style: ErrorStyle = "plain") -> list[dict[str, Any]]:
    """Every error of a refused task (or batch, or sweep) at once, FastAPI-shaped.

    Ours also carries the value, the closest installed name and how many tasks each touches;
    the compatibility routes keep their clients' shape (``loc``, ``msg``, ``type``).
    """
    detail = []
    for problem in exc.problems:
        item: dict[str, Any] = {
            "loc": [p for p in problem.field.split(".") if p],
            "msg": problem.message,
            "type": "value_error.check",
        }
        if style == "plain":
            item.update(
                value=problem.value,
                suggestion=problem.suggestion,
                severity=problem.severity,
                tasks=problem.tasks,
                indexes=list(problem.indexes),
            )
        detail.append(item)
    return detail


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    detail = []
    for err in exc.errors():
        loc = [part if isinstance(part, (str, int)) else str(part) for part in err.get("loc", ())]
        detail.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return detail


def _message(detail: Any) -> str:
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", []) if p not in ("body", "query", "path"))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(detail)


#: How a router's clients read an error, besides the status code and ``detail``: ``plain`` (ours),
#: ``agent`` (Agent Scheduler's ``success`` / ``message``), ``seed`` (seed 003's ``success`` / ``error``).
ErrorStyle = Literal["plain", "agent", "seed"]


def error_response(
    status: int, detail: Any, *, style: ErrorStyle = "plain", headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if style == "agent":
        body.update(success=False, message=_message(detail))
    elif style == "seed":
        body.update(success=False, error=_message(detail))
    return JSONResponse(body, status_code=status, headers=headers)


def map_exception(exc: Exception, *, style: ErrorStyle = "plain") -> JSONResponse | None:
    if isinstance(exc, TaskNotFound):
        return error_response(404, str(exc), style=style)
    if isinstance(exc, InvalidTransition):
        return error_response(409, str(exc), style=style)
    if isinstance(exc, TaskRefused):
        body: dict[str, Any] = {"detail": refused_detail(exc, style=style)}
        if style == "agent":  # their one message names every error, not the first only
            body.update(success=False, message=str(exc))
        elif style == "seed":
            body.update(success=False, error=str(exc))
        return JSONResponse(body, status_code=422)
    if isinstance(exc, InvalidTaskData):
        return error_response(422, field_error(exc.field, exc.message), style=style)
    if isinstance(exc, RecursionError):
        # a body nested deeper than Python recurses (the JSON parser takes up to ~1000 levels):
        # whichever walk over it came first (pydantic 1's .dict(), a fingerprint) gave up before
        # the entry gate could name the field; the gate takes 64 levels
        return error_response(422, field_error("body", "is nested too deeply"), style=style)
    if isinstance(exc, StoreUnavailable):
        log.error("task store unavailable: %s", exc)
        return error_response(503, f"the task store is unavailable: {exc}", style=style)
    if isinstance(exc, RequestValidationError):
        return error_response(422, _validation_detail(exc), style=style)
    if isinstance(exc, StarletteHTTPException):
        return error_response(exc.status_code, exc.detail, style=style, headers=getattr(exc, "headers", None))
    return None


class ErrorMappingRoute(APIRoute):
    style: ErrorStyle = "plain"

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        style = self.style

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = map_exception(exc, style=style)
                if response is None:
                    raise
                return response

        return route_handler


class CompatErrorMappingRoute(ErrorMappingRoute):
    style: ErrorStyle = "agent"


class SeedErrorMappingRoute(ErrorMappingRoute):
    style: ErrorStyle = "seed"
