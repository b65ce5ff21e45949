"""The standalone server's FastAPI app: the queue's routers, the Task Queue page, and the proxy.

Routes, in the order they match:

* ``/task-scheduler/v1/...`` and ``/agent-scheduler/v1/...``: the queue's API (``http_api``),
  plus ``GET /task-scheduler/v1/backends`` (which WebUIs are up, what they run and have);
* ``/``: the Task Queue page (the repository's ``javascript/`` and ``style.css``);
* ``/task-scheduler/docs``: this server's API docs (``/docs`` stays the WebUI's own);
* everything else: passed through to a WebUI unchanged (``proxy.py``).

``--api-auth`` protects all of it, the pass-through included, so the server never opens a
WebUI to clients it would refuse itself.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from ..catalog import Catalog
from ..checker import CheckSettings, TaskChecker
from ..db_location import is_postgres_url
from ..executor import ExecutorSettings
from ..file_setup import open_files
from ..http_api import ApiServices, ApiSettings, CallbackSender, include_routers
from ..http_api.auth import make_auth_dependency
from ..store import Store
from ..task_queue import TaskQueue
from .backends import BackendPool, PoolSettings
from .proxy import METHODS, Proxy
from .remote_catalog import merged

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT / "standalone_data"
ASSETS = "/task-scheduler/assets"
DOCS = "/task-scheduler/docs"
OPENAPI = "/task-scheduler/openapi.json"


@dataclass
class ServerConfig:
    webuis: list[str]
    #: a SQLite file, or a ``postgresql://`` URL (the queue shared with WebUIs that use it too)
    db_path: Path | str = DEFAULT_DATA_DIR / "task_scheduler.sqlite3"
    #: where generated images go; default: ``task_scheduler_results/`` beside the database
    results_dir: Path | None = None
    #: with PostgreSQL: a folder every worker mounts for input files (default: in the database)
    files_dir: Path | None = None
    #: this server's own folder (results, its cache of a PostgreSQL queue's files); default:
    #: beside the SQLite file, or ``standalone_data/`` with PostgreSQL
    own_dir: Path | None = None
    #: ``["user:pass", ...]`` for HTTP Basic on every route; None = open
    api_auth: list[str] | None = None
    pool: PoolSettings = field(default_factory=PoolSettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    #: the checker's switches (``--strict-check``, ``--unknown-networks-are-errors``, ...)
    check: CheckSettings = field(default_factory=CheckSettings)
    #: let callback URLs reach loopback / private addresses (``--allow-private-callbacks``)
    allow_private_callbacks: bool = False
    #: folder with the Task Queue page's ``javascript/`` and ``style.css``
    assets_root: Path = REPO_ROOT

    @property
    def data_dir(self) -> Path:
        if self.own_dir is not None:
            return self.own_dir
        return DEFAULT_DATA_DIR if is_postgres_url(self.db_path) else Path(self.db_path).parent

    @property
    def results(self) -> Path:
        return self.results_dir or self.data_dir / "task_scheduler_results"


class PoolWebUIInfo:
    """What the API asks of "the WebUI", answered over all backends."""

    def __init__(self, pool: BackendPool) -> None:
        self.pool = pool
        self._samplers: list[str] = []

    def samplers(self) -> list[str]:
        for backend in self.pool.up() or self.pool.backends:
            try:
                data = backend.runner.get_json("/sdapi/v1/samplers")
                self._samplers = [str(s.get("name")) for s in data if isinstance(s, dict) and s.get("name")]
                break
            except Exception as exc:
                log.debug("samplers from %s: %s", backend.url, exc)
        return list(self._samplers)

    def checkpoints(self) -> list[str]:
        titles: list[str] = []
        for backend in self.pool.backends:
            titles += [c.title for c in backend.runner.checkpoints if c.title not in titles]
        return titles

    def interrupt(self) -> None:
        # every worker interrupts its own task when the queue asks it to stop one; nothing else
        # may be interrupted here, or one delete would stop every backend
        return None

    def skip(self) -> None:
        for backend in self.pool.backends:
            if backend.current_task_id is not None:
                try:
                    backend.runner.skip()
                except Exception as exc:
                    log.warning("skip on %s failed: %s", backend.url, exc)

    def progress(self, task_id: str) -> dict[str, Any] | None:
        return None  # the workers report progress into the queue


class PoolCatalog:
    """The backends' catalogs as one (a name any backend has), rebuilt when one of them changes."""

    def __init__(self, pool: BackendPool) -> None:
        self.pool = pool
        self._key: tuple = ()
        self._catalog: Catalog | None = None

    def __call__(self) -> Catalog | None:
        catalogs = [backend.runner.catalog() for backend in self.pool.backends]
        key = tuple(id(c) for c in catalogs)
        if key != self._key:
            self._catalog, self._key = merged(catalogs, version=str(key)), key
        return self._catalog


