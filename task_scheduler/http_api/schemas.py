"""Request and response models, in the pydantic subset both stacks share.

The generation requests accept every field of the WebUI's ``StableDiffusionTxt2ImgProcessingAPI``
/ ``StableDiffusionImg2ImgProcessingAPI`` (Forge's and A1111's, so a body written for either is
accepted by both), plus our own ``checkpoint``, ``vae``, ``name``, ``position``, ``priority`` and
``callback_url``. Unknown fields are refused with 422 naming them. Every field is optional:
one left out takes the WebUI API's default (see ``payloads.API_DEFAULTS``).
"""

from typing import Any, Literal, Optional

from ..gate import INT64_MAX, INT64_MIN, INT_RANGES, PRIORITY_RANGE
from ._pydantic import ApiModel, OpenModel, field, with_example
from .timing import RepeatRequest, When

Position = Literal["top", "bottom"]


def ranged(name: str, **kw: Any) -> Any:
    """An integer field with the entry gate's range for ``name`` (one table, see gate.py)."""
    low, high = INT_RANGES[name]
    bounds = {"ge": low} if high is None else {"ge": low, "le": high}
    return field(None, **bounds, **kw)


def int64(**kw: Any) -> Any:
    """An integer field that every response class can answer (64-bit)."""
    return field(None, ge=INT64_MIN, le=INT64_MAX, **kw)


class AlwaysOnScript(ApiModel):
    args: list[Any] = field(
        [], description="The script's control values, in the order its ui() returns them."
    )


class _GenerationRequest(ApiModel):
    # -- StableDiffusionProcessing ----------------------------------------------------------
    prompt: Optional[str] = field(None, example="a cat wearing a hat")
    negative_prompt: Optional[str] = None
    styles: Optional[list[str]] = field(None, description="Style names (stored as prompt_styles).")
    seed: Optional[int] = int64(description="-1 picks a random seed when the task runs.")
    subseed: Optional[int] = int64()
    subseed_strength: Optional[float] = None
    seed_resize_from_h: Optional[int] = int64()
    seed_resize_from_w: Optional[int] = int64()
    sampler_name: Optional[str] = field(None, example="Euler a")
    sampler_index: Optional[str] = field(None, description="Old name of sampler_name.")
    scheduler: Optional[str] = None
    batch_size: Optional[int] = ranged("batch_size")
    n_iter: Optional[int] = ranged("n_iter", description="Batch count.")
    steps: Optional[int] = ranged("steps", example=20)
    cfg_scale: Optional[float] = None
    distilled_cfg_scale: Optional[float] = field(None, description="Forge and Forge Neo only.")
    width: Optional[int] = ranged("width", example=512)
    height: Optional[int] = ranged("height", example=512)
    restore_faces: Optional[bool] = None
    tiling: Optional[bool] = None
    do_not_save_samples: Optional[bool] = field(None, description="Ignored: queued results are always saved.")
    do_not_save_grid: Optional[bool] = None
    eta: Optional[float] = None
    denoising_strength: Optional[float] = None
    s_min_uncond: Optional[float] = None
    s_churn: Optional[float] = None
    s_tmax: Optional[float] = None
    s_tmin: Optional[float] = None
    s_noise: Optional[float] = None
    override_settings: Optional[dict[str, Any]] = field(
        None,
        description="WebUI option key -> value, for this task only.",
        example={"CLIP_stop_at_last_layers": 2},
    )
    override_settings_restore_afterwards: Optional[bool] = None
    refiner_checkpoint: Optional[str] = None
    refiner_switch_at: Optional[float] = None
    disable_extra_networks: Optional[bool] = None
    firstpass_image: Optional[str] = field(None, description="Base64 or data URL image.")
    # -- API-only fields --------------------------------------------------------------------
    script_name: Optional[str] = field(None, description="Title of a selectable script (X/Y/Z plot, ...).")
    script_args: Optional[list[Any]] = field(None, description="That script's control values, in order.")
    alwayson_scripts: Optional[dict[str, AlwaysOnScript]] = field(
        None, description="Script title -> {args: [...]} for always-on scripts (ControlNet, ADetailer, ...)."
    )
    send_images: Optional[bool] = field(None, description="Ignored: fetch results from the results routes.")
    save_images: Optional[bool] = field(None, description="Ignored: queued results are always saved.")
    force_task_id: Optional[str] = field(None, description="Ignored: the queue assigns ids.")
    infotext: Optional[str] = field(
        None, description="Not supported for queued tasks; send the fields instead."
    )
    # -- Task Scheduler ---------------------------------------------------------------------
    checkpoint: Optional[str] = field(
        None, description="Checkpoint name or title; matched when the task runs.", example="sd_xl_base_1.0"
    )
    vae: Optional[str] = field(None, description="VAE name (stored as override_settings.sd_vae).")
    name: Optional[str] = field(None, max_length=200, description="A name to find the task by.")
    position: Optional[Position] = field(None, description="Queue at the top or the bottom (default).")
    priority: Optional[int] = field(
        None, ge=PRIORITY_RANGE[0], le=PRIORITY_RANGE[1], description="Higher runs first; default 0."
    )
    callback_url: Optional[str] = field(
        None, max_length=2000, description="http(s) URL that gets a multipart POST when the task ends."
    )
    worker: Optional[str] = field(
        None, max_length=200, description="Run only on this worker (its id, from `GET /workers`)."
    )
    strict: Optional[bool] = field(
        None, description="Refuse the task for a warning too (an unknown LoRA, style, extension script)."
    )
    not_before: Optional[When] = field(
        None,
        description="Do not start before: ISO 8601 (no offset: the server's local time) or epoch seconds.",
        example="2026-12-05T01:00",
    )
    repeat: Optional[RepeatRequest] = field(
        None, description="Repeat: {times: N rounds in all (0: until stopped), keep_seeds}."
    )
    exact: Optional[bool] = field(
        None, description="Always run it alone, never in an auto-batch with similar tasks."
    )


