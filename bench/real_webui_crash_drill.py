"""Kill -9 drill and start-up burst against a real WebUI (Forge, Forge Neo or A1111) with the extension.

The WebUI must already be set up (see ``shared/docs/real-forge.md`` / ``real-forge-neo.md`` /
``real-a1111.md``) with this extension in its ``extensions/`` folder (or in ``--data-dir``'s);
this script only starts it, kills it and starts it again (it installs nothing). Per trial:

1. queue ``--tasks`` tiny tasks (default 5, 64x64, 2 steps, each naming the checkpoint);
2. when the 2nd one has run for ``--kill-after`` seconds, ``kill -9`` the WebUI's process group;
3. start the WebUI again and wait until every task has finished.

A trial passes when every task ends ``done``, the killed one ran exactly twice (``attempts`` 2)
and every other one once. At every start, including the first, ``--burst`` tasks (default 3) are
queued as soon as the extension's routes answer (within a second of the WebUI becoming
reachable); they must all end ``done`` too. This is the window in which A1111 still loads its
model in its own start-up thread.

Figures: per trial the final statuses, attempts and errors; per start the seconds until
reachable and the burst's statuses; ``all_ok``. ``--json`` prints them as one JSON object.

The random-weight test checkpoints give NaNs (A1111: ``NansException``) for some prompt and seed
pairs, deterministically and through the WebUI's own ``/sdapi/v1/txt2img`` too (seen: "burst
restart-1 2" with seed 502). The prompts and seeds here are fixed ones that generate cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import QUEUE, WebUI  # noqa: E402

COMMON_FLAGS = [
    "--skip-prepare-environment",
    "--skip-install",
    "--skip-torch-cuda-test",
    "--skip-python-version-check",
    "--skip-version-check",
    "--api",
    "--server-name",
    "127.0.0.1",
]
#: CPU-only start flags. Neo has no ``--no-download-sd-model`` (it downloads nothing) and its
#: argument parser refuses flags it does not know, so each flavour names its own.
FLAVOUR_FLAGS = {
    "forge": ["--always-cpu", "--no-download-sd-model"],
    "neo": ["--cpu"],
    "a1111": ["--use-cpu", "all", "--no-half", "--precision", "full", "--no-download-sd-model"],
}
#: Neo takes its model folders as ``--ckpt-dirs`` (a list); Forge and A1111 as ``--ckpt-dir``.
CKPT_FLAG = {"forge": "--ckpt-dir", "neo": "--ckpt-dirs", "a1111": "--ckpt-dir"}


class Process:
    """One WebUI process (its own process group, so kill -9 takes its children too)."""

    def __init__(self, args: Any, log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.log_offset = 0

    def start(self) -> None:
        env = dict(os.environ)
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
        if self.args.hf_home:
            env["HF_HOME"] = self.args.hf_home
        command = [
            self.args.python,
            "launch.py",
            *FLAVOUR_FLAGS[self.args.flavour],
            *COMMON_FLAGS,
            "--port",
            str(self.args.port),
            CKPT_FLAG[self.args.flavour],
            self.args.ckpt_dir,
            "--task-scheduler-db",
            self.args.db,
        ]
        if self.args.data_dir:
            command += ["--data-dir", self.args.data_dir]
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        log.write(f"\n===== start {time.strftime('%H:%M:%S')}: {' '.join(command)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            command,
            cwd=self.args.webui_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()


def task_body(args: Any, prompt: str, seed: int) -> dict[str, Any]:
    body = {
        "prompt": prompt,
        "negative_prompt": "",
        "seed": seed,
        "steps": args.steps,
        "width": args.size,
        "height": args.size,
        "cfg_scale": 7,
        "sampler_name": "Euler a",
        "batch_size": 1,
        "n_iter": 1,
    }
    if args.checkpoint:
        body["checkpoint"] = args.checkpoint
    return body


def wait_reachable(webui: WebUI, proc: Process, timeout: float) -> float:
    """Seconds until the extension's routes answer.

    No request is sent before the WebUI logs ``Startup time:``: A1111 1.10.1 dies with "Cannot add
    middleware after an application has started" when a request arrives between its gradio
    launch and its API set-up (a WebUI behaviour, with or without extensions).
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.proc is not None and proc.proc.poll() is not None:
            raise RuntimeError(f"the WebUI exited with {proc.proc.returncode}; see {proc.log_path}")
        if b"Startup time:" not in proc.log_path.read_bytes()[proc.log_offset :]:
            time.sleep(0.1)
            continue
        try:
            webui.get(QUEUE + "/queue", timeout=2)
            return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"the WebUI did not answer in {timeout:.0f} s; see {proc.log_path}")


