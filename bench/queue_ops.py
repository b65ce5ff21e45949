"""Queue operation latency at 1 000 and 100 000 tasks.

Prints enqueue, history page (50 rows with its total), search and claim medians. Paging must
cost the same at 100k as at 1k: that is what the indexes are for.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import median_ms, parser, report

from task_scheduler.store import Store
from task_scheduler.task import NewTask
from task_scheduler.task_queue import TaskQueue

WORDS = "cat dog castle forest portrait neon city river mountain robot dragon tea garden".split()


def fill(queue: TaskQueue, finished: int, pending: int, rng: random.Random) -> None:
    def new(i: int) -> NewTask:
        prompt = " ".join(rng.choice(WORDS) for _ in range(6)) + f" #{i}"
        return NewTask(
            kind="txt2img",
            params={"prompt": prompt, "steps": 20, "width": 512, "height": 512},
            checkpoint=rng.choice(["a.safetensors", "b.safetensors", "c.safetensors"]),
        )

    for start in range(0, finished, 2000):
        batch = queue.enqueue_many([new(i) for i in range(start, min(finished, start + 2000))])
        with queue.store.write() as conn:  # fast-forward them to history without running them
            conn.executemany(
                "UPDATE task SET status = ?, started_at = created_at, finished_at = created_at WHERE id = ?",
                [(rng.choice(["done"] * 8 + ["failed", "interrupted"]), t.id) for t in batch],
            )
    queue.enqueue_many([new(finished + i) for i in range(pending)])


def measure(
    total: int, rng: random.Random, where: Path | str, settle: Callable[[Store], None] | None = None
) -> dict:
    """The medians at ``total`` tasks in a new queue at ``where`` (a SQLite file, a PostgreSQL URL).

    ``settle(store)`` runs after the queue is filled (PostgreSQL: what autovacuum does to a
    table that just took 100 000 rows at once, within its first minute)."""
    queue = TaskQueue(Store(where))
    fill(queue, total - 200, 200, rng)
    if settle is not None:
        settle(queue.store)
    pages = [rng.randrange(0, 20) for _ in range(60)]
    it = iter(pages)
    page = median_ms(lambda: queue.history(limit=50, offset=50 * next(it)), 60)
    search = median_ms(
        lambda: queue.history(search=rng.choice(WORDS) + " " + rng.choice(WORDS), limit=50), 30
    )
    pending = median_ms(lambda: queue.pending(limit=50), 30)
    enqueue = median_ms(lambda: queue.enqueue(NewTask(kind="txt2img", params={"prompt": "bench"})), 200)

    def claim_and_finish() -> None:
        task = queue.claim_next(prefer_checkpoint="b.safetensors")
        queue.finish(task.id, task.status.__class__("done"))

    claim = median_ms(claim_and_finish, 100)
    queue.store.close()
    return {"page": page, "search": search, "pending": pending, "enqueue": enqueue, "claim": claim}


def main() -> None:
    args = parser(__doc__).parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(1_000, rng, Path(tmp) / "bench-1000.sqlite3")
        large = measure(100_000, rng, Path(tmp) / "bench-100000.sqlite3")
    report(
        {
            "enqueue_median_ms": round(large["enqueue"], 3),
            "page_median_ms_1k": round(small["page"], 3),
            "page_median_ms_100k": round(large["page"], 3),
            "page_ratio_100k_1k": round(large["page"] / small["page"], 3),
            "search_median_ms_100k": round(large["search"], 3),
            "pending_page_median_ms_100k": round(large["pending"], 3),
            "claim_median_ms_100k": round(large["claim"], 3),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
