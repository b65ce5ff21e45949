"""The schedule inside the WebUI (double): its Settings options are checked and kept in the shared
store, the page shows what the store holds after a restart, and a WebUI outside its window holds
the queue while Run now still runs."""
# ruff: noqa: F811 - fixtures imported from test_extension are redefined as arguments

from __future__ import annotations

from test_extension import ext_env, reload, simple_task, start  # noqa: F401

from task_scheduler.task import TaskStatus


def test_windows_edited_in_settings_are_stored_in_canonical_form(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, schedule_settings

    start(ext_env)
    assert shared.opts.set(schedule_settings.RUN_WINDOWS, "mon-fri 23:00-07:30; sat,sun 00:00-24:00") is True
    queue = extension.state().queue
    assert queue.schedule_config().windows == "Mon-Fri 23:00-07:30; Sat-Sun 00:00-24:00"
    assert shared.opts.set(schedule_settings.UNLOAD, True) is True
    assert queue.schedule_config().unload_after_s == schedule_settings.DEFAULT_UNLOAD_AFTER_S


def test_windows_that_cannot_be_read_are_refused_and_the_old_ones_stay(ext_env, capsys):
    from modules import shared

    from task_scheduler.webui import extension, schedule_settings

    start(ext_env)
    shared.opts.set(schedule_settings.RUN_WINDOWS, "Daily 22:00-23:00")
    assert shared.opts.set(schedule_settings.RUN_WINDOWS, "Sat 25:00-26:00") is False
    assert shared.opts.data[schedule_settings.RUN_WINDOWS] == "Daily 22:00-23:00"
    assert extension.state().queue.schedule_config().windows == "Daily 22:00-23:00"
    assert "25:00 is not a time of day" in capsys.readouterr().err


def test_after_a_restart_the_settings_page_shows_what_the_store_holds(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, schedule_settings

    start(ext_env)
    extension.state().queue.set_schedule(windows="Sat,Sun 00:00-24:00", unload_after_s=60)  # another WebUI
    reload(ext_env)
    assert shared.opts.data[schedule_settings.RUN_WINDOWS] == "Sat-Sun 00:00-24:00"
    assert shared.opts.data[schedule_settings.UNLOAD] is True
    assert shared.opts.data[schedule_settings.UNLOAD_AFTER] == 60


def test_a_webui_outside_its_window_holds_and_run_now_still_runs(ext_env):
    from modules import shared

    from task_scheduler.webui import extension, schedule_settings

    start(ext_env)
    ext = extension.state()
    ext.executor.stop()
    shared.opts.set(
        schedule_settings.WORKER_WINDOWS, "Mon 00:00-00:01; Mon 00:02-00:03"
    )  # closed nearly always
    ext.queue.set_schedule(windows="")
    held, urgent = ext.queue.enqueue(simple_task("held")), ext.queue.enqueue(simple_task("urgent"))
    ext.queue.run_next(urgent.id)
    while ext.executor.run_one():
        pass
    assert ext.queue.get(urgent.id).status is TaskStatus.DONE
    assert ext.queue.get(held.id).status is TaskStatus.PENDING
    assert ext.queue.schedule_config().worker_windows == {
        ext.executor.worker.id: "Mon 00:00-00:01, 00:02-00:03"
    }


def test_a_repetition_and_a_start_time_survive_a_reload_of_the_webui(ext_env):
    import time

    from task_scheduler.webui import extension

    start(ext_env)
    ext = extension.state()
    ext.executor.stop()
    first = ext.queue.enqueue(simple_task("again", repeat_times=3))
    later = ext.queue.enqueue(simple_task("later", not_before=time.time() + 3600))
    assert ext.executor.run_one()
    reload(ext_env)
    ext = extension.state()
    ext.executor.stop()
    while ext.executor.run_one():
        pass
    rounds = [t for t in ext.queue.history(limit=10).tasks if t.repeat_series == first.id]
    assert sorted(t.repeat_round for t in rounds) == [1, 2, 3]
    assert ext.queue.get(later.id).status is TaskStatus.PENDING
    assert ext.queue.get(later.id).not_before is not None
