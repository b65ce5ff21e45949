"""One worker process of a shared queue, with a simulated runner: what tests and benches start.

Each task "generates" for ``--task-s`` seconds (in small slices, so a stop request lands at
once), after loading its checkpoint for ``--load-s`` when it differs from the one loaded. Every
run appends ``<task id> <worker id> <checkpoint or ->`` to ``--log`` before it starts, so a
caller can count how often each task ran and how often each worker loaded a model.
SIGTERM stops the worker cleanly (the task in progress finishes first).

    python bench/sim_worker.py --db q.sqlite3 --name gpu0 --lease 2 --task-s 0.05 --log runs.txt
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from task_scheduler.executor import Executor  # noqa: E402
from task_scheduler.runner import InMemoryRunner, RunResult  # noqa: E402
from task_scheduler.store import Store  # noqa: E402
from task_scheduler.task import Task, TaskResult  # noqa: E402
from task_scheduler.task_queue import TaskQueue  # noqa: E402
from task_scheduler.workers import WorkerIdentity  # noqa: E402


def simulated(runner: InMemoryRunner, worker: str, log: Path | None, task_s: float, load_s: float):
    loaded: list[str | None] = [None]

    def behaviour(task: Task) -> RunResult:
        if log is not None:
            with log.open("a") as out:
                out.write(f"{task.id} {worker} {task.checkpoint or '-'}\n")
        if task.checkpoint and task.checkpoint != loaded[0]:
            time.sleep(load_s)
            loaded[0] = task.checkpoint
        seconds = float(task.params.get("seconds", task_s))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not runner.interrupted.is_set():
            time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
            runner.report_fraction(1 - max(0.0, deadline - time.monotonic()) / seconds if seconds else 1.0)
        return RunResult(TaskResult(images=[], infotexts=[task.prompt], seeds=[1]))

    return behaviour


class SimRunner(InMemoryRunner):
    def report_fraction(self, fraction: float) -> None:
        from task_scheduler.runner import ProgressUpdate

        self.report(ProgressUpdate(min(1.0, max(0.0, fraction)), "simulated"))


def spawn(
    db: Path | str,
    name: str,
    log: Path,
    *,
    lease: float,
    task_s: float,
    load_s: float = 0.0,
    stderr: Path | None = None,
    webui: str | None = None,
) -> tuple[str, subprocess.Popen]:
    """Start a worker process and wait until it runs; its worker id (a suffixed name when
    another live worker has that name) and the process. ``stderr``: a file for its log (what a
    caller checks for leaked secrets); else it shares the caller's. ``webui``: the WebUI family
    it says it runs (forge, neo, a1111), as an in-process WebUI worker does."""
    err = None if stderr is None else stderr.open("ab")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--db", str(db), "--name", name, "--lease", str(lease)]
        + ["--task-s", str(task_s), "--load-s", str(load_s), "--log", str(log)]
        + (["--webui", webui] if webui else []),
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
    )
    if err is not None:
        err.close()  # the child has its own copy
    line = proc.stdout.readline().split() if proc.stdout else []
    if line[:1] != ["ready"]:
        proc.kill()
        raise RuntimeError(f"worker {name} did not start")
    return line[1], proc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--task-s", type=float, default=0.05)
    p.add_argument("--load-s", type=float, default=0.0)
    p.add_argument("--log", default=None)
    p.add_argument("--webui", default=None, help="the WebUI family it poses as (forge, neo, a1111)")
    args = p.parse_args(argv)

    queue = TaskQueue(Store(args.db))
    runner = SimRunner()
    info = {"webui": args.webui} if args.webui else {}
    worker = WorkerIdentity.local(args.name, lease_s=args.lease, info=info)
    runner.behaviour = simulated(
        runner, worker.id, Path(args.log) if args.log else None, args.task_s, args.load_s
    )
    executor = Executor(queue, runner, worker=worker)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    executor.start()
    print(f"ready {executor.worker.id} {os.getpid()}", flush=True)
    while not done.wait(0.2):
        pass
    executor.stop(timeout=60)
    queue.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
