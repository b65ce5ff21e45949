"""Executor overhead: tasks per second with an instant runner, and memory growth over 2000 tasks.

The executor's own cost per task (claim, run bookkeeping, outcome) is what stands between two
generations on a real GPU, so it must be small next to a generation, and it must not leak.
"""

from __future__ import annotations

import gc
import os
import tempfile
import threading
import time
from pathlib import Path

from _common import parser, report

from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.runner import InMemoryRunner
from task_scheduler.store import Store
from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.task_queue import TaskQueue


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def new_tasks(n: int) -> list[NewTask]:
    return [
        NewTask(kind="txt2img", params={"prompt": f"bench {i}", "steps": 2}, checkpoint="ab"[i % 2])
        for i in range(n)
    ]


def main() -> None:
    args = parser(__doc__).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        queue = TaskQueue(Store(Path(tmp) / "bench.sqlite3"))
        runner = InMemoryRunner()
        executor = Executor(queue, runner, ExecutorSettings())

        # Warm up, then throughput through the real thread (wake-ups included).
        queue.enqueue_many(new_tasks(200))
        while executor.run_one():
            pass
        queue.enqueue_many(new_tasks(2000))
        done = threading.Event()
        queue.subscribe(lambda event, task: done.set() if queue.count(TaskStatus.PENDING) == 0 else None)
        start = time.perf_counter()
        executor.start()
        done.wait(120)
        elapsed = time.perf_counter() - start
        executor.stop()
        tasks_per_s = 2000 / elapsed

        # Memory: 2000 more tasks run one by one, RSS measured before and after.
        queue.enqueue_many(new_tasks(2000))
        gc.collect()
        before = rss_mb()
        while executor.run_one():
            pass
        gc.collect()
        growth = rss_mb() - before
        executor.close()
        queue.store.close()
    report({"tasks_per_s": round(tasks_per_s, 1), "rss_growth_mb_2000": round(growth, 2)}, args.json)


if __name__ == "__main__":
    main()
