"""A catalog of a small WebUI and one task per kind of problem the checker knows (shared by tests).

``CASES`` has one entry per :data:`task_scheduler.checker.PROBLEM_KINDS` key (the tests assert
that), each a change of a good task that makes exactly that problem, with the field, the value
and the suggestion the user should see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from task_scheduler.catalog import Catalog

CHECKPOINTS = (
    "v1-5-pruned.safetensors [6ce0161689]",
    "sd_xl_base_1.0.safetensors [31e35c80fc]",
    "anime/cetus.safetensors",
)
CATALOG = Catalog(
    checkpoints=CHECKPOINTS,
    vaes=("vae-ft-mse.safetensors",),
    text_encoders=("clip_l.safetensors", "t5xxl_fp16.safetensors"),
    samplers=("Euler", "Euler a", "DPM++ 2M"),
    schedulers=("automatic", "Automatic", "karras", "Karras"),
    upscalers=("None", "Lanczos", "R-ESRGAN 4x+", "Latent"),
    styles=("cinematic",),
    scripts={
        "txt2img": ("X/Y/Z plot", "Prompts from file or textbox"),
        "img2img": ("X/Y/Z plot", "SD upscale"),
    },
    extension_scripts={
        "txt2img": ("Sampler", "Seed", "ControlNet", "X/Y/Z plot", "Prompts from file or textbox"),
        "img2img": ("Sampler", "Seed", "ControlNet", "X/Y/Z plot", "SD upscale"),
    },
    loras=("detail_tweaker_v2", "style"),
    hypernetworks=("anime_hn",),
    embeddings=("easynegative",),
    network_kinds=("lora", "hypernet"),
    version="test",
)


@dataclass
class Case:
    field: str
    value: Any
    suggestion: str | None
    params: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    script_name: str | None = None
    script_args: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "checkpoint": Case("checkpoint", "v1-5-prunned", CHECKPOINTS[0], checkpoint="v1-5-prunned"),
    "vae": Case(
        "override_settings.sd_vae",
        "vae-ft-mse.safetensor",
        "vae-ft-mse.safetensors",
        params={"override_settings": {"sd_vae": "vae-ft-mse.safetensor"}},
    ),
    "text_encoder": Case(
        "override_settings.forge_additional_modules",
        "clip_g.safetensors",
        "clip_l.safetensors",
        params={"override_settings": {"forge_additional_modules": ["clip_g.safetensors"]}},
    ),
    "sampler": Case("sampler_name", "Eulr a", "Euler a", params={"sampler_name": "Eulr a"}),
    "scheduler": Case("scheduler", "karas", "karras", params={"scheduler": "karas"}),
    "upscaler": Case(
        "hr_upscaler", "R-ESRGAN 4x", "R-ESRGAN 4x+", params={"enable_hr": True, "hr_upscaler": "R-ESRGAN 4x"}
    ),
    "script": Case("script_name", "X/Y/Z plots", "X/Y/Z plot", script_name="X/Y/Z plots"),
    "size": Case("width", 502, "504", params={"width": 502}),
    "denoising_strength": Case("denoising_strength", 1.5, None, params={"denoising_strength": 1.5}),
    "style": Case("prompt_styles", "cinematc", "cinematic", params={"prompt_styles": ["cinematc"]}),
    "extension_script": Case("script_args", "ADetailer", None, script_args={"ADetailer": [True, "face"]}),
    "network": Case(
        "prompt", "detail_tweeker", "detail_tweaker_v2", params={"prompt": "a cat <lora:detail_tweeker:0.8>"}
    ),
    "network_kind": Case("prompt", "<lyco:style>", "<lora:style>", params={"prompt": "a cat <lyco:style:1>"}),
    "embedding": Case(
        "negative_prompt", "easynegatve", "easynegative", params={"negative_prompt": "easynegatve"}
    ),
}

GOOD_PARAMS: dict[str, Any] = {
    "prompt": "a cat <lora:detail_tweaker_v2:0.8>",
    "negative_prompt": "easynegative, blurry",
    "steps": 2,
    "width": 64,
    "height": 64,
    "sampler_name": "Euler a",
    "scheduler": "Karras",
    "prompt_styles": ["cinematic"],
}


def case_task(case: Case, kind: str = "txt2img") -> dict[str, Any]:
    """NewTask keyword arguments of a good task changed as ``case`` says."""
    return {
        "kind": kind,
        "params": {**GOOD_PARAMS, **case.params},
        "checkpoint": case.checkpoint or CHECKPOINTS[0],
        "script_name": case.script_name,
        "script_args": dict(case.script_args),
    }
