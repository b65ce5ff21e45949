"""A fair (first come, first served), non-reentrant lock, as ``modules.fifo_lock.FIFOLock``.

A second ``acquire()`` from the thread that already holds it blocks, exactly like the WebUI's.
Ownership is handed directly to the longest waiter on ``release()``.
"""

from __future__ import annotations

import collections
import threading


class FIFOLock:
    def __init__(self):
        self._inner_lock = threading.Lock()
        self._locked = False
        self._pending_threads: collections.deque[threading.Event] = collections.deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._inner_lock:
            if not self._locked and not self._pending_threads:
                self._locked = True
                return True
            if not blocking:
                return False
            release_event = threading.Event()
            self._pending_threads.append(release_event)
        if release_event.wait(None if timeout is None or timeout < 0 else timeout):
            return True
        with self._inner_lock:
            if release_event.is_set():  # handed over just as the wait timed out
                return True
            self._pending_threads.remove(release_event)
            return False

    def release(self) -> None:
        with self._inner_lock:
            if not self._locked:
                raise RuntimeError("release unlocked lock")
            if self._pending_threads:
                self._pending_threads.popleft().set()  # stays locked: ownership moves to that waiter
            else:
                self._locked = False

    def locked(self) -> bool:
        return self._locked

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.release()
