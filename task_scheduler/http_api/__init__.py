"""The HTTP API: ``/task-scheduler/v1`` and the Agent Scheduler compatible ``/agent-scheduler/v1``.

The host (WebUI glue in ``on_app_started``, or the standalone server) builds one
:class:`ApiServices` and includes both routers::

    services = ApiServices(queue=queue, files=files, executor=executor, webui=my_webui_info,
                           auth=["user:pass"] or None, session_check=gradio_session_check(app))
    app.include_router(make_router(services))
    app.include_router(make_compat_router(services))
    callbacks = CallbackSender(queue).start()      # and callbacks.close() on unload

Errors are mapped on the routers themselves (no app-level handler to install).
"""

from .auth import gradio_session_check, parse_credentials
from .callbacks import CallbackSender
from .compat import make_compat_router
from .routes import make_router
from .services import ApiServices, ApiSettings, NoWebUI, WebUIInfo

__all__ = [
    "ApiServices",
    "ApiSettings",
    "CallbackSender",
    "NoWebUI",
    "WebUIInfo",
    "gradio_session_check",
    "make_compat_router",
    "make_router",
    "parse_credentials",
]
