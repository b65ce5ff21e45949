"""Follow-ups: take a job's images further as a new job ("img2img every kept image at 0.3,
0.45 and 0.6", "upscale every image of this job").

Each source image becomes one task per override value: an ``img2img`` task whose prompt, negative
prompt, seed, steps, sampler and CFG come from the image's own infotext (parsed here, without the
WebUI), on top of the source task's img2img-compatible settings, with the image itself as the init
image (stored in the FileStore, so deleting the source job's files cannot break the follow-up);
or an ``extras`` task for the WebUI's single-image upscale. The new job remembers its origin.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import InvalidTaskData
from .files import FileStore
from .jobs import Job, JobImage, Jobs
from .sweeps import DEFAULT_MAX_TASKS, parse_numbers
from .task import MAX_NAME_LENGTH, NewTask, Task, ensure_json

ACTIONS = ("img2img", "upscale")
DEFAULT_DENOISE = 0.5
DEFAULT_UPSCALER = "Lanczos"

# -- infotext ----------------------------------------------------------------------------------

_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@dataclass
class InfoText:
    prompt: str = ""
    negative_prompt: str = ""
    #: ``"Steps"`` -> ``"20"``, ``"Sampler"`` -> ``"Euler a"``, ... (quoted values unquoted)
    params: dict[str, str] = field(default_factory=dict)

    def get_int(self, key: str) -> int | None:
        try:
            return int(self.params[key])
        except (KeyError, ValueError):
            return None

    def get_float(self, key: str) -> float | None:
        try:
            return float(self.params[key])
        except (KeyError, ValueError):
            return None


def parse_infotext(text: str | None) -> InfoText:
    """Split a WebUI infotext into prompt, negative prompt and ``Key: value`` parameters.

    The same reading as the WebUI's ``parse_generation_parameters``: the last line holds the
    parameters when it has at least three ``Key: value`` pairs; lines after ``Negative prompt:``
    belong to the negative prompt.
    """
    info = InfoText()
    if not text or not text.strip():
        return info
    *lines, last = text.strip().split("\n")
    if len(_PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    negative = False
    prompt: list[str] = []
    negative_lines: list[str] = []
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if negative else prompt).append(line)
    info.prompt = "\n".join(prompt)
    info.negative_prompt = "\n".join(negative_lines)
    for key, value in _PARAM.findall(last):
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        info.params[key.strip()] = str(value)
    return info


# -- the follow-up spec --------------------------------------------------------------------------


@dataclass
class FollowUp:
    action: Literal["img2img", "upscale"] = "img2img"
    denoising_strength: list[float] = field(default_factory=lambda: [DEFAULT_DENOISE])
    #: img2img: multiplies the image's size (1.5, 2); upscale: the upscale factor
    scale: float | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    sampler_name: str | None = None
    scheduler: str | None = None
    checkpoint: str | None = None
    upscaler: str = DEFAULT_UPSCALER
    upscaler_2: str = "None"
    upscaler_2_visibility: float = 0.0
    #: further stored params merged into each task (``resize_mode``, ``override_settings``, ...)
    params: dict[str, Any] = field(default_factory=dict)


def parse_followup(raw: dict[str, Any], *, cap: int = DEFAULT_MAX_TASKS) -> FollowUp:
    """Validate the overrides; errors name the field."""
    action = raw.get("action", "img2img")
    if action not in ACTIONS:
        raise InvalidTaskData("action", "must be 'img2img' or 'upscale'")
    spec = FollowUp(action=action)
    if raw.get("denoising_strength") is not None:
        spec.denoising_strength = parse_numbers(raw["denoising_strength"], "denoising_strength", cap=cap)
        if any(v < 0 or v > 1 for v in spec.denoising_strength):
            raise InvalidTaskData("denoising_strength", "must be between 0 and 1")
    scale = raw.get("scale")
    if scale is not None:
        if isinstance(scale, str):
            scale = scale.strip().lower().lstrip("x×").strip()
        try:
            spec.scale = float(scale)
        except (TypeError, ValueError):
            raise InvalidTaskData("scale", f"{raw['scale']!r} is not a factor like 1.5 or 2") from None
        if not 0.05 <= spec.scale <= 16:
            raise InvalidTaskData("scale", "must be between 0.05 and 16")
    for name, low, high in (("width", 8, 65536), ("height", 8, 65536), ("steps", 1, 10000)):
        value = raw.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidTaskData(name, f"must be a whole number from {low} to {high}")
            setattr(spec, name, value)
    if raw.get("cfg_scale") is not None:
        value = raw["cfg_scale"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidTaskData("cfg_scale", "must be a number")
        spec.cfg_scale = float(value)
    for name in ("sampler_name", "scheduler", "checkpoint", "upscaler", "upscaler_2"):
        value = raw.get(name)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise InvalidTaskData(name, "must be a name")
            setattr(spec, name, value.strip())
    if raw.get("upscaler_2_visibility") is not None:
        value = raw["upscaler_2_visibility"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InvalidTaskData("upscaler_2_visibility", "must be between 0 and 1")
        spec.upscaler_2_visibility = float(value)
    params = raw.get("params")
    if params is not None:
        if not isinstance(params, dict):
            raise InvalidTaskData("params", "must be an object of stored parameters")
        ensure_json("params", params)
        spec.params = dict(params)
    return spec


# -- building ------------------------------------------------------------------------------------

#: settings of a source task that mean the same in img2img (txt2img-only and image fields are not)
_CARRIED = (
    "negative_prompt",
    "cfg_scale",
    "distilled_cfg_scale",
    "steps",
    "sampler_name",
    "scheduler",
    "seed",
    "subseed",
    "subseed_strength",
    "seed_resize_from_w",
    "seed_resize_from_h",
    "refiner_checkpoint",
    "refiner_switch_at",
    "override_settings",
    "image_cfg_scale",
)
_TXT2IMG_PROCESSING = ("firstphase_width", "firstphase_height", "firstpass_image", "latent_mask")


def _round8(value: float) -> int:
    return max(8, int(round(value / 8)) * 8)


def _image_tag(files: FileStore, image: JobImage, where: str) -> tuple[dict[str, Any], str]:
    from PIL import Image

    try:
        with Image.open(image.path) as source:
            source.load()
            picture = source if source.mode in ("RGB", "RGBA", "L") else source.convert("RGBA")
            out = io.BytesIO()
            picture.save(out, format="PNG")
            size = list(picture.size)
            mode = picture.mode
    except FileNotFoundError:
        raise InvalidTaskData(where, f"{image.name} is no longer on disk") from None
    except Exception as exc:
        raise InvalidTaskData(
            where, f"{image.name} cannot be read as an image ({type(exc).__name__})"
        ) from None
    ref = files.put(out.getvalue(), "png")
    return {"$image": ref, "mode": mode, "size": size}, ref


def _img2img_params(source: Task, image: JobImage, info: InfoText) -> dict[str, Any]:
    params = {k: source.params[k] for k in _CARRIED if k in source.params}
    processing = source.params.get("processing")
    if isinstance(processing, dict):
        kept = {
            k: v
            for k, v in processing.items()
            if k not in _TXT2IMG_PROCESSING and not (isinstance(v, dict) and "$image" in v)
        }
        if kept:
            params["processing"] = kept
    if info.prompt or info.params:
        params["prompt"] = info.prompt
        params["negative_prompt"] = info.negative_prompt
    else:  # no infotext: the task's own prompt, its styles still to apply
        params["prompt"] = source.prompt
        if source.params.get("prompt_styles"):
            params["prompt_styles"] = source.params["prompt_styles"]
    seed = info.get_int("Seed")
    if seed is None:
        seed = image.seed if image.seed is not None else params.get("seed")
    if seed is not None:
        params["seed"] = seed
    for key, name in (("Steps", "steps"), ("Variation seed", "subseed")):
        value = info.get_int(key)
        if value is not None:
            params[name] = value
    for key, name in (
        ("CFG scale", "cfg_scale"),
        ("Distilled CFG Scale", "distilled_cfg_scale"),
        ("Variation seed strength", "subseed_strength"),
    ):
        value = info.get_float(key)
        if value is not None:
            params[name] = value
    if info.params.get("Sampler"):
        params["sampler_name"] = info.params["Sampler"]
    if info.params.get("Schedule type"):
        params["scheduler"] = info.params["Schedule type"]
    clip_skip = info.get_int("Clip skip")
    if clip_skip is not None:
        params["override_settings"] = {
            **(params.get("override_settings") or {}),
            "CLIP_stop_at_last_layers": clip_skip,
        }
    return params


def build_followups(
    jobs: Jobs,
    files: FileStore,
    job_id: str,
    spec: FollowUp,
    *,
    images: list[tuple[str, int]] | None = None,
    cap: int = DEFAULT_MAX_TASKS,
    store_files: bool = True,
) -> tuple[list[NewTask], list[JobImage]]:
    """The follow-up tasks for the job's chosen images (all not discarded, when none are chosen).

    Grids and files no longer on disk are left out. With ``store_files=False`` (a preview), the
    init images are described but not written to the file store.
    """
    chosen = [
        image
        for image in jobs.select_images(job_id, images)
        if not image.grid and (image.exists or images is not None)
    ]
    if not chosen:
        raise InvalidTaskData(
            "images", "there is no image to take further (every image is discarded or gone)"
        )
    per_image = len(spec.denoising_strength) if spec.action == "img2img" else 1
    count = len(chosen) * per_image
    if count > cap:
        raise InvalidTaskData(
            "images", f"this follow-up would make {count:,} tasks, more than the limit of {cap:,}"
        )
    sources = {task.id: task for task in jobs.tasks(job_id)}
    out: list[NewTask] = []
    for number, image in enumerate(chosen):
        where = f"images.{number}"
        source = sources[image.task_id]
        if store_files:
            tag, ref = _image_tag(files, image, where)
        else:
            tag, ref = {"$image": None, "path": image.path}, None
        info = parse_infotext(image.infotext)
        checkpoint = spec.checkpoint or source.checkpoint or info.params.get("Model") or None
        refs = [ref] if ref else []
        if spec.action == "upscale":
            params = {
                "image": tag,
                "resize_mode": 0,
                "upscaling_resize": spec.scale or 2.0,
                "upscaler_1": spec.upscaler,
                "upscaler_2": spec.upscaler_2,
                "extras_upscaler_2_visibility": spec.upscaler_2_visibility,
                "gfpgan_visibility": 0,
                "codeformer_visibility": 0,
                "codeformer_weight": 0,
                "upscaling_crop": True,
                "upscale_first": False,
                **spec.params,
            }
            out.append(
                NewTask(
                    kind="extras",
                    params=params,
                    name=_name(f"upscale ×{spec.scale or 2.0:g}", image),
                    files=refs,
                    user=source.user,
                )
            )
            continue
        base = _img2img_params(source, image, info)
        width, height = _size_of(tag, image)
        factor = spec.scale or 1.0
        base.update(
            mode=0,
            init_img=tag,
            width=spec.width or _round8(width * factor),
            height=spec.height or _round8(height * factor),
            n_iter=1,
            batch_size=1,
            resize_mode=0,
        )
        for name in ("steps", "cfg_scale", "sampler_name", "scheduler"):
            if getattr(spec, name) is not None:
                base[name] = getattr(spec, name)
        base.update(spec.params)
        for strength in spec.denoising_strength:
            params = json.loads(json.dumps(base))
            params["init_img"] = tag
            params["denoising_strength"] = strength
            out.append(
                NewTask(
                    kind="img2img",
                    params=params,
                    name=_name(f"img2img denoise {strength:g}", image),
                    checkpoint=checkpoint,
                    files=list(refs),
                    user=source.user,
                )
            )
    return out, chosen


def _size_of(tag: dict[str, Any], image: JobImage) -> tuple[int, int]:
    if isinstance(tag.get("size"), list):
        return int(tag["size"][0]), int(tag["size"][1])
    from PIL import Image

    try:
        with Image.open(image.path) as picture:
            return picture.size
    except Exception:
        return 512, 512


def _name(what: str, image: JobImage) -> str:
    text = f"{what} · {Path(image.path).stem}"
    return text[:MAX_NAME_LENGTH]


def queue_followups(
    jobs: Jobs,
    files: FileStore,
    job_id: str,
    spec: FollowUp,
    *,
    images: list[tuple[str, int]] | None = None,
    name: str | None = None,
    at: Literal["top", "bottom"] = "bottom",
    cap: int = DEFAULT_MAX_TASKS,
    user: str | None = None,
) -> tuple[Job, list[Task]]:
    """Build and queue the follow-up job (all its tasks or none); it remembers its source."""
    source = jobs.get(job_id)
    news, chosen = build_followups(jobs, files, job_id, spec, images=images, cap=cap)
    what = "img2img" if spec.action == "img2img" else "upscale"
    origin = {
        "type": "followup",
        "action": spec.action,
        "source_job": job_id,
        "images": [{"task_id": i.task_id, "index": i.index} for i in chosen],
        "overrides": followup_overrides(spec),
    }
    title = name if name is not None else f"{source.name or 'job ' + job_id[:8]} → {what}"
    refs = sorted({ref for new in news for ref in new.files})
    try:
        return jobs.create(
            news,
            name=title[:MAX_NAME_LENGTH],
            at=at,
            origin=origin,
            source_job_id=job_id,
            user=user,
        )
    except BaseException:
        jobs.queue.forget_files(refs)
        raise


def followup_overrides(spec: FollowUp) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if spec.action == "img2img":
        data["denoising_strength"] = spec.denoising_strength
    else:
        data.update(upscaler=spec.upscaler, upscaler_2=spec.upscaler_2)
    for name in ("scale", "width", "height", "steps", "cfg_scale", "sampler_name", "scheduler", "checkpoint"):
        value = getattr(spec, name)
        if value is not None:
            data[name] = value
    if spec.params:
        data["params"] = spec.params
    return data


__all__ = [
    "ACTIONS",
    "FollowUp",
    "InfoText",
    "build_followups",
    "parse_followup",
    "parse_infotext",
    "queue_followups",
]
