"""What the routers need from their host: the queue, the file store, and optional WebUI hooks.

The WebUI glue (in-process) and the standalone server each build one :class:`ApiServices` and
pass it to ``make_router`` / ``make_compat_router``. Nothing here imports the WebUI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..executor import Executor
from ..files import FileStore
from ..task_queue import TaskQueue


@runtime_checkable
class WebUIInfo(Protocol):
    """Facts and actions only a running WebUI has. Every method may be called from any thread."""

    def samplers(self) -> list[str]:
        """Sampler names, as the API's ``sampler_name`` accepts them."""
        ...

    def checkpoints(self) -> list[str]:
        """Checkpoint titles, as ``checkpoint`` accepts them."""
        ...

    def interrupt(self) -> None:
        """Stop the generation in progress (keeping what it made)."""
        ...

    def skip(self) -> None:
        """Skip the current image of the generation in progress."""
        ...

    def progress(self, task_id: str) -> dict[str, Any] | None:
        """Live progress of the generation for ``task_id`` (fraction, text, eta_s, ...), if known."""
        ...


class NoWebUI:
    """The stand-in when no WebUI is attached: empty lists, and actions that do nothing."""

    def samplers(self) -> list[str]:
        return []

    def checkpoints(self) -> list[str]:
        return []

    def interrupt(self) -> None:
        return None

    def skip(self) -> None:
        return None

    def progress(self, task_id: str) -> dict[str, Any] | None:
        return None


@dataclass
class ApiSettings:
    """Limits and switches of the HTTP layer; the glue may fill them from the Settings page."""

    #: accept ``init_images`` / ``mask`` given as http(s) URLs (fetched when the task is queued)
    allow_remote_images: bool = False
    #: accept ``init_images`` / ``mask`` given as file paths on the server
    allow_local_paths: bool = False
    #: largest decoded input image, in bytes
    max_image_bytes: int = 32 * 1024 * 1024
    #: largest input image, in pixels (width x height)
    max_image_pixels: int = 64 * 1024 * 1024
    #: most tasks one call may queue
    max_tasks_per_call: int = 500
    #: longest wait a ``/wait`` long-poll may ask for, in seconds
    max_wait_s: float = 60.0
    #: seconds to fetch a remote image, when allowed
    remote_timeout_s: float = 20.0
    #: let ``callback_url`` reach loopback, link-local and private addresses (a receiver of your own)
    allow_private_callbacks: bool = False


#: ``(request) -> user name | None``: the user of a valid login session (gradio cookie), if any
SessionCheck = Callable[[Any], "str | None"]


@dataclass
class ApiServices:
    queue: TaskQueue
    files: FileStore
    executor: Executor | None = None
    webui: WebUIInfo = field(default_factory=NoWebUI)
    settings: ApiSettings = field(default_factory=ApiSettings)
    #: ``--api-auth`` credentials as ``["user:pass", ...]``; None or empty = no HTTP Basic auth
    auth: list[str] | None = None
    #: accepts a logged-in browser's session (gradio auth); None when gradio auth is off
    session_check: SessionCheck | None = None

    @property
    def auth_required(self) -> bool:
        return bool(self.auth) or self.session_check is not None
