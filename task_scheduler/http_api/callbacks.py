"""callback_url: tell a client that its task ended, the way Agent Scheduler did.

When a task with a ``callback_url`` finishes, a ``multipart/form-data`` POST carries ``task_id``,
``status`` and one ``files`` part per result image that still exists; a failed task sends its
status and ``error`` and no files. The queue listener only puts the task on an in-memory queue;
a daemon thread of its own does the sending, with retries and exponential backoff, so a slow or
dead receiver never holds up the executor.
"""

from __future__ import annotations

import collections
import logging
import queue as stdqueue
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from ..task import Task, TaskStatus
from ..task_queue import TaskQueue
from .callback_targets import CallbackRefused, check_at_send_time
from .images import media_type
from .services import ApiSettings

log = logging.getLogger(__name__)
#: delivery attempts remembered for inspection (the log is not a history: it must not grow)
LOG_SIZE = 200


class CallbackSender:
    def __init__(
        self,
        queue: TaskQueue,
        *,
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        settings: ApiSettings | None = None,
    ) -> None:
        self.queue = queue
        #: read at each send: the host may change ``allow_private_callbacks`` while it runs
        self.settings = settings or ApiSettings()
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._transport = transport
        self._pending: stdqueue.Queue[Task | None] = stdqueue.Queue()
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = threading.Lock()
        #: (task_id, status code or error text) of the latest delivery attempts, newest last
        self.log: collections.deque[tuple[str, str]] = collections.deque(maxlen=LOG_SIZE)

    def start(self) -> CallbackSender:
        """Subscribe to the queue and start the sending thread; calling it again does nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            if self._unsubscribe is None:
                self._unsubscribe = self.queue.subscribe(self._on_event)
            self._thread = threading.Thread(target=self._loop, name="task-scheduler-callbacks", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop listening, give up on retries that are waiting, and end the thread."""
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self._stop.set()
            self._pending.put(None)
            thread = self._thread
            self._thread = None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def idle(self) -> bool:
        return self._pending.unfinished_tasks == 0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    def _on_event(self, event: str, task: Task | None) -> None:
        if event == "finished" and task is not None and task.callback_url:
            self._pending.put(task)

    def _loop(self) -> None:
        with httpx.Client(timeout=self.timeout_s, transport=self._transport) as client:
            while True:
                task = self._pending.get()
                try:
                    if task is None or self._stop.is_set():
                        return
                    self._deliver(client, task)
                except Exception:
                    log.exception("callback for task %s failed", getattr(task, "id", "?"))
                finally:
                    self._pending.task_done()

    def _deliver(self, client: httpx.Client, task: Task) -> None:
        assert task.callback_url
        try:
            check_at_send_time(task.callback_url, allow_private=self.settings.allow_private_callbacks)
        except CallbackRefused as exc:
            self.log.append((task.id, "refused"))
            log.warning("callback for task %s not sent: %s", task.id, exc)
            return
        delay = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.send(client, task)
                self.log.append((task.id, str(response.status_code)))
                if response.status_code < 500 and response.status_code != 429:
                    if response.status_code >= 400:
                        log.warning("callback for task %s refused: HTTP %s", task.id, response.status_code)
                    return
            except httpx.HTTPError as exc:
                self.log.append((task.id, type(exc).__name__))
                log.warning("callback for task %s: %s (attempt %d)", task.id, exc, attempt)
            if attempt < self.attempts:
                self._sleep(delay)
                if self._stop.is_set():
                    return
                delay *= 2
        log.error("callback for task %s gave up after %d attempts", task.id, self.attempts)

    @staticmethod
    def form(task: Task) -> dict[str, str]:
        data = {"task_id": task.id, "status": task.status.value}
        if task.status is TaskStatus.FAILED:
            data["error"] = task.error or ""
        return data

    def send(self, client: httpx.Client, task: Task) -> httpx.Response:
        assert task.callback_url
        with ExitStack() as stack:
            files = []
            if task.status is not TaskStatus.FAILED and task.result is not None:
                for image in task.result.images:
                    path = Path(image)
                    if path.is_file():
                        handle = stack.enter_context(path.open("rb"))
                        files.append(("files", (path.name, handle, media_type(path))))
            if files:
                return client.post(task.callback_url, data=self.form(task), files=files)
            # without files httpx would send form-urlencoded; receivers expect multipart either way
            return _post_multipart(client, task.callback_url, self.form(task))


def _post_multipart(client: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    """A multipart/form-data POST with fields only (httpx would send form-urlencoded)."""
    import uuid

    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + value.encode("utf-8")
                + b"\r\n"
            )
            for name, value in data.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    return client.post(
        url, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
