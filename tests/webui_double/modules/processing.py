"""Processing objects and a fake ``process_images``, as ``modules.processing``.

The dataclasses have exactly the init fields of the active flavour (unknown kwargs → TypeError).
``process_images`` does what the WebUI does around sampling (scripts' hooks, override settings,
model (re)loading, state/job counters, interrupt/skip/stop handling, infotexts, saving, grids) but
"samples" by sleeping ``step_delay`` per step and returns solid-colour PIL images whose colour is a
function of (seed, prompt, width, height, checkpoint name).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from modules import (
    devices,
    images,
    infotext_utils,
    script_callbacks,
    scripts,
    sd_models,
    sd_samplers,
    sd_vae,
    shared,
    sysinfo,
)
from PIL import Image

from webui_double import shim_config

FORGE = shim_config.current.is_forge

opt_C = 4
opt_f = 8

if FORGE:
    need_global_unload = False


def program_version() -> str:
    return shim_config.current.version


def get_fixed_seed(seed):
    if seed == "" or seed is None:
        seed = -1
    elif isinstance(seed, str):
        try:
            seed = int(seed)
        except ValueError:
            seed = random.randrange(4294967294)
    if seed == -1:
        return int(random.randrange(4294967294))
    return seed


def fix_seed(p) -> None:
    p.seed = get_fixed_seed(p.seed)
    p.subseed = get_fixed_seed(p.subseed)


@dataclass(repr=False)
class StableDiffusionProcessing:
    sd_model: object = None
    outpath_samples: str = None
    outpath_grids: str = None
    prompt: str = ""
    prompt_for_display: str = None
    negative_prompt: str = ""
    styles: list[str] = None
    seed: int = -1
    subseed: int = -1
    subseed_strength: float = 0
    seed_resize_from_h: int = -1
    seed_resize_from_w: int = -1
    seed_enable_extras: bool = True
    sampler_name: str = None
    scheduler: str = None
    batch_size: int = 1
    n_iter: int = 1
    steps: int = 50
    cfg_scale: float = 7.0
    if FORGE:
        distilled_cfg_scale: float = 3.5
    width: int = 512
    height: int = 512
    restore_faces: bool = None
    tiling: bool = None
    do_not_save_samples: bool = False
    do_not_save_grid: bool = False
    extra_generation_params: dict[str, Any] = None
    overlay_images: list = None
    eta: float = None
    do_not_reload_embeddings: bool = False
    denoising_strength: float = None
    ddim_discretize: str = None
    s_min_uncond: float = None
    s_churn: float = None
    s_tmax: float = None
    s_tmin: float = None
    s_noise: float = None
    override_settings: dict[str, Any] = None
    override_settings_restore_afterwards: bool = True
    sampler_index: int = None
    refiner_checkpoint: str = None
    refiner_switch_at: float = None
    disable_extra_networks: bool = False
    firstpass_image: Any = None

    token_merging_ratio = 0
    token_merging_ratio_hr = 0

    scripts_value: Any = field(default=None, init=False)
    script_args_value: Any = field(default=None, init=False)
    scripts_setup_complete: bool = field(default=False, init=False)
    comments: dict = field(default=None, init=False)
    sampler: Any = field(default=None, init=False)
    is_using_inpainting_conditioning: bool = field(default=False, init=False)
    is_hr_pass: bool = field(default=False, init=False)
    all_prompts: list = field(default=None, init=False)
    all_negative_prompts: list = field(default=None, init=False)
    all_seeds: list = field(default=None, init=False)
    all_subseeds: list = field(default=None, init=False)
    iteration: int = field(default=0, init=False)
    main_prompt: str = field(default=None, init=False)
    main_negative_prompt: str = field(default=None, init=False)
    prompts: list = field(default=None, init=False)
    negative_prompts: list = field(default=None, init=False)
    seeds: list = field(default=None, init=False)
    subseeds: list = field(default=None, init=False)
    batch_index: int = field(default=0, init=False)
    extra_network_data: dict = field(default=None, init=False)
    user: str = field(default=None, init=False)
    sd_model_name: str = field(default=None, init=False)
    sd_model_hash: str = field(default=None, init=False)
    sd_vae_name: str = field(default=None, init=False)
    sd_vae_hash: str = field(default=None, init=False)
    is_api: bool = field(default=False, init=False)

    def __post_init__(self):
        if self.sampler_index is not None:
            print(
                "sampler_index argument for StableDiffusionProcessing does not do anything; use sampler_name"
            )
        self.comments = {}
        if self.styles is None:
            self.styles = []
        self.extra_generation_params = self.extra_generation_params or {}
        self.override_settings = self.override_settings or {}
        self.extra_network_data = {}
        if not self.seed_enable_extras:
            self.subseed = -1
            self.subseed_strength = 0
            self.seed_resize_from_h = 0
            self.seed_resize_from_w = 0

    @property
    def sd_model(self):  # noqa: F811 - replaces the field's default, as in the WebUI
        return shared.sd_model

    @sd_model.setter
    def sd_model(self, value):
        pass

    @property
    def scripts(self):
        return self.scripts_value

    @scripts.setter
    def scripts(self, value):
        self.scripts_value = value
        if self.scripts_value and self.script_args_value and not self.scripts_setup_complete:
            self.setup_scripts()

    @property
    def script_args(self):
        return self.script_args_value

    @script_args.setter
    def script_args(self, value):
        self.script_args_value = value
        if self.scripts_value and self.script_args_value and not self.scripts_setup_complete:
            self.setup_scripts()

    def setup_scripts(self) -> None:
        self.scripts_setup_complete = True
        self.scripts.setup_scrips(self, is_ui=not self.is_api)

    def comment(self, text) -> None:
        self.comments[text] = 1

    def save_samples(self, *, is_video: bool = False) -> bool:
        """Neo: a video's frames are saved as images only with ``video_save_frames``."""
        state = shared.state
        return (
            shared.opts.samples_save
            and not self.do_not_save_samples
            and (shared.opts.save_incomplete_images or not state.interrupted and not state.skipped)
            and not (is_video and not getattr(shared.opts, "video_save_frames", False))
        )

    def setup_prompts(self) -> None:
        if isinstance(self.prompt, list):
            self.all_prompts = self.prompt
        elif isinstance(self.negative_prompt, list):
            self.all_prompts = [self.prompt] * len(self.negative_prompt)
        else:
            self.all_prompts = self.batch_size * self.n_iter * [self.prompt]
        if isinstance(self.negative_prompt, list):
            self.all_negative_prompts = self.negative_prompt
        else:
            self.all_negative_prompts = [self.negative_prompt] * len(self.all_prompts)
        if len(self.all_prompts) != len(self.all_negative_prompts):
            raise RuntimeError(
                f"Received a different number of prompts ({len(self.all_prompts)}) "
                f"and negative prompts ({len(self.all_negative_prompts)})"
            )
        self.all_prompts = [
            shared.prompt_styles.apply_styles_to_prompt(x, self.styles) for x in self.all_prompts
        ]
        self.all_negative_prompts = [
            shared.prompt_styles.apply_negative_styles_to_prompt(x, self.styles)
            for x in self.all_negative_prompts
        ]
        self.main_prompt = self.all_prompts[0]
        self.main_negative_prompt = self.all_negative_prompts[0]

    def get_token_merging_ratio(self, for_hr=False):
        return self.token_merging_ratio

    def close(self) -> None:
        self.sampler = None

    def _shim_init(self) -> None:
        """Per-class preparation before the batch loop (job counts, infotext params)."""


