"""The queue on PostgreSQL: the SQLite benches' figures, measured the same way on a real server.

By default a throwaway server (bench/pg_cluster.py: ``initdb`` in a temporary folder, loopback,
``fsync=off``); ``--url`` measures an existing one instead (each part gets a schema of its own,
dropped afterwards). What it prints, and the bars of issue 13:

- ``round_trip_median_ms``: one small read (a statement's round trip to the server, as this
  machine's load allows; a claim and its outcome take about a dozen);
- ``enqueue_median_ms`` (≤ 5), ``claim_median_ms_100k`` (≤ 10: claim + finish at 100 000 tasks),
  ``page_median_ms_100k`` (≤ 10) and ``page_ratio_100k_1k`` (≤ 1.5): bench/queue_ops.py's code;
- ``scaling_8_workers`` (≥ 6): tasks/s with 8 worker processes ÷ with 1, ``--task-ms`` tasks;
  ``duplicates`` and ``lost`` (0) over both runs, and over an 8 × ``--exact-tasks`` run of
  instant tasks (``exact_*``): bench/workers.py's code;
- ``exact_worker_cpu_ms_per_task`` / ``exact_server_cpu_ms_per_task``: CPU per task of that run in
  the worker processes (their whole lives) and in the local server: what a shared machine's
  neighbours do not change; ``2 cores ÷ their sum`` is the most tasks/s the machine could run;
- ``requeue_after_kill_s`` (lease + ≤ 2 s): kill -9 of the worker running a task → another runs it;
- ``wake_latency_ms_median`` (< 1000): a task queued here → started by an idle worker process;
- ``stop_latency_ms_median`` (< 1000): a stop asked here → the run in another process ended.

    python bench/pg_store.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pg_cluster
import queue_ops
import workers
from _common import median_ms

from task_scheduler.store import Store


def schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def vacuum_analyze(base: str) -> Callable[[Store], None]:
    """After a bulk fill: VACUUM ANALYZE the queue's tables, as autovacuum soon would."""

    def settle(store: Store) -> None:
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{store.location.schema}"')
            conn.execute("VACUUM ANALYZE")

    return settle


def measure(
    base: str, args: argparse.Namespace, folder: Path, server_cpu: Callable[[], float] | None = None
) -> dict:
    run = f"b{int(time.time())}"
    schemas: list[str] = []

    def url(part: str) -> str:
        schemas.append(f"{run}_{part}")
        return schema_url(base, schemas[-1])

    try:
        rng = random.Random(7)
        probe = Store(url("probe"))
        round_trip = median_ms(lambda: probe.get_meta("revision"), 200)  # what every statement costs here
        probe.close()
        settle = vacuum_analyze(base)
        small = queue_ops.measure(1_000, rng, url("ops1k"), settle)
        large = queue_ops.measure(args.large, rng, url("ops100k"), settle)
        task_s = args.task_ms / 1000
        one = workers.throughput(url("scale1"), folder / "scale1.log", 1, args.tasks, task_s, args.lease)
        eight = workers.throughput(url("scale8"), folder / "scale8.log", 8, args.tasks, task_s, args.lease)
        exact = workers.throughput(
            url("exact8"), folder / "exact8.log", 8, args.exact_tasks, 0.0, args.lease, server_cpu
        )
        kill_s = [
            workers.requeue_after_kill(url(f"kill{n}"), folder / f"kill{n}.log", args.lease)
            for n in range(args.kill_rounds)
        ]
        wake = workers.wake_latency(url("wake"), folder / "wake.log", args.rounds)
        stop = workers.stop_latency(url("stop"), folder / "stop.log", args.rounds)
    finally:
        for schema in schemas:
            drop_schema(base, schema)
    return {
        "round_trip_median_ms": round(round_trip, 3),
        "enqueue_median_ms": round(large["enqueue"], 3),
        "claim_median_ms_100k": round(large["claim"], 3),
        "page_median_ms_1k": round(small["page"], 3),
        "page_median_ms_100k": round(large["page"], 3),
        "page_ratio_100k_1k": round(large["page"] / small["page"], 3),
        "search_median_ms_100k": round(large["search"], 3),
        "pending_page_median_ms_100k": round(large["pending"], 3),
        "tasks": args.tasks,
        "task_ms": args.task_ms,
        "tasks_per_s_1_worker": round(one["tasks_per_s"], 2),
        "tasks_per_s_8_workers": round(eight["tasks_per_s"], 2),
        "scaling_8_workers": round(eight["tasks_per_s"] / one["tasks_per_s"], 2),
        "exact_tasks": args.exact_tasks,
        "exact_tasks_per_s_8_workers": round(exact["tasks_per_s"], 2),
        "exact_worker_cpu_ms_per_task": round(exact["worker_cpu_ms_per_task"], 2),
        "exact_server_cpu_ms_per_task": round(exact["server_cpu_ms_per_task"], 2),
        "duplicates": one["duplicates"] + eight["duplicates"] + exact["duplicates"],
        "lost": one["lost"] + eight["lost"] + exact["lost"],
        "lease_s": args.lease,
        "requeue_after_kill_s": round(statistics.median(kill_s), 2),
        "requeue_after_kill_s_max": round(max(kill_s), 2),
        "wake_latency_ms_median": round(statistics.median(wake), 1),
        "wake_latency_ms_max": round(max(wake), 1),
        "stop_latency_ms_median": round(statistics.median(stop), 1),
        "stop_latency_ms_max": round(max(stop), 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--url", help="an existing server (postgresql://...); default: a throwaway one")
    p.add_argument("--large", type=int, default=100_000, help="tasks in the large queue")
    p.add_argument("--tasks", type=int, default=400, help="tasks of each scaling run")
    p.add_argument("--task-ms", type=float, default=50.0)
    p.add_argument("--exact-tasks", type=int, default=1000, help="instant tasks for 8 workers")
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--kill-rounds", type=int, default=3)
    p.add_argument("--rounds", type=int, default=20, help="wake-up and stop rounds")
    args = p.parse_args()
    cluster = None
    if args.url is None:
        reason = pg_cluster.available()
        if reason:
            raise SystemExit(reason)
        cluster = pg_cluster.PgCluster().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = measure(
                args.url or cluster.url(), args, Path(tmp), cluster.cpu_s if cluster is not None else None
            )
    finally:
        if cluster is not None:
            cluster.destroy()
    for key, value in figures.items():
        print(f"{key:28} {value}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
