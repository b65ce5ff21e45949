# ruff: noqa: F811 - the ext_env fixture imported from test_extension is redefined as an argument
"""The checker in the WebUI (double, every flavour): the catalog from the WebUI's own lists, the
Queue button and its sweep, the settings, and the check when a task starts."""

from __future__ import annotations

import pytest
from test_capture import capturer
from test_extension import ext_env, start, wait_until  # noqa: F401 - fixture

from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.webui.capture_tasks import QueueOptions

LORAS = ("detail_tweaker_v2", "style")


@pytest.fixture
def lists(ext_env):
    for name in LORAS:
        ext_env.add_lora(name, refresh=False)
    ext_env.refresh_loras()
    embeddings = ext_env.root / "embeddings"
    embeddings.mkdir(exist_ok=True)
    (embeddings / "easynegative.pt").write_bytes(b"x")
    ext_env.embedding_db().load_textual_inversion_embeddings(force_reload=True)
    return ext_env


def ext():
    from task_scheduler.webui import extension

    return extension.state()


def click(env, prompt: str, **options):
    """A Queue click on txt2img with ``prompt``; the click's answer."""
    state = ext()
    args = env.generate_args("txt2img", prompt=prompt, width=64, height=64, steps=2)
    return capturer(env, "txt2img", state.queue, state.files).enqueue(
        args[1:], user=None, options=QueueOptions(**options)
    )


def test_the_catalog_is_the_webuis_own_lists(lists):
    start(lists)
    catalog = ext().runner.catalog()
    assert set(LORAS) <= set(catalog.loras) and "easynegative" in catalog.embeddings
    assert "random-sd15-a.safetensors" in catalog.checkpoints and "Euler a" in catalog.samplers
    assert catalog.hypernetworks == (None if lists.is_neo else ())  # Neo has none at all
    kinds = set(catalog.network_kinds)
    assert ("lyco" in kinds) is (lists.flavour == "a1111")  # only A1111 aliases lyco to lora
    assert ("hypernet" in kinds) is (not lists.is_neo)
    assert "X/Y/Z plot" in catalog.scripts["txt2img"]
    assert ext().runner.catalog() is catalog  # unchanged lists: the same catalog, its sets reused


def test_a_lora_is_known_once_the_webui_lists_it(lists):
    start(lists)
    runner = ext().runner
    lists.add_lora("added_later", refresh=False)
    assert "added_later" not in runner.catalog().loras  # on disk, but the WebUI has not listed it
    lists.refresh_loras()
    assert "added_later" in runner.catalog().loras


def test_the_queue_click_warns_of_a_misspelled_lora_with_the_closest_name(lists):
    start(lists)
    ext().queue.pause()
    outcome = click(lists, "a cat <lora:detail_tweeker:0.8>")
    assert outcome.ok, outcome.message
    assert outcome.warnings == ["prompt: no LoRA 'detail_tweeker'; did you mean 'detail_tweaker_v2'?"]
    assert ext().queue.get(outcome.task_ids[0]).warnings == outcome.warnings
    assert '"warnings": ["prompt: no LoRA' in outcome.to_json()


def test_the_strict_setting_queues_nothing_and_says_why(lists):
    from modules import shared

    from task_scheduler.webui import settings

    start(lists)
    shared.opts.set(settings.CHECK_STRICT, True)
    outcome = click(lists, "a cat <lora:detail_tweeker:0.8>")
    assert not outcome.ok and outcome.task_ids == []
    assert (
        outcome.message == "Not queued: prompt: no LoRA 'detail_tweeker'; did you mean 'detail_tweaker_v2'?"
    )
    assert ext().queue.count(TaskStatus.PENDING) == 0
    shared.opts.set(settings.CHECK_STRICT, False)
    shared.opts.set(settings.CHECK_NETWORKS, True)
    assert not click(lists, "a cat <lora:detail_tweeker:0.8>").ok
    assert click(lists, "a cat <lora:detail_tweaker_v2:0.8>").ok


def test_a_lyco_tag_is_ignored_by_forge_and_neo_so_it_is_a_warning_there(lists):
    start(lists)
    ext().queue.pause()
    outcome = click(lists, "a cat <lyco:style:1>")
    assert outcome.ok
    if lists.is_forge:
        ignored = "this WebUI does not understand <lyco:…>; it would be ignored"
        assert outcome.warnings == [f"prompt: {ignored}; did you mean '<lora:style>'?"]
    else:
        assert outcome.warnings == []


def test_an_unknown_sampler_queues_nothing(lists):
    start(lists)
    state = ext()
    args = lists.generate_args("txt2img", prompt="x", width=64, height=64, sampler_name="Eulr a")
    outcome = capturer(lists, "txt2img", state.queue, state.files).enqueue(
        args[1:], user=None, options=QueueOptions()
    )
    assert not outcome.ok and "no sampler 'Eulr a'; did you mean 'Euler a'?" in outcome.message
    assert state.queue.count(TaskStatus.PENDING) == 0


def test_the_sweep_menu_refuses_a_misspelled_checkpoint_naming_its_tasks(lists):
    start(lists)
    sweep = {
        "axes": [
            {"type": "checkpoint", "values": ["random-sd15-a", "random-sd15-bb", "random-sd15-b"]},
            {"type": "seed", "values": "1-3"},
        ]
    }
    outcome = click(lists, "a cat", sweep=sweep)
    assert not outcome.ok
    assert "no checkpoint 'random-sd15-bb'; did you mean" in outcome.message
    assert ext().queue.count(TaskStatus.PENDING) == 0


def test_a_lora_deleted_before_the_task_starts(lists):
    from modules import shared

    from task_scheduler.webui import settings

    start(lists)
    queue = ext().queue
    queue.pause()
    kept = queue.enqueue(
        NewTask(kind="txt2img", params={"prompt": "<lora:style:1>", "steps": 2, "width": 64, "height": 64})
    )
    lists.remove_lora("style")
    queue.resume()
    assert wait_until(lambda: queue.get(kept.id).status is TaskStatus.DONE)
    assert queue.get(kept.id).warnings == ["prompt: no LoRA 'style'"]
    shared.opts.set(settings.CHECK_AT_START, settings.AT_START_FAIL)
    lists.add_lora("style")
    queue.pause()
    task = queue.enqueue(
        NewTask(kind="txt2img", params={"prompt": "<lora:style:1>", "steps": 2, "width": 64, "height": 64})
    )
    generations = len(lists.generations)
    lists.remove_lora("style")
    queue.resume()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.FAILED)
    assert queue.get(task.id).error == "Not started: prompt: no LoRA 'style'"
    assert len(lists.generations) == generations  # nothing was generated (or loaded) for it