@dataclass(repr=False)
class StableDiffusionProcessingTxt2Img(StableDiffusionProcessing):
    enable_hr: bool = False
    denoising_strength: float = 0.75
    firstphase_width: int = 0
    firstphase_height: int = 0
    hr_scale: float = 2.0
    hr_upscaler: str = None
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_checkpoint_name: str = None
    if FORGE:
        hr_additional_modules: list = None
    hr_sampler_name: str = None
    hr_scheduler: str = None
    hr_prompt: str = ""
    hr_negative_prompt: str = ""
    if FORGE:
        hr_cfg: float = 1.0
        hr_distilled_cfg: float = 3.5
    force_task_id: str = None

    hr_upscale_to_x: int = field(default=0, init=False)
    hr_upscale_to_y: int = field(default=0, init=False)

    def calculate_target_resolution(self) -> None:
        if self.hr_resize_x == 0 and self.hr_resize_y == 0:
            self.extra_generation_params["Hires upscale"] = self.hr_scale
            self.hr_upscale_to_x = int(self.width * self.hr_scale)
            self.hr_upscale_to_y = int(self.height * self.hr_scale)
        else:
            self.extra_generation_params["Hires resize"] = f"{self.hr_resize_x}x{self.hr_resize_y}"
            if self.hr_resize_y == 0:
                self.hr_upscale_to_x = self.hr_resize_x
                self.hr_upscale_to_y = self.hr_resize_x * self.height // self.width
            elif self.hr_resize_x == 0:
                self.hr_upscale_to_x = self.hr_resize_y * self.width // self.height
                self.hr_upscale_to_y = self.hr_resize_y
            else:
                self.hr_upscale_to_x = self.hr_resize_x
                self.hr_upscale_to_y = self.hr_resize_y

    def _shim_init(self) -> None:
        if not self.enable_hr:
            return
        self.calculate_target_resolution()
        if self.hr_second_pass_steps:
            self.extra_generation_params["Hires steps"] = self.hr_second_pass_steps
        if self.hr_upscaler is not None:
            self.extra_generation_params["Hires upscaler"] = self.hr_upscaler
        state = shared.state
        if not state.processing_has_refined_job_count:
            if state.job_count == -1:
                state.job_count = self.n_iter
            state.job_count = state.job_count * 2
            state.processing_has_refined_job_count = True


