"""Several worker processes on one SQLite queue: scaling, exactly-once, kill recovery, wake-up.

Every worker is a process of its own (``bench/sim_worker.py``: an executor with a simulated
runner), as two WebUIs on two GPUs would be.

- ``scaling_4_workers``: tasks/s with 4 workers ÷ tasks/s with 1 (``--tasks`` tasks of
  ``--task-ms`` each); ``duplicates`` (runs beyond the first, over both runs) and ``lost``
  (tasks not done) must be 0.
- ``requeue_after_kill_s``: kill -9 of the worker running a task → the task runs on another
  worker (lease ``--lease`` seconds).
- ``wake_latency_ms_median``: a task queued in this process → started by an idle worker in
  another process.

    python bench/workers.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from task_scheduler.store import Store  # noqa: E402
from task_scheduler.task import NewTask, TaskStatus  # noqa: E402
from task_scheduler.task_queue import TaskQueue  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from _common import process_cpu_s  # noqa: E402
from sim_worker import spawn  # noqa: E402


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def throughput(
    db: Path | str,
    log: Path,
    workers: int,
    tasks: int,
    task_s: float,
    lease: float,
    server_cpu: Callable[[], float] | None = None,
) -> dict:
    """Tasks per second with ``workers`` processes on a new queue at ``db`` (a SQLite file, a
    PostgreSQL URL), how many ran twice or never, and the CPU milliseconds per task the worker
    processes (and, with ``server_cpu``, the database server) spent."""
    queue = TaskQueue(Store(db))
    procs = [spawn(db, f"w{n}", log, lease=lease, task_s=task_s)[1] for n in range(workers)]
    try:
        server = server_cpu() if server_cpu else 0.0
        cpu = _cpu_s(procs)
        began = time.monotonic()
        ids = [
            t.id for t in queue.enqueue_many([NewTask("txt2img", {"prompt": f"t{n}"}) for n in range(tasks)])
        ]
        wait_for(lambda: queue.count(TaskStatus.DONE) == tasks, 600, f"{tasks} tasks on {workers} workers")
        elapsed = time.monotonic() - began
        server = server_cpu() - server if server_cpu else 0.0
        cpu = _cpu_s(procs) - cpu
    finally:
        stop(procs)
    runs = Counter(line.split()[0] for line in log.read_text().splitlines() if line.strip())
    done = sum(1 for i in ids if queue.get(i).status is TaskStatus.DONE)
    queue.store.close()
    return {
        "tasks_per_s": tasks / elapsed,
        "duplicates": sum(n - 1 for n in runs.values() if n > 1),
        "lost": tasks - done,
        "worker_cpu_ms_per_task": cpu * 1000 / tasks,
        "server_cpu_ms_per_task": server * 1000 / tasks,
    }


def _cpu_s(procs: list[subprocess.Popen]) -> float:
    """The worker processes' CPU seconds so far (0.0 where /proc is missing)."""
    try:
        return sum(process_cpu_s(proc.pid) for proc in procs)
    except OSError:
        return 0.0


def requeue_after_kill(db: Path | str, log: Path, lease: float) -> float:
    queue = TaskQueue(Store(db))
    first, first_proc = spawn(db, "first", log, lease=lease, task_s=0.01)
    [task] = queue.enqueue_many([NewTask("txt2img", {"prompt": "long", "seconds": 3600})])
    wait_for(lambda: queue.get(task.id).status is TaskStatus.RUNNING, 60, "the task to start")
    second, second_proc = spawn(db, "second", log, lease=lease, task_s=0.01)
    time.sleep(lease / 2)  # a heartbeat or two into the run, as a real kill would come
    os.kill(first_proc.pid, signal.SIGKILL)
    first_proc.wait(30)
    killed = time.monotonic()
    wait_for(lambda: queue.get(task.id).worker_id == second, 10 * lease + 30, "the task on the second worker")
    taken = time.monotonic() - killed
    queue.request_stop(task.id, "interrupted")
    stop([second_proc])
    queue.store.close()
    return taken


def wake_latency(db: Path | str, log: Path, rounds: int) -> list[float]:
    queue = TaskQueue(Store(db))
    # a long lease: its heartbeat (every lease / 4) never finds the task first; the wake does
    _worker, proc = spawn(db, "idle", log, lease=600.0, task_s=0.0)
    latencies = []
    try:
        for n in range(rounds):
            time.sleep(0.3)  # the worker is asleep, waiting for work
            queued = time.time()
            task = queue.enqueue(NewTask("txt2img", {"prompt": f"wake {n}"}))
            started = wait_for(lambda: queue.get(task.id).started_at, 30, "the task to start")  # noqa: B023
            latencies.append((started - queued) * 1000)
    finally:
        stop([proc])
        queue.store.close()
    return latencies


def stop_latency(db: Path | str, log: Path, rounds: int) -> list[float]:
    """A stop asked in this process → the task's run ended and recorded by a worker in another."""
    queue = TaskQueue(Store(db))
    _worker, proc = spawn(db, "stoppable", log, lease=600.0, task_s=0.0)
    latencies = []
    try:
        for n in range(rounds):
            task = queue.enqueue(NewTask("txt2img", {"prompt": f"stop {n}", "seconds": 3600}))
            wait_for(lambda: queue.get(task.id).status is TaskStatus.RUNNING, 30, "the task to start")  # noqa: B023
            time.sleep(0.3)  # well into its run
            asked = time.time()
            queue.request_stop(task.id, "interrupted")
            ended = wait_for(lambda: queue.get(task.id).finished_at, 30, "the run to stop")  # noqa: B023
            latencies.append((ended - asked) * 1000)
    finally:
        stop([proc])
        queue.store.close()
    return latencies


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--tasks", type=int, default=400)
    p.add_argument("--task-ms", type=float, default=50.0)
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--wake-rounds", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        task_s = args.task_ms / 1000
        one = throughput(folder / "scale1.sqlite3", folder / "scale1.log", 1, args.tasks, task_s, args.lease)
        four = throughput(folder / "scale4.sqlite3", folder / "scale4.log", 4, args.tasks, task_s, args.lease)
        kill_s = requeue_after_kill(folder / "kill.sqlite3", folder / "kill.log", args.lease)
        wake = wake_latency(folder / "wake.sqlite3", folder / "wake.log", args.wake_rounds)
    figures = {
        "tasks": args.tasks,
        "task_ms": args.task_ms,
        "tasks_per_s_1_worker": round(one["tasks_per_s"], 2),
        "tasks_per_s_4_workers": round(four["tasks_per_s"], 2),
        "scaling_4_workers": round(four["tasks_per_s"] / one["tasks_per_s"], 2),
        "duplicates": one["duplicates"] + four["duplicates"],
        "lost": one["lost"] + four["lost"],
        "lease_s": args.lease,
        "requeue_after_kill_s": round(kill_s, 2),
        "wake_latency_ms_median": round(statistics.median(wake), 1),
        "wake_latency_ms_max": round(max(wake), 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
