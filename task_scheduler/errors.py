"""Domain exceptions. The HTTP layer maps them to status codes in one place."""

from __future__ import annotations


class TaskSchedulerError(Exception):
    """Base class of every error this package raises on purpose."""


class TaskNotFound(TaskSchedulerError, LookupError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}")
        self.task_id = task_id


class InvalidTransition(TaskSchedulerError):
    """A status change the lifecycle does not allow (e.g. editing a running task)."""

    def __init__(self, task_id: str, current: str | None, target: str, action: str | None = None) -> None:
        what = action or f"move to {target!r}"
        super().__init__(f"task {task_id} is {current}: cannot {what}")
        self.task_id = task_id
        self.current = current
        self.target = target


class InvalidTaskData(TaskSchedulerError, ValueError):
    """A field value that fails validation; ``field`` names it for form and API errors."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StoreUnavailable(TaskSchedulerError):
    """The database is locked by someone else, unreadable, corrupt, or its server unreachable."""


class StoreConflict(StoreUnavailable):
    """A transaction lost a race with another process (PostgreSQL); running it again is safe."""


class OutOfMemory(TaskSchedulerError):
    """Raised by a runner when the device ran out of memory; the queue may pause on it."""


class NotBatchable(TaskSchedulerError):
    """Raised by a runner's ``run_batch`` when the WebUI did not make one image per task: the
    model reads the batch size otherwise (Forge Neo with a Wan model: a video's length, so a
    batch of images becomes one frame). The tasks run one by one; that model is not batched again.
    """


class RunnerUnavailable(TaskSchedulerError):
    """Raised by a runner that lost what generates images (a remote WebUI stopped answering).

    The task is not at fault: the executor gives it back to the queue instead of failing it.
    """