@dataclass(repr=False)
class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    init_images: list = None
    resize_mode: int = 0
    denoising_strength: float = 0.75
    image_cfg_scale: float = None
    mask: Any = None
    mask_blur_x: int = 4
    mask_blur_y: int = 4
    mask_blur: int = None
    mask_round: bool = True
    inpainting_fill: int = 0
    inpaint_full_res: bool = True
    inpaint_full_res_padding: int = 0
    inpainting_mask_invert: int = 0
    initial_noise_multiplier: float = None
    latent_mask: Any = None
    force_task_id: str = None
    if FORGE:
        hr_distilled_cfg: float = 3.5

    image_mask: Any = field(default=None, init=False)

    def __post_init__(self):
        super().__post_init__()
        self.image_mask = self.mask
        self.mask = None
        self.initial_noise_multiplier = (
            1.0 if self.initial_noise_multiplier is None else self.initial_noise_multiplier
        )

    @property
    def mask_blur(self):  # noqa: F811 - replaces the field's default, as in the WebUI
        if self.mask_blur_x == self.mask_blur_y:
            return self.mask_blur_x
        return None

    @mask_blur.setter
    def mask_blur(self, value):
        if isinstance(value, int):
            self.mask_blur_x = value
            self.mask_blur_y = value

    def _shim_init(self) -> None:
        if not self.init_images or self.init_images[0] is None:
            raise ValueError("img2img needs an init image")
        if self.image_mask is not None:
            self.extra_generation_params["Mask blur"] = self.mask_blur


