"""The extension's lifecycle in the WebUI double: callbacks, start-up, reload, settings, routes."""

from __future__ import annotations

import argparse
import importlib.util
import threading
from pathlib import Path

import pytest
from helpers import wait_until

from task_scheduler import config
from task_scheduler.task import NewTask, TaskStatus

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str):
    """Import ``scripts/<name>.py`` as the WebUI does (a fresh module object every time)."""
    spec = importlib.util.spec_from_file_location(f"ts_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def executor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "task-scheduler-executor" and t.is_alive()]


@pytest.fixture
def ext_env(webui, tmp_path, monkeypatch):
    """The double with the extension's scripts loaded and its queue in tmp_path."""
    from task_scheduler.webui import extension

    monkeypatch.setenv(config.ENV_DB_PATH, str(tmp_path / "db" / "queue.sqlite3"))
    load_script("task_scheduler")
    webui.add_script(load_script("task_scheduler_params").TaskSchedulerParams)
    yield webui
    extension.shutdown()


class NoRoutes:
    """An app without ``include_router``: the extension skips its routes (building them is slow)."""


def start(env):
    return env.simulate_startup(app=NoRoutes())


def reload(env):
    return env.simulate_reload(reload_scripts=lambda: load_script("task_scheduler"), app=NoRoutes())


def simple_task(prompt="a cat", **kw) -> NewTask:
    params = {"prompt": prompt, "steps": 2, "width": 64, "height": 64}
    return NewTask(kind="txt2img", params=params, **kw)


def test_app_started_opens_the_queue_and_starts_the_executor_once(ext_env, tmp_path):
    from task_scheduler.webui import extension

    app = start(ext_env)
    ext = extension.state()
    assert ext is not None and ext.executor.alive
    assert ext.location == (tmp_path / "db" / "queue.sqlite3").resolve()
    extension.on_app_started(None, app)  # a second call starts nothing twice
    assert extension.state() is ext and len(executor_threads()) == 1
    task = ext.queue.enqueue(simple_task())
    assert wait_until(lambda: ext.queue.get(task.id).status is TaskStatus.DONE)
    done = ext.queue.get(task.id)
    assert len(done.result.images) == 1 and Path(done.result.images[0]).is_file()


def test_reload_disposes_the_old_executor_and_starts_a_new_one(ext_env):
    from task_scheduler.webui import extension

    start(ext_env)
    old = extension.state()
    old_thread = executor_threads()[0]
    reload(ext_env)
    new = extension.state()
    assert new is not None and new is not old
    assert not old.executor.alive and not old_thread.is_alive()
    assert new.executor.alive and executor_threads() == [new.executor._thread]
    task = new.queue.enqueue(simple_task("after reload"))
    assert wait_until(lambda: new.queue.get(task.id).status is TaskStatus.DONE)


def test_each_image_of_a_queued_task_has_its_own_infotext_and_seed(ext_env):
    """With the extension's image-saved hook (a grid saved last, listed first by the WebUI),
    image i's infotext and seed are image i's: the infotext route and job images read them so."""
    from task_scheduler.http_api.infotext import task_infotext
    from task_scheduler.webui import extension

    start(ext_env)
    ext = extension.state()
    params = {"prompt": "pairs", "seed": 50, "n_iter": 3, "steps": 2, "width": 64, "height": 64}
    task = ext.queue.enqueue(NewTask(kind="txt2img", params=params))
    assert wait_until(lambda: ext.queue.get(task.id).status is TaskStatus.DONE)
    done = ext.queue.get(task.id)
    made = [path for path in done.result.images if not Path(path).parent.name.endswith("-grids")]
    assert len(made) == 3 and done.result.seeds == [50, 51, 52]
    for index, path in enumerate(made):
        seed = done.result.seeds[index]
        assert Path(path).name.endswith(f"-{seed}.png")  # the WebUI names samples by their seed
        assert f"Seed: {seed}," in task_infotext(done, index)[0]


def test_reload_while_a_task_runs_lets_it_finish_first(ext_env):
    from task_scheduler.webui import extension

    ext_env.set_step_delay(0.01)
    start(ext_env)
    old = extension.state()
    task = old.queue.enqueue(NewTask(kind="txt2img", params={"prompt": "long", "steps": 20, "n_iter": 3}))
    assert wait_until(lambda: old.queue.get(task.id).status is TaskStatus.RUNNING)
    reload(ext_env)
    new = extension.state()
    assert wait_until(lambda: new.queue.get(task.id).status is TaskStatus.DONE)


def test_a_reload_during_a_task_longer_than_the_close_timeout_never_runs_it_twice(ext_env, monkeypatch):
    """The reload gives up waiting (close timeout) while the task still runs: the first run's
    result is recorded, and the new executor neither takes it for a crash nor runs it again."""
    from task_scheduler.webui import extension

    monkeypatch.setattr(extension, "CLOSE_TIMEOUT_S", 0.01)
    ext_env.set_step_delay(0.3)  # 3 s: still running when even a slow reload is done
    start(ext_env)
    old = extension.state()
    task = old.queue.enqueue(NewTask(kind="txt2img", params={"prompt": "long", "steps": 10}))
    assert wait_until(lambda: old.queue.get(task.id).status is TaskStatus.RUNNING)
    reload(ext_env)
    new = extension.state()
    assert old.executor.alive  # the reload did not wait for it
    after = new.queue.enqueue(simple_task("after reload"))
    assert wait_until(lambda: new.queue.get(after.id).status is TaskStatus.DONE, timeout=60)
    first = new.queue.get(task.id)
    assert (first.status, first.attempts, first.error) == (TaskStatus.DONE, 1, None)
    assert len(first.result.images) == 1 and Path(first.result.images[0]).is_file()
    assert [g.prompt for g in ext_env.generations] == ["long", "after reload"]
    assert not old.executor.alive and executor_threads() == [new.executor._thread]


def test_the_webui_worker_says_its_family_and_takes_only_captures_of_it(ext_env):
    from task_scheduler.task import WEBUI_FAMILIES
    from task_scheduler.webui import extension

    start(ext_env)
    ext = extension.state()
    [me] = ext.queue.workers.list()
    assert me.info["webui"] == ext_env.flavour
    others = [f for f in WEBUI_FAMILIES if f != ext_env.flavour]
    ext.queue.pause()
    foreign = [ext.queue.enqueue(simple_task(f"from {f}", source="ui", needs_webui=f)) for f in others]
    own = ext.queue.enqueue(simple_task("mine", source="ui", needs_webui=ext_env.flavour))
    api = ext.queue.enqueue(simple_task("api"))
    ext.queue.resume()
    assert wait_until(lambda: {ext.queue.get(t.id).status for t in (own, api)} == {TaskStatus.DONE}, 30)
    assert [ext.queue.get(t.id).status for t in foreign] == [TaskStatus.PENDING] * 2


def test_routes_are_mounted_on_the_app(ext_env):
    from fastapi.testclient import TestClient

    from task_scheduler.webui import extension

    app = ext_env.simulate_startup()
    client = TestClient(app)
    response = client.post(
        "/task-scheduler/v1/queue/txt2img",
        json={"prompt": "over http", "steps": 2, "width": 64, "height": 64, "seed": 5},
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    queue = extension.state().queue
    assert wait_until(lambda: queue.get(task_id).status is TaskStatus.DONE)
    assert client.get(f"/task-scheduler/v1/tasks/{task_id}").json()["result"]["seeds"] == [5]
    assert client.get("/agent-scheduler/v1/queue").status_code == 200
    assert "random-sd15-b.safetensors" in " ".join(client.get("/task-scheduler/v1/checkpoints").json())
    assert client.get("/task-scheduler/v1/webui/notice").json() is None
    assert client.get("/task-scheduler/v1/samplers").json()
    stats = client.get("/task-scheduler/v1/webui/stats").json()
    assert stats["runs"] == 1 and stats["model_loads"] >= (1 if ext_env.is_forge else 0)
    timing = stats["timings"][-1]
    assert timing["id"] == task_id and timing["finished_at"] >= timing["started_at"] > 0


def test_in_process_what_the_webuis_response_cannot_encode_is_refused_at_entry(ext_env):
    """The WebUI answers with gradio's ORJSON response: a seed of 10**30 or a 300-level body,
    once stored, made /queue, /export and /tasks/{id} answer 500 for everyone."""
    from fastapi.testclient import TestClient

    from task_scheduler.webui import extension

    app = ext_env.simulate_startup()
    assert app.router.default_response_class.__name__ == "ORJSONResponse"
    client = TestClient(app)
    client.post("/task-scheduler/v1/queue/pause")
    deep: object = 1
    for _ in range(300):
        deep = {"a": deep}
    for prefix in ("/agent-scheduler/v1", "/task-scheduler/v1"):
        for body in ({"prompt": "x", "seed": 10**30}, {"prompt": "x", "override_settings": {"d": deep}}):
            response = client.post(f"{prefix}/queue/txt2img", json=body)
            assert response.status_code == 422, response.text[:200]
    kept = client.post("/agent-scheduler/v1/queue/txt2img", json={"prompt": "kept", "seed": 2**63 - 1})
    assert kept.status_code == 200
    for path in ("/task-scheduler/v1/queue", "/agent-scheduler/v1/queue", "/task-scheduler/v1/export"):
        assert client.get(path).status_code == 200, path
    task_id = kept.json()["task_id"]
    assert client.get(f"/task-scheduler/v1/tasks/{task_id}").json()["params"]["seed"] == 2**63 - 1
    assert [t.id for t in extension.state().queue.pending()] == [task_id]


def test_routes_are_mounted_once_per_app(ext_env):
    from task_scheduler.webui import extension

    app = ext_env.simulate_startup()
    count = len(app.routes)
    extension.on_app_started(None, app)
    assert len(app.routes) == count


# -- settings ------------------------------------------------------------------------------------


def test_the_settings_section_is_registered(ext_env):
    from modules import shared

    from task_scheduler.webui import settings

    start(ext_env)
    for key in settings.KEYS:
        assert shared.opts.data_labels[key].section == settings.SECTION
    assert shared.opts.data_labels[settings.DRY_COMMAND].restrict_api
    assert shared.opts.data_labels[settings.DB_PATH].restrict_api
    assert shared.opts.set(settings.DRY_COMMAND, "rm -rf /", is_api=True) is False


def test_changed_settings_reach_the_running_executor(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, settings

    start(ext_env)
    executor = extension.state().executor
    assert executor.settings.checkpoint_aware_order is True
    shared.opts.set(settings.CHECKPOINT_AWARE, False)
    shared.opts.set(settings.PAUSE_ON_OOM, False)
    shared.opts.set(settings.RETENTION_DAYS, 7)
    assert executor.settings.checkpoint_aware_order is False
    assert executor.settings.pause_on_out_of_memory is False
    assert executor.settings.retention_days == 7
    assert (executor.settings.auto_batch, executor.settings.auto_batch_clicks) == (4, 0)
    shared.opts.set(settings.AUTO_BATCH, "8")
    shared.opts.set(settings.AUTO_BATCH_CLICKS, "2")
    assert (executor.settings.auto_batch, executor.settings.auto_batch_clicks) == (8, 2)
    shared.opts.set(settings.AUTO_BATCH, settings.BATCH_OFF)
    assert executor.settings.auto_batch == 0


def test_read_settings_defaults_and_values():
    from task_scheduler.webui import settings

    class Opts:
        data: dict = {}

    assert settings.read(Opts()) == settings.ExtensionSettings()
    Opts.data = {
        settings.RETENTION_DAYS: 0,
        settings.WHEN_DRY: "bogus",
        settings.REQUEUE_INTERRUPTED: False,
        settings.PAUSED_AT_STARTUP: True,
        settings.DB_PATH: "  /x/q.sqlite3 ",
    }
    read = settings.read(Opts())
    assert read.executor.retention_days is None and read.when_dry == settings.DRY_NONE
    assert read.executor.requeue_interrupted is False and read.paused_at_startup
    assert read.db_path == "/x/q.sqlite3"


def test_paused_at_startup_pauses_at_the_first_start_only(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, settings

    monkey = extension._paused_once
    extension._paused_once = False
    try:
        shared.opts.data[settings.PAUSED_AT_STARTUP] = True
        start(ext_env)
        queue = extension.state().queue
        assert queue.paused
        queue.resume()
        reload(ext_env)
        assert not extension.state().queue.paused
    finally:
        extension._paused_once = monkey


def test_db_path_precedence_cli_env_setting(ext_env, tmp_path, monkeypatch):
    from modules import shared

    from task_scheduler.webui import extension, settings

    shared.opts.data[settings.DB_PATH] = str(tmp_path / "setting.sqlite3")
    assert extension.db_location() == (tmp_path / "db" / "queue.sqlite3").resolve()  # env wins
    monkeypatch.delenv(config.ENV_DB_PATH)
    assert extension.db_location() == (tmp_path / "setting.sqlite3").resolve()
    monkeypatch.setattr(shared.cmd_opts, "task_scheduler_db", str(tmp_path / "cli.sqlite3"), raising=False)
    assert extension.db_location() == (tmp_path / "cli.sqlite3").resolve()


def test_preload_adds_the_cli_flag():
    preload = load_script_file(ROOT / "preload.py")
    parser = argparse.ArgumentParser()
    preload.preload(parser)
    assert parser.parse_args([config.CLI_FLAG, "/q.sqlite3"]).task_scheduler_db == "/q.sqlite3"
    assert parser.parse_args([]).task_scheduler_db is None


def load_script_file(path: Path):
    spec = importlib.util.spec_from_file_location("ts_preload", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_database_that_cannot_be_opened_disables_the_extension_not_the_webui(
    ext_env, tmp_path, monkeypatch
):
    from task_scheduler.webui import extension

    bad = tmp_path / "not-a-db.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    monkeypatch.setenv(config.ENV_DB_PATH, str(bad))
    start(ext_env)
    assert extension.state() is None
    assert bad.read_bytes().startswith(b"this is not sqlite")


@pytest.mark.parametrize("damage", ["random bytes", "one damaged page"])
def test_a_damaged_database_gives_one_message_stays_untouched_and_the_tab_says_why(
    ext_env, tmp_path, monkeypatch, caplog, damage
):
    import logging
    import random

    from fastapi.testclient import TestClient
    from test_store import _damage_one_page

    from task_scheduler.store import Store
    from task_scheduler.task_queue import TaskQueue
    from task_scheduler.webui import extension

    bad = tmp_path / "damaged.sqlite3"
    if damage == "random bytes":
        bad.write_bytes(random.Random(7).randbytes(64 * 1024))
    else:
        store = Store(bad)
        TaskQueue(store).enqueue_many([simple_task("x" * 200) for _ in range(300)])
        store.close()
        _damage_one_page(bad)
    before = bad.read_bytes()
    monkeypatch.setenv(config.ENV_DB_PATH, str(bad))
    with caplog.at_level(logging.WARNING):
        app = ext_env.simulate_startup()
    assert extension.state() is None
    assert bad.read_bytes() == before
    ours = [r for r in caplog.records if r.name.startswith("task_scheduler")]
    assert len(ours) == 1 and ours[0].exc_info is None and str(bad) in ours[0].getMessage()
    client = TestClient(app)
    for path in ("/task-scheduler/v1/queue", "/task-scheduler/v1/history", "/agent-scheduler/v1/queue"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.json()["detail"].startswith("The task queue is disabled: " + str(bad))
    assert client.post("/internal/progress", json={"id_task": "x"}).status_code == 200  # the WebUI runs on


# -- a queue on PostgreSQL --------------------------------------------------------------------------


def test_a_postgresql_url_opens_a_shared_queue_whose_files_live_in_the_database(
    ext_env, postgres, tmp_path, monkeypatch
):
    from task_scheduler.webui import extension

    url = postgres.url(schema="webui_ext")
    monkeypatch.setenv(config.ENV_DB_PATH, url)
    monkeypatch.setattr(extension, "EXTENSION_DIR", tmp_path / "extension")  # its files cache goes there
    start(ext_env)
    ext = extension.state()
    assert ext is not None and ext.store.location.is_postgres and ext.files.blobs is not None
    assert ext.files.root == tmp_path / "extension" / "task_scheduler_files_cache"
    ref = ext.files.put(b"an init image")
    task = ext.queue.enqueue(simple_task(files=[ref]))
    assert wait_until(lambda: ext.queue.get(task.id).status is TaskStatus.DONE, timeout=30)
    from task_scheduler.store import Store

    elsewhere = Store(url)  # another machine's view: the same queue, and the file in the database
    with elsewhere.read() as conn:
        assert conn.execute("SELECT status FROM task WHERE id = ?", (task.id,)).fetchone()[0] == "done"
        assert conn.execute("SELECT size FROM file_blob WHERE ref = ?", (ref,)).fetchone()[0] == 13
    elsewhere.close()


def test_an_unreachable_postgresql_disables_the_queue_without_showing_the_password(
    ext_env, postgres, monkeypatch, caplog
):
    import logging

    from fastapi.testclient import TestClient

    from task_scheduler.webui import extension

    monkeypatch.setenv(config.ENV_DB_PATH, f"postgresql://render:hunter2@127.0.0.1:{postgres.port + 1}/q")
    with caplog.at_level(logging.INFO):
        app = ext_env.simulate_startup()
    assert extension.state() is None
    assert caplog.records and all("hunter2" not in r.getMessage() for r in caplog.records)
    response = TestClient(app).get("/task-scheduler/v1/queue")
    assert response.status_code == 503
    assert "render:***@127.0.0.1" in response.json()["detail"] and "hunter2" not in response.text


# -- when the queue runs dry ------------------------------------------------------------------------


def test_a_browser_notification_when_the_queue_runs_empty(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, settings

    shared.opts.data[settings.WHEN_DRY] = settings.DRY_NOTIFY
    start(ext_env)
    ext = extension.state()
    assert extension.dry_notice() is None
    ext.queue.pause()
    tasks = ext.queue.enqueue_many([simple_task("one"), simple_task("two")])
    ext.queue.resume()
    assert wait_until(lambda: extension.dry_notice() is not None)
    notice = extension.dry_notice()
    assert (notice.seq, notice.done, notice.failed) == (1, 2, 0)
    assert all(ext.queue.get(t.id).status is TaskStatus.DONE for t in tasks)


def test_the_configured_command_runs_when_the_queue_runs_empty(ext_env, tmp_path):
    from modules import shared

    from task_scheduler.webui import settings

    marker = tmp_path / "dry.txt"
    shared.opts.data[settings.WHEN_DRY] = settings.DRY_COMMAND_CHOICE
    shared.opts.data[settings.DRY_COMMAND] = (
        f'echo "$TASK_SCHEDULER_DONE $TASK_SCHEDULER_FAILED" > "{marker}"'
    )
    start(ext_env)
    from task_scheduler.webui import extension

    extension.state().queue.enqueue(simple_task())
    assert wait_until(lambda: marker.exists() and marker.read_text().strip() == "1 0")


def test_nothing_happens_when_the_queue_was_already_empty(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, settings

    shared.opts.data[settings.WHEN_DRY] = settings.DRY_NOTIFY
    start(ext_env)
    ext = extension.state()
    ext.queue.enqueue(simple_task("a"))
    assert wait_until(lambda: extension.dry_notice() is not None)
    ext.queue.pause()
    ext.queue.resume()
    assert extension.dry_notice().seq == 1


# -- what the routes ask of the WebUI --------------------------------------------------------------


def test_webui_adapter(ext_env):
    from modules import shared

    from task_scheduler.webui import extension

    start(ext_env)
    adapter = extension.state().services.webui
    assert "Euler a" in adapter.samplers()
    assert len(adapter.checkpoints()) == 2
    assert adapter.progress("nope") is None
    assert adapter.canonical_checkpoint("random-sd15-b") == "random-sd15-b.safetensors"
    assert adapter.canonical_checkpoint("nope") is None
    adapter.interrupt()
    assert shared.state.interrupted
    shared.state.interrupted = False
    adapter.skip()
    assert shared.state.skipped
    shared.state.skipped = False


def test_model_loads_are_counted(ext_env):
    from task_scheduler.webui import extension

    start(ext_env)
    ext = extension.state()
    before = ext.model_loads
    task = ext.queue.enqueue(simple_task("b", checkpoint="random-sd15-b.safetensors"))
    assert wait_until(lambda: ext.queue.get(task.id).status is TaskStatus.DONE)
    assert ext.model_loads == before + 1
