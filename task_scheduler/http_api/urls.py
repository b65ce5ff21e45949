"""Where the queue's own API lives, and the URLs it hands out in its answers.

A leaf module: the routers that serve these URLs and the views that print them both import it,
so neither has to import the other for a path.
"""

PREFIX = "/task-scheduler/v1"


def result_url(task_id: str, index: int) -> str:
    """The URL of a task's result image ``index`` (served by ``GET /tasks/{id}/results/{index}``)."""
    return f"{PREFIX}/tasks/{task_id}/results/{index}"


__all__ = ["PREFIX", "result_url"]