def _processed_init(
    self,
    p,
    images_list,
    seed,
    info,
    subseed,
    all_prompts,
    all_negative_prompts,
    all_seeds,
    all_subseeds,
    index_of_first_image,
    infotexts,
    comments,
):
    self.images = images_list
    if shim_config.current.is_neo:
        self.video_path = None  # Neo: set by process_images when a video model made a video
    self.prompt = p.prompt
    self.negative_prompt = p.negative_prompt
    self.seed = seed
    self.subseed = subseed
    self.subseed_strength = p.subseed_strength
    self.info = info
    self.comments = "".join(f"{comment}\n" for comment in p.comments) if p.comments else comments
    self.width = p.width
    self.height = p.height
    self.sampler_name = p.sampler_name
    self.cfg_scale = p.cfg_scale
    self.image_cfg_scale = getattr(p, "image_cfg_scale", None)
    self.steps = p.steps
    self.batch_size = p.batch_size
    self.restore_faces = p.restore_faces
    self.face_restoration_model = shared.opts.face_restoration_model if p.restore_faces else None
    self.sd_model_name = p.sd_model_name
    self.sd_model_hash = p.sd_model_hash
    self.sd_vae_name = p.sd_vae_name
    self.sd_vae_hash = p.sd_vae_hash
    self.seed_resize_from_w = p.seed_resize_from_w
    self.seed_resize_from_h = p.seed_resize_from_h
    self.denoising_strength = getattr(p, "denoising_strength", None)
    self.extra_generation_params = p.extra_generation_params
    self.index_of_first_image = index_of_first_image
    self.styles = p.styles
    self.job_timestamp = shared.state.job_timestamp
    self.clip_skip = shared.opts.CLIP_stop_at_last_layers
    self.token_merging_ratio = p.token_merging_ratio
    self.token_merging_ratio_hr = p.token_merging_ratio_hr
    self.eta = p.eta
    self.ddim_discretize = p.ddim_discretize
    self.s_churn = p.s_churn
    self.s_tmin = p.s_tmin
    self.s_tmax = p.s_tmax
    self.s_noise = p.s_noise
    self.s_min_uncond = p.s_min_uncond
    self.sampler_noise_scheduler_override = None
    self.prompt = self.prompt if not isinstance(self.prompt, list) else self.prompt[0]
    self.negative_prompt = (
        self.negative_prompt if not isinstance(self.negative_prompt, list) else self.negative_prompt[0]
    )
    self.seed = (
        int(self.seed if not isinstance(self.seed, list) else self.seed[0]) if self.seed is not None else -1
    )
    self.subseed = (
        int(self.subseed if not isinstance(self.subseed, list) else self.subseed[0])
        if self.subseed is not None
        else -1
    )
    self.is_using_inpainting_conditioning = p.is_using_inpainting_conditioning
    self.all_prompts = all_prompts or p.all_prompts or [self.prompt]
    self.all_negative_prompts = all_negative_prompts or p.all_negative_prompts or [self.negative_prompt]
    self.all_seeds = all_seeds or p.all_seeds or [self.seed]
    self.all_subseeds = all_subseeds or p.all_subseeds or [self.subseed]
    self.infotexts = infotexts or [info] * len(images_list)
    self.version = program_version()


class Processed:
    if FORGE:

        def __init__(
            self,
            p,
            images_list,
            seed=-1,
            info="",
            subseed=None,
            all_prompts=None,
            all_negative_prompts=None,
            all_seeds=None,
            all_subseeds=None,
            index_of_first_image=0,
            infotexts=None,
            comments="",
            extra_images_list=[],  # noqa: B006 - WebUI signature
        ):
            _processed_init(
                self,
                p,
                images_list,
                seed,
                info,
                subseed,
                all_prompts,
                all_negative_prompts,
                all_seeds,
                all_subseeds,
                index_of_first_image,
                infotexts,
                comments,
            )
            self.extra_images = extra_images_list
    else:

        def __init__(
            self,
            p,
            images_list,
            seed=-1,
            info="",
            subseed=None,
            all_prompts=None,
            all_negative_prompts=None,
            all_seeds=None,
            all_subseeds=None,
            index_of_first_image=0,
            infotexts=None,
            comments="",
        ):
            _processed_init(
                self,
                p,
                images_list,
                seed,
                info,
                subseed,
                all_prompts,
                all_negative_prompts,
                all_seeds,
                all_subseeds,
                index_of_first_image,
                infotexts,
                comments,
            )

    def js(self) -> str:
        obj = {
            "prompt": self.all_prompts[0],
            "all_prompts": self.all_prompts,
            "negative_prompt": self.all_negative_prompts[0],
            "all_negative_prompts": self.all_negative_prompts,
            "seed": self.seed,
            "all_seeds": self.all_seeds,
            "subseed": self.subseed,
            "all_subseeds": self.all_subseeds,
            "subseed_strength": self.subseed_strength,
            "width": self.width,
            "height": self.height,
            "sampler_name": self.sampler_name,
            "cfg_scale": self.cfg_scale,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "restore_faces": self.restore_faces,
            "face_restoration_model": self.face_restoration_model,
            "sd_model_name": self.sd_model_name,
            "sd_model_hash": self.sd_model_hash,
            "sd_vae_name": self.sd_vae_name,
            "sd_vae_hash": self.sd_vae_hash,
            "seed_resize_from_w": self.seed_resize_from_w,
            "seed_resize_from_h": self.seed_resize_from_h,
            "denoising_strength": self.denoising_strength,
            "extra_generation_params": self.extra_generation_params,
            "index_of_first_image": self.index_of_first_image,
            "infotexts": self.infotexts,
            "styles": self.styles,
            "job_timestamp": self.job_timestamp,
            "clip_skip": self.clip_skip,
            "is_using_inpainting_conditioning": self.is_using_inpainting_conditioning,
            "version": self.version,
        }
        return json.dumps(obj, default=lambda o: None)

    def infotext(self, p, index) -> str:
        return create_infotext(
            p,
            self.all_prompts,
            self.all_seeds,
            self.all_subseeds,
            comments=[],
            position_in_batch=index % self.batch_size,
            iteration=index // self.batch_size,
        )

    def get_token_merging_ratio(self, for_hr=False):
        return self.token_merging_ratio_hr if for_hr else self.token_merging_ratio


