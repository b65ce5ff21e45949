"""What happened to the queue, said once: the event names and the bus that delivers them.

Events are an Enum so a listener matching on a misspelt name fails at import, not silently
(a typo in the executor's list once would have stopped its wake-ups). They are ``str``
subclasses, so a listener written against the plain names keeps working.

The bus is in-process. What another process did arrives as :attr:`QueueEvent.CHANGED_ELSEWHERE`
(the store noticed another connection's commit): the store, not this bus, is what processes
agree on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .task import Task

log = logging.getLogger(__name__)


class QueueEvent(str, Enum):
    ENQUEUED = "enqueued"
    STARTED = "started"
    FINISHED = "finished"
    MOVED = "moved"
    RUN_ONCE = "run_once"
    RECOVERED = "recovered"
    REQUEUED = "requeued"
    DELETED = "deleted"
    CANCELLED = "cancelled"
    RENAMED = "renamed"
    BOOKMARKED = "bookmarked"
    EDITED = "edited"
    CLEARED = "cleared"
    PAUSED = "paused"
    RESUMED = "resumed"
    STOP_REQUESTED = "stop_requested"
    JOB_HELD = "job_held"
    JOB_RESUMED = "job_resumed"
    JOB_DELETED = "job_deleted"
    JOB_MARKED = "job_marked"
    WORKERS_CHANGED = "workers_changed"
    #: the run windows, their time zone or the unload delay changed
    SCHEDULE_CHANGED = "schedule_changed"
    #: another process committed a change to the shared store (what, it does not say)
    CHANGED_ELSEWHERE = "changed_elsewhere"

    def __str__(self) -> str:
        return self.value


#: events after which an idle worker may find something to run
WAKES_WORKERS: frozenset[QueueEvent] = frozenset(
    {
        QueueEvent.ENQUEUED,
        QueueEvent.RESUMED,
        QueueEvent.RUN_ONCE,
        QueueEvent.MOVED,
        QueueEvent.RECOVERED,
        QueueEvent.REQUEUED,
        QueueEvent.JOB_RESUMED,
        QueueEvent.WORKERS_CHANGED,
        QueueEvent.SCHEDULE_CHANGED,
        QueueEvent.CHANGED_ELSEWHERE,
    }
)

Listener = Callable[[QueueEvent, "Task | None"], None]


class EventBus:
    """Listeners called after every change; one failing listener never stops the others."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(event, task)`` after every change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: QueueEvent, task: Task | None = None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, task)
            except Exception:
                log.exception("task queue listener failed on %s", event)