class Standalone:
    """Everything the server owns, built from a config; ``app`` is the ASGI app to serve."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = Store(config.db_path)
        self.files = open_files(self.store, local_dir=config.data_dir, shared_dir=config.files_dir)
        self.queue = TaskQueue(self.store, self.files)
        self.pool = BackendPool(
            self.queue,
            self.files,
            config.webuis,
            config.results,
            settings=config.pool,
            executor_settings=config.executor,
        )
        self.services = ApiServices(
            queue=self.queue,
            files=self.files,
            # the routers only ask whether an executor runs the queue (it does: one per backend)
            executor=self.pool.backends[0].executor,
            webui=PoolWebUIInfo(self.pool),
            settings=ApiSettings(allow_private_callbacks=config.allow_private_callbacks),
            auth=config.api_auth or None,
        )
        self.queue.checker = TaskChecker(PoolCatalog(self.pool), config.check)
        self.callbacks = CallbackSender(self.queue, settings=self.services.settings)
        self.proxy = Proxy(self._proxy_target)
        self.app = self._build_app()

    def _proxy_target(self) -> str | None:
        backends = self.pool.up() or self.pool.backends
        return backends[0].runner.target_url if backends else None

    def start(self) -> None:
        self.pool.start()
        self.callbacks.start()

    def stop(self) -> None:
        self.callbacks.close()
        self.pool.stop()
        self.store.close()

    def _build_app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            self.start()
            try:
                yield
            finally:
                await self.proxy.aclose()
                self.stop()

        app = FastAPI(
            title="Task Scheduler (standalone)",
            version="1",
            # the docs and the schema are routes of our own below, behind --api-auth like the rest
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
            lifespan=lifespan,
        )
        auth = Depends(make_auth_dependency(self.services))
        self._add_docs(app, auth)
        include_routers(app, self.services)
        app.include_router(self._status_router(auth))
        self._add_page(app, auth)

        async def pass_through(request: Request) -> Response:
            """Anything else: to a WebUI, unchanged."""
            return await self.proxy(request)

        app.add_api_route(
            "/{path:path}", pass_through, methods=METHODS, dependencies=[auth], include_in_schema=False
        )
        return app

    def _status_router(self, auth: Any) -> APIRouter:
        router = APIRouter(prefix="/task-scheduler/v1", tags=["standalone"], dependencies=[auth])

        @router.get("/backends")
        def backends() -> list[dict[str, Any]]:
            """The WebUIs behind this server: up or down, the task each runs, the models each has."""
            return self.pool.status()

        return router

    @staticmethod
    def _add_docs(app: FastAPI, auth: Any) -> None:
        @app.get(OPENAPI, include_in_schema=False, dependencies=[auth])
        def openapi() -> JSONResponse:
            return JSONResponse(app.openapi())

        @app.get(DOCS, include_in_schema=False, dependencies=[auth])
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url=OPENAPI, title=f"{app.title} - API docs")

    def _add_page(self, app: FastAPI, auth: Any) -> None:
        root = self.config.assets_root
        scripts_dir = root / "javascript"
        style = root / "style.css"

        @app.get(f"{ASSETS}/javascript/{{name}}", include_in_schema=False, dependencies=[auth])
        def script(name: str) -> Response:
            """One file of the page's scripts: a plain name in that folder, nothing else."""
            known = {p.name: p for p in scripts_dir.iterdir() if p.is_file()} if scripts_dir.is_dir() else {}
            path = known.get(name)
            if path is None:
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            media = "text/javascript" if path.suffix in (".js", ".mjs") else None
            return FileResponse(path, media_type=media)

        @app.get(f"{ASSETS}/style.css", include_in_schema=False, dependencies=[auth])
        def stylesheet() -> Response:
            if not style.is_file():
                return Response("", media_type="text/css")
            return FileResponse(style, media_type="text/css")

        @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=[auth])
        def page(request: Request) -> HTMLResponse:
            # the page is an ES module (*.mjs); the *.js scripts are the Queue button's, for Generate
            modules = sorted(p.name for p in scripts_dir.glob("*.mjs")) if scripts_dir.is_dir() else []
            return HTMLResponse(page_html(modules, [b.url for b in self.pool.backends]))


def page_html(modules: list[str], webuis: list[str]) -> str:
    """The Task Queue page outside the WebUI: the tab's own module, given what gradio would provide."""
    backends = "".join(f"<li><code>{html.escape(url)}</code></li>" for url in webuis)
    if modules:
        tags = "\n".join(
            f'<script type="module" src="{ASSETS}/javascript/{html.escape(name)}"></script>'
            for name in modules
        )
        body = '<div id="task-scheduler-standalone" class="task-scheduler-standalone"></div>'
    else:
        tags = ""
        body = (
            "<p>The Task Queue page is coming. Until then the queue is fully usable through its API: "
            '<a href="/task-scheduler/docs">API docs</a>.</p>'
        )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Task Queue</title>
<link rel="stylesheet" href="{ASSETS}/style.css">
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 1400px; margin: 0 auto; padding: 0 16px; }}
  body > header {{ display: flex; align-items: baseline; gap: 1.5em; }}
  body > header h1 {{ font-size: 1.4em; }}
  body > footer {{ color: #777; font-size: 0.85em; margin: 2em 0; }}
  body > footer ul {{ display: inline; padding: 0; }}
  body > footer li {{ display: inline; margin-left: 0.5em; }}
  body > footer p {{ display: inline; }}
</style>
<script>
  // What the module finds inside the WebUI, provided here: the app root and the load hooks.
  window.TASK_SCHEDULER_STANDALONE = {{ apiBase: "/task-scheduler/v1" }};
  window.gradioApp = window.gradioApp || (() => document);
  window.onUiLoaded = window.onUiLoaded || ((callback) =>
    document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", callback) : callback());
  window.onUiUpdate = window.onUiUpdate || (() => {{}});
</script>
{tags}
</head>
<body>
<header><h1>Task Queue</h1>
<nav><a href="/task-scheduler/docs">API docs</a></nav></header>
{body}
<footer><p>WebUIs behind this queue:</p><ul>{backends}</ul></footer>
</body>
</html>
"""