@with_example({"prompt": "a cat wearing a hat", "steps": 20, "width": 512, "height": 512, "name": "cats"})
class Txt2ImgRequest(_GenerationRequest):
    enable_hr: Optional[bool] = None
    firstphase_width: Optional[int] = int64()
    firstphase_height: Optional[int] = int64()
    hr_scale: Optional[float] = None
    hr_upscaler: Optional[str] = None
    hr_second_pass_steps: Optional[int] = ranged("hr_second_pass_steps")
    hr_resize_x: Optional[int] = ranged("hr_resize_x")
    hr_resize_y: Optional[int] = ranged("hr_resize_y")
    hr_checkpoint_name: Optional[str] = None
    hr_additional_modules: Optional[list[str]] = field(None, description="Forge and Forge Neo only.")
    hr_sampler_name: Optional[str] = None
    hr_scheduler: Optional[str] = None
    hr_prompt: Optional[str] = None
    hr_negative_prompt: Optional[str] = None
    hr_cfg: Optional[float] = field(None, description="Forge and Forge Neo only.")
    hr_distilled_cfg: Optional[float] = field(None, description="Forge and Forge Neo only.")


@with_example(
    {
        "prompt": "a cat wearing a hat, oil painting",
        "init_images": ["data:image/png;base64,iVBORw0KGgo..."],
        "denoising_strength": 0.6,
    }
)
class Img2ImgRequest(_GenerationRequest):
    init_images: Optional[list[str]] = field(
        None, description="One image as base64 or a data URL (URLs and server paths only if allowed)."
    )
    mask: Optional[str] = field(
        None, description="Inpaint mask (base64 or data URL); makes it inpaint upload."
    )
    resize_mode: Optional[int] = ranged("resize_mode")
    image_cfg_scale: Optional[float] = None
    mask_blur_x: Optional[int] = int64()
    mask_blur_y: Optional[int] = int64()
    mask_blur: Optional[int] = int64()
    mask_round: Optional[bool] = None
    inpainting_fill: Optional[int] = ranged("inpainting_fill")
    inpaint_full_res: Optional[bool] = None
    inpaint_full_res_padding: Optional[int] = ranged("inpaint_full_res_padding")
    inpainting_mask_invert: Optional[int] = ranged("inpainting_mask_invert")
    initial_noise_multiplier: Optional[float] = None
    latent_mask: Optional[str] = field(None, description="Base64 or data URL image.")
    include_init_images: Optional[bool] = field(None, description="Ignored.")
    hr_distilled_cfg: Optional[float] = field(None, description="Forge and Forge Neo only.")