def start_with_burst(webui: WebUI, proc: Process, args: Any, label: str) -> dict[str, Any]:
    proc.start()
    reachable_s = wait_reachable(webui, proc, args.start_timeout)
    reached = time.monotonic()
    burst = webui.enqueue([task_body(args, f"burst {i}", 500 + i) for i in range(args.burst)])
    return {
        "label": label,
        "reachable_s": round(reachable_s, 1),
        "burst_queued_after_s": round(time.monotonic() - reached, 2),
        "burst_ids": burst,
    }


def wait_running(webui: WebUI, task_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if webui.task(task_id)["status"] == "running":
            return
        time.sleep(0.1)
    raise TimeoutError(f"task {task_id} did not start in {timeout:.0f} s")


def summary(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"status": t["status"], "attempts": t["attempts"], "error": t["error"]} for t in tasks]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--flavour", choices=sorted(FLAVOUR_FLAGS), required=True)
    p.add_argument("--webui-dir", required=True, help="the WebUI's folder (with launch.py)")
    p.add_argument("--python", required=True, help="the WebUI venv's python")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ckpt-dir", required=True)
    p.add_argument("--db", required=True, help="--task-scheduler-db for this drill (use a fresh file)")
    p.add_argument("--hf-home", default=None)
    p.add_argument("--data-dir", default=None, help="the WebUI's --data-dir (its extensions/ and settings)")
    p.add_argument(
        "--checkpoint", default="random-sd15-a.safetensors", help="named by every task; '' for none"
    )
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--tasks", type=int, default=5)
    p.add_argument("--burst", type=int, default=3)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--kill-after", type=float, default=1.0, help="seconds into the 2nd task")
    p.add_argument("--start-timeout", type=float, default=300.0)
    p.add_argument("--task-timeout", type=float, default=900.0)
    p.add_argument("--log", default=None, help="the WebUI's output (default: beside --db)")
    args = p.parse_args()

    log_path = Path(args.log or args.db + ".webui.log")
    webui = WebUI(f"http://127.0.0.1:{args.port}", timeout=60)
    proc = Process(args, log_path)
    starts: list[dict[str, Any]] = []
    trials: list[dict[str, Any]] = []
    try:
        starts.append(start_with_burst(webui, proc, args, "start-0"))
        for trial in range(args.trials):
            ids = webui.enqueue(
                [task_body(args, f"drill {trial} task {i}", 1000 + 10 * trial + i) for i in range(args.tasks)]
            )
            wait_running(webui, ids[1], args.task_timeout)
            time.sleep(args.kill_after)
            killed_status = webui.task(ids[1])["status"]
            proc.kill9()
            starts.append(start_with_burst(webui, proc, args, f"restart-{trial + 1}"))
            final = webui.wait_finished(ids, args.task_timeout)
            expected_attempts = [2 if i == 1 else 1 for i in range(args.tasks)]
            ok = (
                all(t["status"] == "done" for t in final)
                and [t["attempts"] for t in final] == expected_attempts
            )
            trials.append(
                {"trial": trial + 1, "killed_while": killed_status, "tasks": summary(final), "ok": ok}
            )
        for start in starts:
            final = webui.wait_finished(start.pop("burst_ids"), args.task_timeout)
            start["burst"] = summary(final)
            start["ok"] = all(t["status"] == "done" for t in final)
    finally:
        proc.stop()
    failed = sum(t["status"] == "failed" for trial in trials for t in trial["tasks"]) + sum(
        t["status"] == "failed" for start in starts for t in start.get("burst", [])
    )
    figures = {
        "flavour": args.flavour,
        "trials": trials,
        "starts": starts,
        "trials_ok": sum(t["ok"] for t in trials),
        "bursts_ok": sum(s.get("ok", False) for s in starts),
        "failed_tasks": failed,
        "all_ok": all(t["ok"] for t in trials) and all(s.get("ok", False) for s in starts),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