def create_infotext(
    p,
    all_prompts,
    all_seeds,
    all_subseeds,
    comments=None,
    iteration=0,
    position_in_batch=0,
    use_main_prompt=False,
    index=None,
    all_negative_prompts=None,
) -> str:
    """The WebUI infotext: prompt, ``Negative prompt: …`` line, then ``Key: value, …``."""
    if index is None:
        index = position_in_batch + iteration * p.batch_size
    if all_negative_prompts is None:
        all_negative_prompts = p.all_negative_prompts
    opts = shared.opts
    clip_skip = getattr(p, "clip_skip", opts.CLIP_stop_at_last_layers)
    seed_resize = None
    if p.seed_resize_from_w > 0 and p.seed_resize_from_h > 0:
        seed_resize = f"{p.seed_resize_from_w}x{p.seed_resize_from_h}"

    generation_params = {
        "Steps": p.steps,
        "Sampler": p.sampler_name,
        "Schedule type": p.scheduler,
        "CFG scale": p.cfg_scale,
        "Image CFG scale": getattr(p, "image_cfg_scale", None),
        "Seed": p.all_seeds[0] if use_main_prompt else all_seeds[index],
        "Face restoration": opts.face_restoration_model if p.restore_faces else None,
        "Size": f"{p.width}x{p.height}",
        "Model hash": p.sd_model_hash if opts.add_model_hash_to_info else None,
        "Model": p.sd_model_name if opts.add_model_name_to_info else None,
        "VAE": p.sd_vae_name,
        "Variation seed": None
        if p.subseed_strength == 0
        else (p.all_subseeds[0] if use_main_prompt else all_subseeds[index]),
        "Variation seed strength": None if p.subseed_strength == 0 else p.subseed_strength,
        "Seed resize from": seed_resize,
        "Denoising strength": getattr(p, "denoising_strength", None),
        "Clip skip": None if clip_skip <= 1 else clip_skip,
        "ENSD": opts.eta_noise_seed_delta if opts.eta_noise_seed_delta != 0 else None,
        "Tiling": "True" if p.tiling else None,
        **p.extra_generation_params,
        "Version": program_version() if opts.add_version_to_infotext else None,
        "User": p.user if opts.add_user_name_to_info else None,
    }
    params_text = ", ".join(
        k if k == v else f"{k}: {infotext_utils.quote(v)}"
        for k, v in generation_params.items()
        if v is not None
    )
    prompt_text = p.main_prompt if use_main_prompt else all_prompts[index]
    negative_prompt = p.main_negative_prompt if use_main_prompt else all_negative_prompts[index]
    negative_text = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt_text}{negative_text}\n{params_text}".strip()