# -- task actions -------------------------------------------------------------------------------


@with_example({"name": "better cats", "params": {"steps": 30, "prompt": "a cat"}, "checkpoint": "v1-5"})
class TaskPatch(ApiModel):
    name: Optional[str] = field(None, max_length=200)
    checkpoint: Optional[str] = field(None, description="null clears it (the current checkpoint is used).")
    params: Optional[dict[str, Any]] = field(
        None, description="Stored parameter name -> value, merged; a null value removes the name."
    )
    script_args: Optional[dict[str, Optional[list[Any]]]] = field(
        None, description="Script title -> control values, merged; null removes the script's values."
    )
    worker: Optional[str] = field(
        None, max_length=200, description="Run only on this worker; an empty string lets any worker run it."
    )
    strict: Optional[bool] = field(None, description="Refuse the edit for a warning of the check too.")
    not_before: Optional[When] = field(None, description="Do not start before this time; null clears it.")
    repeat: Optional[RepeatRequest] = field(None, description="Repeat {times, keep_seeds}; null: run once.")
    exact: Optional[bool] = field(
        None, description="true: always run it alone; false: it may join an auto-batch."
    )


@with_example({"windows": "Mon-Fri 23:00-07:30; Sat,Sun 00:00-24:00", "unload_after_s": 300})
class ScheduleRequest(ApiModel):
    windows: Optional[str] = field(
        None, max_length=2000, description="When the queue runs; empty or null: always (README, Scheduling)."
    )
    timezone: Optional[str] = field(None, max_length=100, description="IANA zone; empty: the server's.")
    unload_after_s: Optional[float] = field(
        None, description="Unload the model this many seconds after the queue went idle; null: never."
    )
    worker: Optional[str] = field(None, max_length=200, description="A worker's id, for worker_windows.")
    worker_windows: Optional[str] = field(None, max_length=2000, description="That worker's own windows.")


@with_example({"before": "0f8fad5bd9cb469fa16570867728950e"})
class MoveRequest(ApiModel):
    to: Optional[Position] = None
    before: Optional[str] = field(None, max_length=64, description="Id of a pending task to go before.")
    after: Optional[str] = field(None, max_length=64, description="Id of a pending task to go after.")


BulkAction = Literal["delete", "top", "bottom", "requeue", "bookmark", "unbookmark"]


@with_example({"action": "top", "ids": ["0f8fad5bd9cb469fa16570867728950e", "7c9e6679742540de"]})
class BulkRequest(ApiModel):
    action: BulkAction = field(..., description="What to do with each task, in the order given.")
    ids: list[str] = field(..., description="Task ids (at most 1000).")


class RenameRequest(ApiModel):
    name: str = field(..., max_length=200, example="portraits, take 2")


class RequeueRequest(ApiModel):
    position: Optional[Position] = None


class ExportedTask(ApiModel):
    kind: Literal["txt2img", "img2img"]
    params: dict[str, Any]
    name: Optional[str] = field(None, max_length=200)
    script_args: Optional[dict[str, Any]] = None
    script_name: Optional[str] = None
    checkpoint: Optional[str] = None
    priority: Optional[int] = field(None, ge=PRIORITY_RANGE[0], le=PRIORITY_RANGE[1])
    callback_url: Optional[str] = field(None, max_length=2000)
    job_id: Optional[str] = field(None, max_length=200)
    files: Optional[dict[str, str]] = field(None, description="file reference -> data URL of its content")
    not_before: Optional[When] = field(None, description="Not started before this time.")
    repeat: Optional[RepeatRequest] = field(None, description="Repeat {times, keep_seeds}.")
    needs_webui: Optional[Literal["forge", "neo", "a1111"]] = field(
        None, description="The WebUI family whose argument names it holds; only its workers take it."
    )
    # informational, from the exporting install
    id: Optional[str] = None
    status: Optional[str] = None
    created_at: Optional[str] = None


class ImportRequest(ApiModel):
    tasks: list[ExportedTask]
    position: Optional[Position] = None


# -- responses (documentation; handlers return plain dicts) -----------------------------------


class ResultPublic(OpenModel):
    images: list[str] = field([], description="File names of the result images (fetch them by index).")
    infotexts: list[str] = []
    seeds: list[int] = []
    info: dict[str, Any] = {}


