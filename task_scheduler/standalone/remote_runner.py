"""A Runner that executes a stored task on a WebUI through its HTTP API (``--api``).

One call per task: the checkpoint is chosen through ``POST /sdapi/v1/options`` first (the WebUI
keeps it loaded for the next task; ``override_settings`` would restore the old one afterwards and
reload it at the next call), then ``/sdapi/v1/txt2img`` or ``/img2img`` runs in a helper thread
while this thread polls ``/sdapi/v1/progress``. An ``extras`` task (a follow-up's upscale) is one
``/sdapi/v1/extra-single-image`` call, its upscalers checked against ``/sdapi/v1/upscalers`` first.
The returned images are written, byte for byte as the WebUI encoded them (its infotext chunk
included), into this server's results folder, so a client that disconnects loses nothing.

A WebUI that refuses connections or drops the call raises :class:`RunnerUnavailable`: the task
goes back to the queue and the backend's worker waits until the WebUI answers again.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..catalog import Catalog
from ..errors import InvalidTaskData, OutOfMemory, RunnerUnavailable
from ..files import FileStore
from ..runner import ProgressCallback, ProgressUpdate, RunResult
from ..task import Task, TaskResult, checkpoint_aliases, checkpoint_key
from .redact import redact, split_credentials
from .remote_body import build_request
from .remote_catalog import read_catalog

log = logging.getLogger(__name__)

#: errors that mean "the WebUI is not there", not "the task is bad"
CONNECTION_ERRORS = (httpx.TransportError,)
_SIGNATURES = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg", b"RIFF": "webp"}


#: a remote WebUI's lists are read again at least this often (seconds)
CATALOG_EVERY_S = 60.0


class RemoteError(RuntimeError):
    """The WebUI answered the generation call with an error status."""


@dataclass
class Checkpoint:
    title: str
    model_name: str
    filename: str
    hash: str | None = None
    sha256: str | None = None

    def aliases(self) -> set[str]:
        """Every comparable spelling a task may use for this model (see ``checkpoint_aliases``)."""
        short = self.sha256[:10] if self.sha256 else None
        return checkpoint_aliases([self.title, self.model_name, self.filename, self.hash, self.sha256, short])


class RemoteRunner:
    def __init__(
        self,
        url: str,
        files: FileStore,
        results_dir: str | Path,
        *,
        timeout_s: float = 30.0,
        generation_timeout_s: float | None = None,
        poll_s: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        plain, credentials = split_credentials(url.rstrip("/"))
        #: the URL to show (credentials redacted); requests carry them as HTTP Basic instead
        self.url = redact(url.rstrip("/"))
        #: the URL to send to, credentials included (the pass-through uses it); never show it
        self.target_url = url.rstrip("/")
        self.files = files
        self.results_dir = Path(results_dir)
        self.poll_s = poll_s
        # a host that drops packets must not hold a health check (or the start) for the full timeout
        connect_s = min(timeout_s, 5.0)
        self.generation_timeout = httpx.Timeout(timeout_s, connect=connect_s, read=generation_timeout_s)
        self.client = httpx.Client(
            base_url=plain,
            auth=httpx.BasicAuth(*credentials) if credentials else None,
            timeout=httpx.Timeout(timeout_s, connect=connect_s),
            transport=transport,
        )
        #: set by the backend pool: keys of checkpoints other backends have and this one lacks
        self._checkpoints: list[Checkpoint] = []
        self._asked = False  # whether the WebUI ever listed its checkpoints
        self._scripts: dict[str, set[str]] | None = None
        self._selected: str | None = None  # the spelling of the last checkpoint we switched to
        self._selected_title: str | None = None
        self._interrupt = threading.Event()
        self._lost = threading.Event()
        self._lost_reason = ""
        self._kick = threading.Event()
        self._running = False
        self._catalog: Catalog | None = None
        self._catalog_read = 0.0
        self._catalog_models: tuple[str, ...] = ()
        #: the idle queue unloaded the model (unload_model); the next task reloads it first
        self._unloaded = False

    def close(self) -> None:
        try:
            self.client.close()
        except RuntimeError:  # an abandoned generation call is still in flight; it dies with us
            log.debug("%s: closed with a call in flight", self.url)

    # -- facts about the WebUI -----------------------------------------------------------------

    def refresh(self) -> list[Checkpoint]:
        """Ask the WebUI which checkpoints (and scripts) it has; raises RunnerUnavailable if it is gone."""
        models = self.get_json("/sdapi/v1/sd-models")
        self._asked = True
        self._checkpoints = [
            Checkpoint(
                title=str(m.get("title") or m.get("model_name") or ""),
                model_name=str(m.get("model_name") or ""),
                filename=str(m.get("filename") or ""),
                hash=m.get("hash"),
                sha256=m.get("sha256"),
            )
            for m in models
            if isinstance(m, dict)
        ]
        try:
            listing = self.get_json("/sdapi/v1/scripts")
            self._scripts = {
                kind: {str(s).lower() for s in listing.get(kind) or []} for kind in ("txt2img", "img2img")
            }
        except RemoteError:
            self._scripts = None  # an API without the listing: send every script's values
        if self._selected is None:
            self._adopt_loaded_checkpoint()
        models_now = tuple(c.title for c in self._checkpoints)
        if models_now != self._catalog_models or time.monotonic() - self._catalog_read > CATALOG_EVERY_S:
            self._read_catalog(models_now)
        return self._checkpoints

    def _read_catalog(self, models: tuple[str, ...]) -> None:
        """The WebUI's lists for the checker (:mod:`.remote_catalog`): at the first health check,
        when its checkpoints change, and every ``CATALOG_EVERY_S``; never per task."""

        def get(path: str) -> Any:
            try:
                return self.get_json(path)
            except (RemoteError, ValueError):
                return None  # a route this WebUI lacks: that list is not known

        self._catalog = read_catalog(get, version=f"{self.url}@{time.time()}")
        self._catalog_read = time.monotonic()
        self._catalog_models = models

    def catalog(self) -> Catalog | None:
        """What the WebUI had at the last health check (None before the first one)."""
        return self._catalog

    def _adopt_loaded_checkpoint(self) -> None:
        """Before the queue has switched this WebUI's model, its current one is what it has loaded:
        the worker list shows it, and checkpoint-aware order prefers its tasks."""
        try:
            options = self.get_json("/sdapi/v1/options")
        except RemoteError:
            return
        value = options.get("sd_model_checkpoint") if isinstance(options, dict) else None
        checkpoint = self.resolve_checkpoint(str(value)) if value else None
        if checkpoint is not None:
            self._selected = checkpoint.title.split(" [")[0]
            self._selected_title = checkpoint.title

    @property
    def checkpoints(self) -> list[Checkpoint]:
        return list(self._checkpoints)

    def checkpoint_keys(self) -> set[str]:
        keys: set[str] = set()
        for checkpoint in self._checkpoints:
            keys |= checkpoint.aliases()
        return keys

    def resolve_checkpoint(self, name: str) -> Checkpoint | None:
        """Like the WebUI's ``get_closet_checkpoint_match``: an exact spelling, else the shortest
        title that contains it."""
        key = checkpoint_key(name)
        if key is None:
            return None
        for checkpoint in self._checkpoints:
            if key in checkpoint.aliases():
                return checkpoint
        containing = [c for c in self._checkpoints if key in (checkpoint_key(c.title) or "")]
        return min(containing, key=lambda c: len(c.title)) if containing else None

    def available_checkpoints(self) -> list[str] | None:
        """Every spelling of every model the WebUI listed; None before it was first asked."""
        return sorted(self.checkpoint_keys()) if self._asked else None

    def current_checkpoint(self) -> str | None:
        return self._selected

    # -- Runner --------------------------------------------------------------------------------

    def run(self, task: Task, progress: ProgressCallback) -> RunResult:
        self._interrupt.clear()
        self._lost.clear()
        if not self._checkpoints:
            self.refresh()
        if self._unloaded:  # A1111 generates only after this; Forge's is a no-op (it loads by itself)
            self._post("/sdapi/v1/reload-checkpoint", None)
            self._unloaded = False
        scripts = self._scripts.get(task.kind) if self._scripts is not None else None
        request = build_request(task, self.files, scripts=scripts)
        if request.checkpoint:
            self._select_checkpoint(request.checkpoint)
        if task.kind == "extras":
            self._check_upscalers(request.body)
        self._running = True
        try:
            response = self._generate(request.endpoint, request.body, progress)
        finally:
            self._running = False
        if task.kind == "extras":
            response = _extras_as_generation(response)
        result = self._save(task, response)
        return RunResult(result, interrupted=self._interrupt.is_set(), warnings=request.warnings)

    def unload_model(self) -> bool:
        """Give the GPU back: the WebUI's own ``POST /sdapi/v1/unload-checkpoint`` (A1111: the
        model to RAM; Forge: its memory management's unload); the next task reloads it first."""
        if self._unloaded:
            return False
        self._post("/sdapi/v1/unload-checkpoint", None)
        self._unloaded = True
        return True

    def interrupt(self) -> None:
        """Ask the WebUI to stop; the polling loop sends it (and again, should the call not have begun)."""
        self._interrupt.set()
        self._kick.set()

    def skip(self) -> None:
        if self._running:
            self._post("/sdapi/v1/skip", None)

    def stop_remote(self) -> None:
        """Ask the WebUI to stop what it generates, without waiting for the answer to matter."""
        self._quietly(lambda: self._post("/sdapi/v1/interrupt", None, timeout=2.0))

    def abandon(self, reason: str) -> None:
        """The backend stopped answering (health check): give up on the call in progress."""
        self._lost_reason = reason
        self._lost.set()
        self._kick.set()

    # -- the call ------------------------------------------------------------------------------

    def _select_checkpoint(self, name: str) -> None:
        checkpoint = self.resolve_checkpoint(name)
        if checkpoint is None:
            self.refresh()  # a model copied in since the last look
            checkpoint = self.resolve_checkpoint(name)
        if checkpoint is None:
            have = ", ".join(c.title for c in self._checkpoints) or "none"
            raise InvalidTaskData("checkpoint", f"{name!r} is not on {self.url} (it has: {have})")
        # the WebUI ignores an unchanged value, so this is cheap when the model is already chosen
        self._post(
            "/sdapi/v1/options", {"sd_model_checkpoint": checkpoint.title}, timeout=self.generation_timeout
        )
        self._selected, self._selected_title = name, checkpoint.title

    def _check_upscalers(self, body: dict[str, Any]) -> None:
        """Fail a task naming an upscaler the WebUI lacks (its own error would not say which)."""
        installed = [str(u.get("name")) for u in self.get_json("/sdapi/v1/upscalers") if isinstance(u, dict)]
        for name in ("upscaler_1", "upscaler_2"):
            wanted = body.get(name)
            if wanted not in (None, "None") and wanted not in installed:
                have = ", ".join(installed) or "none"
                raise InvalidTaskData(name, f"upscaler {wanted!r} is not on {self.url} (it has: {have})")

    def _generate(self, endpoint: str, body: dict[str, Any], progress: ProgressCallback) -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                outcome["response"] = self.client.post(endpoint, json=body, timeout=self.generation_timeout)
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc
            finally:
                done.set()
                self._kick.set()

        threading.Thread(target=call, name="task-scheduler-remote-call", daemon=True).start()
        interrupts_sent = 0
        shown = _Shown()
        while not done.is_set():
            self._kick.wait(self.poll_s)
            self._kick.clear()
            if done.is_set():
                break
            if self._lost.is_set():
                raise RunnerUnavailable(self._lost_reason or f"{self.url} stopped answering")
            if self._interrupt.is_set() and interrupts_sent < 3:
                # again on later polls: an interrupt that arrives before the WebUI began the job is
                # cleared by its state.begin()
                interrupts_sent += 1
                self._quietly(lambda: self._post("/sdapi/v1/interrupt", None))
            self._quietly(lambda: self._report_progress(progress, shown))
        error = outcome.get("error")
        if isinstance(error, CONNECTION_ERRORS):
            raise RunnerUnavailable(f"{self.url} stopped answering during the task ({type(error).__name__})")
        if error is not None:
            raise error
        response: httpx.Response = outcome["response"]
        if response.status_code >= 400:
            raise _remote_error(response)
        try:
            data = response.json()
        except ValueError:
            raise RemoteError(f"{self.url}{endpoint} answered with something that is not JSON") from None
        if not isinstance(data, dict):
            raise RemoteError(f"{self.url}{endpoint} answered with an unexpected shape")
        return data

    def _report_progress(self, progress: ProgressCallback, shown: _Shown) -> None:
        """Report the WebUI's progress, never less than already shown for this run.

        Nothing while the WebUI says no job runs: its API ends the job before it encodes the
        images, and before the answer it reports progress 0 for a while (also, a torn read of its
        counters can dip for a moment).
        """
        data = self.get_json("/sdapi/v1/progress?skip_current_image=true", timeout=max(self.poll_s, 2.0))
        state = data.get("state") or {}
        if _idle(state):
            return
        steps = state.get("sampling_steps") or 0
        text = data.get("textinfo") or (f"step {state.get('sampling_step', 0)}/{steps}" if steps else "")
        eta = data.get("eta_relative")
        shown.fraction = max(shown.fraction, min(max(float(data.get("progress") or 0.0), 0.0), 1.0))
        progress(ProgressUpdate(shown.fraction, text, float(eta) if eta else None))

    def _save(self, task: Task, data: dict[str, Any]) -> TaskResult:
        try:
            info = json.loads(data.get("info") or "{}")
        except (TypeError, ValueError):
            info = {}
        if not isinstance(info, dict):
            info = {}
        infotexts = [str(text) for text in info.pop("infotexts", None) or []]
        seeds = [int(seed) for seed in info.get("all_seeds") or [] if isinstance(seed, int)]
        folder = self.results_dir / time.strftime("%Y-%m-%d")
        paths: list[str] = []
        for index, encoded in enumerate(data.get("images") or []):
            payload = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
            try:
                blob = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                raise RemoteError(f"image {index} from {self.url} is not valid base64") from None
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{task.id}-{index:02d}.{_extension(blob)}"
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(blob)
            tmp.replace(path)
            paths.append(str(path))
        for key in ("all_prompts", "all_negative_prompts", "all_subseeds"):
            info.pop(key, None)
        info["backend"] = self.url
        if self._selected_title:
            info["checkpoint_title"] = self._selected_title
        return TaskResult(images=paths, infotexts=infotexts, seeds=seeds, info=info)

    # -- HTTP helpers --------------------------------------------------------------------------

    def get_json(self, path: str, timeout: Any = None) -> Any:
        try:
            response = self.client.get(path, timeout=timeout or self.client.timeout)
        except CONNECTION_ERRORS as exc:
            raise RunnerUnavailable(f"{self.url} does not answer ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise _remote_error(response)
        return response.json()

    def _post(self, path: str, body: Any, timeout: Any = None) -> Any:
        try:
            response = self.client.post(path, json=body, timeout=timeout or self.client.timeout)
        except CONNECTION_ERRORS as exc:
            raise RunnerUnavailable(f"{self.url} does not answer ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise _remote_error(response)
        return response.json() if response.content else None

    def _quietly(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except (RunnerUnavailable, RemoteError, ValueError) as exc:
            log.debug("%s: %s", self.url, exc)


def _idle(state: dict[str, Any]) -> bool:
    """The WebUI's ``state`` says no job runs (``state.end()`` sets no job and a job count of 0)."""
    if "job_count" in state:
        return state["job_count"] == 0
    return "job" in state and not state["job"]


@dataclass
class _Shown:
    """The progress already reported for the run in progress."""

    fraction: float = 0.0


def _remote_error(response: httpx.Response) -> Exception:
    detail: Any = response.text[:2000]
    try:
        data = response.json()
        if isinstance(data, dict):
            # the WebUIs' handlers send {"error": type name, "detail": "" (an HTTPException's detail),
            # "message" (Forge's app) or "errors": str(e)}
            said = data.get("message") or data.get("errors")
            named = ": ".join(str(part) for part in (data.get("error"), said) if part)
            detail = data.get("detail") or named or data
    except ValueError:
        pass
    text = f"{response.request.url.path} answered {response.status_code}: {detail}"
    if "out of memory" in str(detail).lower():
        return OutOfMemory(text)
    return RemoteError(text)


_BREAK = re.compile(r"<br\s*/?>\n?")
_TAG = re.compile(r"<[^>]+>")


def _extras_as_generation(data: dict[str, Any]) -> dict[str, Any]:
    """``/extra-single-image``'s ``{image, html_info}`` in the shape of a txt2img answer."""
    shown = data.get("html_info")
    text = html.unescape(_TAG.sub("", _BREAK.sub("\n", shown))).strip() if isinstance(shown, str) else ""
    image = data.get("image")
    images = [image] if isinstance(image, str) and image else []
    info = {"infotexts": [text] * len(images), "postprocessing": text}
    return {"images": images, "info": json.dumps(info)}


def _extension(blob: bytes) -> str:
    for signature, extension in _SIGNATURES.items():
        if blob.startswith(signature):
            return extension
    return "bin"