def _apply_overrides(p) -> None:
    overrides = p.override_settings
    if FORGE:
        global need_global_unload
        if sd_models.checkpoint_aliases.get(overrides.get("sd_model_checkpoint")) is None:
            overrides.pop("sd_model_checkpoint", None)
        else:
            need_global_unload = True
        sysinfo.set_config(overrides, is_api=True, run_callbacks=False, save_config=False)
        return
    if sd_models.checkpoint_aliases.get(overrides.get("sd_model_checkpoint")) is None:
        overrides.pop("sd_model_checkpoint", None)
        sd_models.reload_model_weights()
    for k, v in overrides.items():
        shared.opts.set(k, v, is_api=True, run_callbacks=False)
        if k == "sd_model_checkpoint":
            sd_models.reload_model_weights()
        if k == "sd_vae":
            sd_vae.reload_vae_weights()


def _restore_overrides(stored_opts: dict) -> None:
    if FORGE:
        sysinfo.set_config(stored_opts, save_config=False)
        return
    for k, v in stored_opts.items():
        setattr(shared.opts, k, v)
        if k == "sd_vae":
            sd_vae.reload_vae_weights()


def process_images(p: StableDiffusionProcessing) -> Processed:
    """Run ``p``: overrides applied (and restored), model (re)loaded, batches "sampled"."""
    if p.scripts is not None:
        p.scripts.before_process(p)

    stored_opts = {k: shared.opts.data[k] for k in p.override_settings if k in shared.opts.data}
    try:
        _apply_overrides(p)
        if FORGE:
            sd_models.forge_model_reload()
        res = process_images_inner(p)
    finally:
        if p.override_settings_restore_afterwards:
            _restore_overrides(stored_opts)
    return res


def _shim_video_frames(p) -> bool:
    """Neo with a Wan model loaded (``env.set_video_output(True)``): the batch size is the
    video's length in frames, rounded down to 4k + 1, all from the first seed's noise; a run of
    more than one frame is a video (Neo's ``process_images_inner``: ``_times``). A list of
    prompts and seeds meant as a batch of images makes one frame, of the first."""
    if not (shim_config.current.is_neo and shim_config.current.video_output):
        return False
    times = (getattr(p, "batch_size", 1) - 1) // 4 + 1
    p.batch_size = (times - 1) * 4 + 1
    if times > 1:
        p.do_not_save_grid = True
    return times > 1


def _shim_save_video(p, infotext: str) -> str | None:
    """Neo, a Wan model's run of several frames (:func:`_shim_video_frames`): the frames become
    a video file (``outputs/videos/NNNNN-<seed>.mp4``, fake bytes)."""
    folder = os.path.join(str(shim_config.current.root), "outputs", "videos")
    os.makedirs(folder, exist_ok=True)
    number = len([n for n in os.listdir(folder) if n.endswith(".mp4")])
    path = os.path.join(folder, f"{number:05}-{p.all_seeds[0]}.mp4")
    with open(path, "wb") as handle:
        handle.write(b"fake mp4 " + infotext.encode())
    return path


def _shim_checkpoint_name() -> str | None:
    info = getattr(shared.sd_model, "sd_checkpoint_info", None)
    return info.name if info is not None else None


class OutOfMemoryError(RuntimeError):
    """torch's ``torch.OutOfMemoryError`` (a ``RuntimeError``), as a too large batch raises it."""


def _shim_fake_sampling(p, steps: int) -> bool:
    """Pretend to sample ``steps`` steps; False when interrupted/skipped part-way."""
    state = shared.state
    cfg = shim_config.current
    if cfg.max_batch is not None and len(p.prompts) > cfg.max_batch:
        raise OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {len(p.prompts) * 512} MiB "
            f"(a batch of {len(p.prompts)}; this device holds {cfg.max_batch})"
        )
    state.sampling_steps = steps
    state.sampling_step = 0
    for i in range(steps):
        if state.interrupted or state.skipped:
            return False
        if cfg.fail_exc is not None and cfg.fail_step == i:
            exc = cfg.fail_exc
            if cfg.fail_once:
                cfg.fail_exc = None
                cfg.fail_step = None
            raise exc
        state.sampling_step = i
        script_callbacks.cfg_denoiser_callback(
            script_callbacks.CFGDenoiserParams(None, None, None, i, steps, p.prompts, p.negative_prompts)
        )
        if cfg.step_delay:
            time.sleep(cfg.step_delay)
        shared.total_tqdm.update()
        if shared.opts.live_previews_enable:
            state.assign_current_image(Image.new("RGB", (8, 8), (i * 16 % 256, 0, 0)))
    return True


