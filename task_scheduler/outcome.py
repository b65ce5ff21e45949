"""What a run came to, before the store records it: shared by the executor and batch runs."""

from __future__ import annotations

from dataclasses import dataclass

from .runner import RunResult
from .task import TaskResult, TaskStatus


@dataclass
class Outcome:
    #: None: the runner became unavailable and the task goes back to the queue;
    #: PENDING: paused inside (or before it began), or its batch was stopped for another task:
    #: back to its place, keeping ``made``
    status: TaskStatus | None
    run: RunResult | None = None
    error: str | None = None
    made: TaskResult | None = None
