"""The checker in the core: every kind of problem, errors refuse, warnings mark, settings, at start."""

from __future__ import annotations

import pytest
from check_catalog import CASES, CATALOG, CHECKPOINTS, GOOD_PARAMS, case_task

from task_scheduler.catalog import Catalog
from task_scheduler.checker import PROBLEM_KINDS, CheckSettings, TaskChecker, TaskRefused, check_task
from task_scheduler.jobs import Jobs
from task_scheduler.prompt_networks import PROMPT_PARAMS
from task_scheduler.sweeps import Choices, queue_sweep
from task_scheduler.task import NewTask, TaskStatus


@pytest.fixture
def settings() -> CheckSettings:
    return CheckSettings()


@pytest.fixture
def checked(queue, runner, settings):
    runner.catalog_value = CATALOG
    queue.checker = TaskChecker(runner.catalog, lambda: settings)
    return queue


def test_every_kind_of_problem_has_a_case():
    assert set(CASES) == set(PROBLEM_KINDS)


def test_a_good_task_has_no_problem():
    problems = check_task(CATALOG.index(), "txt2img", dict(GOOD_PARAMS), checkpoint=CHECKPOINTS[0])
    assert problems == []


@pytest.mark.parametrize("kind", sorted(PROBLEM_KINDS))
def test_each_kind_names_field_value_and_the_closest_name(kind):
    case = CASES[kind]
    task = case_task(case)
    problems = check_task(
        CATALOG.index(),
        task["kind"],
        task["params"],
        checkpoint=task["checkpoint"],
        script_name=task["script_name"],
        script_args=task["script_args"],
    )
    assert [(p.kind, p.field, p.value, p.severity, p.suggestion) for p in problems] == [
        (kind, case.field, case.value, PROBLEM_KINDS[kind], case.suggestion)
    ]
    if case.suggestion is not None and kind != "size":
        assert f"did you mean '{case.suggestion}'?" in problems[0].message


@pytest.mark.parametrize("kind", sorted(PROBLEM_KINDS))
def test_errors_refuse_and_warnings_queue_the_task_marked(checked, kind):
    case = CASES[kind]
    new = NewTask(**case_task(case))
    if PROBLEM_KINDS[kind] == "error":
        with pytest.raises(TaskRefused) as refused:
            checked.enqueue(new)
        assert [p.field for p in refused.value.problems] == [case.field]
        assert checked.pending() == []
    else:
        task = checked.enqueue(new)
        assert len(task.warnings) == 1 and case.field in task.warnings[0]
        assert checked.get(task.id).warnings == task.warnings


@pytest.mark.parametrize("kind", sorted(k for k, v in PROBLEM_KINDS.items() if v == "warning"))
def test_strict_turns_every_warning_into_an_error(checked, settings, kind):
    new = NewTask(**case_task(CASES[kind]))
    with pytest.raises(TaskRefused):
        checked.enqueue(new, strict=True)
    settings.strict = True
    with pytest.raises(TaskRefused):
        checked.enqueue(NewTask(**case_task(CASES[kind])))
    assert checked.pending() == []


def test_the_setting_makes_unknown_extra_networks_errors(checked, settings):
    settings.networks_are_errors = True
    for kind in ("network", "network_kind"):
        with pytest.raises(TaskRefused):
            checked.enqueue(NewTask(**case_task(CASES[kind])))
    task = checked.enqueue(NewTask(**case_task(CASES["style"])))  # other warnings stay warnings
    assert len(task.warnings) == 1


def test_every_error_is_reported_at_once(checked):
    new = NewTask(
        kind="txt2img",
        params={**GOOD_PARAMS, "sampler_name": "Eulr", "width": 70, "denoising_strength": -1},
        checkpoint="nope",
    )
    with pytest.raises(TaskRefused) as refused:
        checked.enqueue(new)
    assert sorted(p.field for p in refused.value.problems) == [
        "checkpoint",
        "denoising_strength",
        "sampler_name",
        "width",
    ]


@pytest.mark.parametrize("where", PROMPT_PARAMS)
def test_extra_networks_are_read_in_every_prompt(where):
    params = {**GOOD_PARAMS, where: "x <lora:stlye:1> <hypernet:anime_hm:0.5>"}
    problems = check_task(CATALOG.index(), "txt2img", params, checkpoint=CHECKPOINTS[0])
    assert [(p.field, p.value, p.suggestion) for p in problems] == [
        (where, "stlye", "style"),
        (where, "anime_hm", "anime_hn"),
    ]