class TaskPublic(OpenModel):
    id: str
    kind: str
    status: str
    name: str
    params: dict[str, Any]
    script_args: dict[str, Any]
    script_name: Optional[str] = None
    checkpoint: Optional[str] = None
    source: str
    priority: int
    position: Optional[int] = field(None, description="1-based place in the run order while pending.")
    pinned: bool
    job_id: Optional[str] = None
    bookmarked: bool
    created_at: str
    updated_at: str
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    result: Optional[ResultPublic] = None
    error: Optional[str] = None
    warnings: list[str] = []
    attempts: int
    crashes: int = field(0, description="Runs that ended with their WebUI (or its worker) gone.")
    user: Optional[str] = None
    callback_url: Optional[str] = None
    requeued_from: Optional[str] = None
    worker: Optional[str] = field(None, description="The worker running it, or that ran it.")
    worker_pin: Optional[str] = field(None, description="The only worker that may run it.")
    needs_webui: Optional[str] = field(
        None,
        description="Captured by this WebUI family's Queue button (forge, neo, a1111): only its workers "
        "take it. None: any worker.",
    )
    batching: Optional[str] = field(
        None, description="'exact': always alone; 'repeat': one of a 'Queue N times with new seeds'."
    )
    batch_id: Optional[str] = field(
        None, description="Shared by the tasks that ran together as one WebUI batch (null: it ran alone)."
    )
    batch_size: Optional[int] = field(
        None, description="How many tasks its batch holds (in /queue's running and /history; null elsewhere)."
    )
    ran_with: Optional[list[str]] = field(
        None, description="The other tasks of its batch (in the one-task answer; null in lists)."
    )
    progress: Optional[dict[str, Any]] = None
    damaged: Optional[str] = field(
        None, description="Why the stored task cannot be shown (it is listed, never run); delete it."
    )
    not_before: Optional[str] = field(None, description="Not started before this time.")
    repeat: Optional[dict[str, Any]] = field(
        None, description="{times (0: until stopped), until_stopped, round, keep_seeds, stopped}."
    )
    repeat_series: Optional[str] = field(None, description="The first round's id, shared by every round.")
    round: int = field(1, description="Which round of a repetition (its own or its job's) this is.")


class TaskList(OpenModel):
    tasks: list[TaskPublic]


class QueueStats(OpenModel):
    finished: int = field(0, description="Tasks finished since the oldest waiting one was queued.")
    total: int = field(0, description="finished + running + pending.")
    eta_s: Optional[float] = field(None, description="Seconds left, from recent durations; null if unknown.")
    seconds_per_unit: Optional[float] = field(
        None, description="Recent pace: seconds per step of one 512x512 image."
    )
    seconds_per_task: Optional[float] = field(None, description="Recent fixed cost of one task, in seconds.")


class QueuePublic(OpenModel):
    running: list[TaskPublic]
    pending: list[TaskPublic]
    total_pending: int
    paused: bool
    revision: int
    stats: Optional[QueueStats] = None
    schedule: Optional[dict[str, Any]] = field(
        None, description="What the queue is doing and why, and when it next starts (README, Scheduling)."
    )


class BulkItem(OpenModel):
    id: str
    ok: bool
    status: Optional[str] = field(None, description="deleted / stopping / the task's status, when ok.")
    new_id: Optional[str] = field(None, description="The copy's id, for requeue.")
    error: Optional[str] = None


class BulkPublic(OpenModel):
    action: str
    results: list[BulkItem]


class InfotextPublic(OpenModel):
    task_id: str
    infotext: str
    source: Literal["result", "params"] = field(
        "params", description="result: the image's own infotext; params: written from the stored params."
    )


class HistoryPublic(OpenModel):
    tasks: list[TaskPublic]
    total: int
    limit: int
    offset: int


class ResultImage(OpenModel):
    index: int
    name: str
    image: Optional[str] = field(None, description="data URL; null when the file is gone")
    infotext: Optional[str] = None


class ResultsPublic(OpenModel):
    task_id: str
    status: str
    images: list[ResultImage]


class WaitPublic(OpenModel):
    revision: int
    changed: bool


class Message(OpenModel):
    message: str