def _shim_image(p, seed, prompt, width, height, complete: bool) -> Image.Image:
    key = f"{seed}|{prompt}|{width}|{height}|{_shim_checkpoint_name()}"
    init_images = getattr(p, "init_images", None)
    if init_images and init_images[0] is not None:
        key += "|" + hashlib.sha256(init_images[0].tobytes()).hexdigest()
    if not complete:
        key += "|incomplete"
    digest = hashlib.sha256(key.encode("utf8")).digest()
    if FORGE:
        return Image.new("RGBA", (width, height), (digest[0], digest[1], digest[2], 255))
    return Image.new("RGB", (width, height), (digest[0], digest[1], digest[2]))


def _shim_autocorrect_sampler(p) -> None:
    if p.sampler_name in sd_samplers.all_samplers_map:
        return
    if not FORGE and p.sampler_name is not None:
        raise AssertionError(f"bad sampler name: {p.sampler_name}")
    name, scheduler = sd_samplers.get_sampler_and_scheduler(
        p.sampler_name, p.scheduler, convert_automatic=False
    )
    config = sd_samplers.all_samplers_map[name]
    if scheduler == "Automatic" and config.options.get("scheduler"):
        from modules import sd_schedulers

        scheduler = sd_schedulers.schedulers_map[config.options["scheduler"]].label
    print(
        f'Sampler Scheduler autocorrection: "{p.sampler_name}" -> "{name}", "{p.scheduler}" -> "{scheduler}"'
    )
    p.sampler_name = name
    p.scheduler = scheduler