def test_a_list_the_webui_does_not_have_is_not_checked():
    unknown = Catalog(checkpoints=CHECKPOINTS)
    params = {**GOOD_PARAMS, "prompt": "<lora:anything:1>", "sampler_name": "whatever"}
    assert check_task(unknown.index(), "txt2img", params, checkpoint=CHECKPOINTS[1]) == []


def test_checkpoints_match_as_the_webui_matches_them():
    index = CATALOG.index()
    for spelled in (
        "v1-5-pruned",
        "v1-5-pruned.safetensors",
        "V1-5-PRUNED.safetensors [6ce0161689]",
        "cetus",
    ):
        assert check_task(index, "txt2img", dict(GOOD_PARAMS), checkpoint=spelled) == [], spelled


def test_a_sweep_reports_a_bad_axis_value_once_with_the_tasks_it_touches(checked):
    base = NewTask(kind="txt2img", params=dict(GOOD_PARAMS))
    axes = [
        {"type": "checkpoint", "values": ["v1-5-pruned", "sd_xl_bsae_1.0", "cetus"]},
        {"type": "seed", "values": "1-4"},
    ]
    with pytest.raises(TaskRefused) as refused:
        queue_sweep(Jobs(checked), base, axes, choices=Choices(checkpoints=CHECKPOINTS, lenient=True))
    (problem,) = refused.value.problems
    assert (problem.field, problem.value, problem.tasks) == ("checkpoint", "sd_xl_bsae_1.0", 4)
    assert problem.suggestion == CHECKPOINTS[1]
    assert checked.pending() == []


def test_editing_a_pending_task_is_checked_and_its_warnings_follow_the_edit(checked):
    task = checked.enqueue(NewTask(**case_task(CASES["network"])))
    assert task.warnings
    with pytest.raises(TaskRefused):
        checked.edit(task.id, params={"sampler_name": "Eulr"})
    assert checked.get(task.id).params["sampler_name"] == "Euler a"
    fixed = checked.edit(task.id, params={"prompt": "a cat <lora:detail_tweaker_v2:0.8>"})
    assert fixed.warnings == [] and checked.get(task.id).warnings == []


def test_a_lora_deleted_since_queueing_runs_with_a_warning(checked, executor, runner):
    task = checked.enqueue(NewTask(**case_task(CASES["style"])))  # queued with one warning
    runner.catalog_value = Catalog(**{**_fields(CATALOG), "loras": ("style",)})
    executor.run_one()
    done = checked.get(task.id)
    assert done.status is TaskStatus.DONE
    assert len(done.warnings) == 2 and "detail_tweaker_v2" in done.warnings[1]


def test_the_setting_fails_a_task_whose_lora_was_deleted_before_it_loads_anything(
    checked, executor, runner, settings
):
    settings.at_start = "fail"
    accepted = checked.enqueue(NewTask(**case_task(CASES["style"])))
    executor.run_one()
    assert checked.get(accepted.id).status is TaskStatus.DONE  # a warning it was queued with runs
    task = checked.enqueue(NewTask(**case_task(CASES["style"])))
    runner.catalog_value = Catalog(**{**_fields(CATALOG), "loras": ("style",)})
    runner.ran.clear()
    executor.run_one()
    failed = checked.get(task.id)
    assert failed.status is TaskStatus.FAILED and runner.ran == []
    assert failed.error.startswith("Not started: prompt: no LoRA 'detail_tweaker_v2'")


def test_a_checkpoint_renamed_since_queueing_fails_the_task_with_the_reason(checked, executor, runner):
    task = checked.enqueue(NewTask(**case_task(CASES["style"]), name="x"))
    renamed = ("v1-5-pruned-emaonly.safetensors", *CHECKPOINTS[1:])
    runner.catalog_value = Catalog(**{**_fields(CATALOG), "checkpoints": renamed})
    executor.run_one()
    failed = checked.get(task.id)
    assert failed.status is TaskStatus.FAILED and runner.ran == [] and runner.checkpoint_loads == []
    assert "no checkpoint 'v1-5-pruned.safetensors [6ce0161689]'" in failed.error
    assert "did you mean 'v1-5-pruned-emaonly.safetensors'?" in failed.error


def _fields(catalog: Catalog) -> dict:
    names = (
        "checkpoints vaes text_encoders samplers schedulers upscalers styles scripts extension_scripts "
        "loras hypernetworks embeddings network_kinds"
    ).split()
    return {name: getattr(catalog, name) for name in names}
