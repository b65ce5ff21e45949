"""The HTTP API: ours (`/task-scheduler/v1`), Agent Scheduler's and seed 003's compatible routers.

The host (WebUI glue in ``on_app_started``, or the standalone server) builds one
:class:`ApiServices` and includes the routers::

    services = ApiServices(queue=queue, files=files, executor=executor, webui=my_webui_info,
                           auth=["user:pass"] or None, session_check=gradio_session_check(app))
    include_routers(app, services)   # /task-scheduler/v1, /agent-scheduler/v1, /task-scheduler/
    callbacks = CallbackSender(queue).start()      # and callbacks.close() on unload

Errors are mapped on the routers themselves (no app-level handler to install).
"""

from typing import Any

from .auth import gradio_session_check, parse_credentials
from .callbacks import CallbackSender
from .compat import make_compat_router
from .seed_compat import make_seed_router
from .services import ApiServices, ApiSettings, NoWebUI, WebUIInfo
from .v1 import make_router


def include_routers(app: Any, services: ApiServices) -> None:
    """Mount every API of the queue on ``app``: ours, Agent Scheduler's and seed 003's."""
    for make in (make_router, make_compat_router, make_seed_router):
        app.include_router(make(services))


__all__ = [
    "ApiServices",
    "ApiSettings",
    "CallbackSender",
    "NoWebUI",
    "WebUIInfo",
    "gradio_session_check",
    "include_routers",
    "make_compat_router",
    "make_router",
    "make_seed_router",
    "parse_credentials",
]
