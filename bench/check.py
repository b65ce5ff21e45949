"""Time the checker: a 100-task sweep and a Queue click, against a WebUI with many models.

    python bench/check.py --json [--flavour forge|a1111|neo] [--loras 500] [--checkpoints 200]

Runs over the WebUI test double (tests/webui_double) with ``--checkpoints`` checkpoints,
``--loras`` LoRAs, 100 embeddings and 50 hypernetworks installed, the catalog read the way the
extension reads it in the WebUI (``task_scheduler.webui.catalog_source``: the WebUI's lists,
fingerprinted on every call, rebuilt when they change).

Figures: ``sweep_100_check_ms_median``: checking a sweep of 100 tasks (4 checkpoints x 25
seeds, a prompt with three LoRAs, one misspelled, and embedding words; every problem grouped per
axis value) as a sweep is checked before it is queued; ``queue_click_overhead_ms``: what the
check adds to one Queue click (the click checks its task before writing files and once more in
the queue's transaction); ``catalog_rebuild_ms``: the first check after a list changed (a LoRA
added and refreshed). Targets: sweep <= 50 ms, click <= 10 ms.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import median_ms, parser, report  # noqa: E402

SWEEP_TARGET_MS = 50
CLICK_TARGET_MS = 10


def run(flavour: str, loras: int, checkpoints: int, repeat: int) -> dict:
    import webui_double

    from task_scheduler.checker import TaskChecker, grouped
    from task_scheduler.sweeps import Choices, expand, parse_axes
    from task_scheduler.task import NewTask
    from task_scheduler.webui.catalog_source import WebUICatalog

    root = tempfile.mkdtemp(prefix="bench-check-")
    models = [f"family{i % 10}/model-{i:03d}.safetensors" for i in range(checkpoints)]
    lora_names = [f"style_{i:03d}_v{i % 3}" for i in range(loras)]
    env = webui_double.install(
        flavour,
        root,
        checkpoints=models,
        loras=lora_names,
        embeddings=[f"embed_{i:03d}" for i in range(100)],
        hypernetworks=[f"hyper_{i:02d}" for i in range(50)],
    )
    try:
        catalog = WebUICatalog()
        checker = TaskChecker(catalog)
        prompt = (
            f"a castle at night, <lora:{lora_names[7]}:0.8>, <lora:{lora_names[123]}:0.5>, "
            "<lora:style_999_vx:1>, embed_001, highly detailed, sharp focus"
        )
        base = NewTask(
            kind="txt2img",
            params={
                "prompt": prompt,
                "negative_prompt": "embed_002, blurry, lowres",
                "steps": 20,
                "width": 512,
                "height": 512,
                "sampler_name": "Euler a",
                "scheduler": "Karras",
            },
        )
        picked = [models[0], models[50], "family3/model-10.safetensors", models[150]]  # one misspelled
        axes = parse_axes(
            [{"type": "checkpoint", "values": picked}, {"type": "seed", "values": "1-25"}],
            choices=Choices(checkpoints=models, lenient=True),
        )
        tasks = [t.new for t in expand(base, axes)]
        assert len(tasks) == 100

        def check_sweep() -> list:
            return grouped(checker.check_many(tasks))

        problems = check_sweep()
        one = [tasks[0]]

        def click() -> None:
            checker.check_many(one)  # before the click writes its files
            checker.check_many(one)  # in the queue's enqueue

        sweep_ms = median_ms(check_sweep, repeat)
        click_ms = median_ms(click, repeat * 5)
        env.add_lora("added_later")  # the Lora tab's refresh: the next check rebuilds the catalog
        start = time.perf_counter()
        checker.check_many(one)
        rebuild_ms = (time.perf_counter() - start) * 1000
    finally:
        env.uninstall()
    return {
        "flavour": flavour,
        "checkpoints": checkpoints,
        "loras": loras,
        "sweep_tasks": len(tasks),
        "sweep_problems": [f"{p.field}={p.value!r} x{p.tasks}" for p in problems],
        "sweep_100_check_ms_median": round(sweep_ms, 2),
        "queue_click_overhead_ms": round(click_ms, 3),
        "catalog_rebuild_ms": round(rebuild_ms, 2),
        "within_target": sweep_ms <= SWEEP_TARGET_MS and click_ms <= CLICK_TARGET_MS,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--flavour", default=os.environ.get("TASK_SCHEDULER_STACK") or "forge")
    p.add_argument("--loras", type=int, default=500)
    p.add_argument("--checkpoints", type=int, default=200)
    p.add_argument("--repeat", type=int, default=21)
    args = p.parse_args()
    report(run(args.flavour, args.loras, args.checkpoints, args.repeat), args.json)


if __name__ == "__main__":
    main()