def process_images_inner(p: StableDiffusionProcessing) -> Processed:
    state = shared.state
    opts = shared.opts
    is_video = _shim_video_frames(p)
    if isinstance(p.prompt, list):
        assert len(p.prompt) > 0
    else:
        assert p.prompt is not None
    devices.torch_gc()

    seed = get_fixed_seed(p.seed)
    subseed = get_fixed_seed(p.subseed)
    _shim_autocorrect_sampler(p)
    p.setup_prompts()
    if isinstance(seed, list):
        p.all_seeds = seed
    else:
        p.all_seeds = [int(seed) + (x if p.subseed_strength == 0 else 0) for x in range(len(p.all_prompts))]
    if isinstance(subseed, list):
        p.all_subseeds = subseed
    else:
        p.all_subseeds = [int(subseed) + x for x in range(len(p.all_prompts))]

    if p.scripts is not None:
        p.scripts.process(p)

    model = shared.sd_model
    if FORGE:  # sampling puts the model on the GPU (Forge's memory management)
        from backend import memory_management

        memory_management.load_models_gpu([model])
    elif getattr(model, "device", shared.device) != shared.device:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0!"
        )
    info = model.sd_checkpoint_info
    p.sd_model_name = info.name_for_extra
    p.sd_model_hash = model.sd_model_hash
    p.sd_vae_name = sd_vae.get_filename(sd_vae.loaded_vae_file) if sd_vae.loaded_vae_file else None

    infotexts: list[str] = []
    output_images: list = []

    def infotext(index=0, use_main_prompt=False):
        return create_infotext(
            p,
            p.prompts,
            p.seeds,
            p.subseeds,
            use_main_prompt=use_main_prompt,
            index=index,
            all_negative_prompts=p.negative_prompts,
        )

    p._shim_init()
    if state.job_count == -1:
        state.job_count = p.n_iter

    for n in range(p.n_iter):
        p.iteration = n
        if state.skipped:
            state.skipped = False
        if state.interrupted or state.stopping_generation:
            break

        p.prompts = p.all_prompts[n * p.batch_size : (n + 1) * p.batch_size]
        p.negative_prompts = p.all_negative_prompts[n * p.batch_size : (n + 1) * p.batch_size]
        p.seeds = p.all_seeds[n * p.batch_size : (n + 1) * p.batch_size]
        p.subseeds = p.all_subseeds[n * p.batch_size : (n + 1) * p.batch_size]
        batch_kwargs = {"batch_number": n, "prompts": p.prompts, "seeds": p.seeds, "subseeds": p.subseeds}
        if p.scripts is not None:
            p.scripts.before_process_batch(p, **batch_kwargs)
        if len(p.prompts) == 0:
            break
        if p.n_iter > 1:
            state.job = f"Batch {n + 1} out of {p.n_iter}"
        if p.scripts is not None:
            p.scripts.process_batch(p, **batch_kwargs)
            if FORGE:
                p.scripts.process_before_every_sampling(p, **batch_kwargs)

        width, height = p.width, p.height
        complete = _shim_fake_sampling(p, p.steps)
        if complete and getattr(p, "enable_hr", False):
            state.nextjob()
            if p.scripts is not None:
                p.scripts.before_hr(p)
            p.is_hr_pass = True
            complete = _shim_fake_sampling(p, p.hr_second_pass_steps or p.steps)
            p.is_hr_pass = False
            width, height = p.hr_upscale_to_x, p.hr_upscale_to_y

        batch_images = [
            _shim_image(p, p.seeds[i], p.prompts[i], width, height, complete) for i in range(len(p.prompts))
        ]
        if p.scripts is not None:
            p.scripts.postprocess_batch(p, images=batch_images, batch_number=n)
            ppba = scripts.PostprocessBatchListArgs(list(batch_images))
            p.scripts.postprocess_batch_list(p, ppba, batch_number=n)
            batch_images = ppba.images

        save_samples = p.save_samples(is_video=is_video)
        for i, image in enumerate(batch_images):
            p.batch_index = i
            if p.scripts is not None:
                pp = scripts.PostprocessImageArgs(image)
                p.scripts.postprocess_image(p, pp)
                image = pp.image
            text = infotext(i)
            infotexts.append(text)
            if opts.enable_pnginfo:
                image.info["parameters"] = text
            output_images.append(image)
            if save_samples:
                images.save_image(
                    image,
                    p.outpath_samples,
                    "",
                    p.seeds[i],
                    p.prompts[i],
                    opts.samples_format,
                    info=text,
                    p=p,
                )
        state.nextjob()

    index_of_first_image = 0
    unwanted_grid = len(output_images) < 2 and opts.grid_only_if_multiple
    if (opts.return_grid or opts.grid_save) and not p.do_not_save_grid and not unwanted_grid:
        grid = images.image_grid(output_images, p.batch_size)
        text = infotext(use_main_prompt=True)
        if opts.return_grid:
            infotexts.insert(0, text)
            if opts.enable_pnginfo:
                grid.info["parameters"] = text
            output_images.insert(0, grid)
            index_of_first_image = 1
        if opts.grid_save:
            images.save_image(
                grid,
                p.outpath_grids,
                "grid",
                p.all_seeds[0],
                p.all_prompts[0],
                opts.grid_format,
                info=text,
                short_filename=not opts.grid_extended_filename,
                p=p,
                grid=True,
            )

    devices.torch_gc()
    res = Processed(
        p,
        images_list=output_images,
        seed=p.all_seeds[0],
        info=infotexts[0] if infotexts else "",
        subseed=p.all_subseeds[0],
        index_of_first_image=index_of_first_image,
        infotexts=infotexts,
    )
    if is_video:
        res.video_path = _shim_save_video(p, infotext(use_main_prompt=True))
    if p.scripts is not None:
        p.scripts.postprocess(p, res)

    shim_config.current.generations.append(
        shim_config.Generation(
            thread_name=threading.current_thread().name,
            checkpoint=info.name,
            prompt=p.all_prompts[0],
            seeds=list(p.all_seeds),
            images=len(output_images) - index_of_first_image,
            interrupted=bool(state.interrupted),
        )
    )
    return res


def _shim_field_names(cls) -> list[str]:
    """Init field names of a processing class (used by the API model generator and tests)."""
    return [f.name for f in dataclasses.fields(cls) if f.init]
