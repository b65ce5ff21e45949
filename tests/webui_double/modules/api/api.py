"""The ``/sdapi/v1`` API object, as ``modules.api.api`` (imports fastapi; optional).

Like the WebUI's: constructing ``Api(app, queue_lock)`` registers routes on ``app`` and re-runs every
script's ``ui()`` to compute default script args (firing ``on_after_component`` again);
``text2imgapi``/``img2imgapi`` run in the calling thread under ``queue_lock`` (not re-entrant: calling
them while holding it deadlocks) with ``state.begin/end`` and progress bookkeeping.
"""

from __future__ import annotations

import base64
import io
import secrets
from contextlib import closing

from fastapi import Depends, HTTPException
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from modules import progress, scripts, sd_models, sd_samplers, shared
from modules.api import models
from modules.processing import (
    StableDiffusionProcessingImg2Img,
    StableDiffusionProcessingTxt2Img,
    process_images,
)
from PIL import Image, PngImagePlugin

from webui_double import shim_config


def script_name_to_index(name, scripts_list):
    try:
        return [script.title().lower() for script in scripts_list].index(name.lower())
    except Exception as e:
        raise HTTPException(status_code=422, detail=f"Script '{name}' not found") from e


def validate_sampler_name(name):
    config = sd_samplers.all_samplers_map.get(name, None)
    if config is None:
        raise HTTPException(status_code=400, detail="Sampler not found")
    return name


def decode_base64_to_image(encoding):
    if encoding.startswith("http://") or encoding.startswith("https://"):
        raise HTTPException(status_code=500, detail="Requests not allowed")
    if encoding.startswith("data:image/"):
        encoding = encoding.split(";")[1].split(",")[1]
    try:
        return Image.open(io.BytesIO(base64.b64decode(encoding)))
    except Exception as e:
        raise HTTPException(status_code=500, detail="Invalid encoded image") from e


def encode_pil_to_base64(image):
    with io.BytesIO() as output_bytes:
        pnginfo = PngImagePlugin.PngInfo()
        if shared.opts.enable_pnginfo:
            for key, value in image.info.items():
                if isinstance(key, str) and isinstance(value, str):
                    pnginfo.add_text(key, value)
        image.save(output_bytes, format="PNG", pnginfo=pnginfo)
        return base64.b64encode(output_bytes.getvalue())


def _event_value(component):
    event_value = getattr(component, "event_value", None)
    return event_value() if callable(event_value) else getattr(component, "value", None)


def _copy(req, update: dict):
    if hasattr(req, "model_copy"):
        return req.model_copy(update=update)
    return req.copy(update=update)


class Api:
    def __init__(self, app, queue_lock):
        self.credentials = {}
        if shared.cmd_opts.api_auth:
            for auth in shared.cmd_opts.api_auth.split(","):
                user, password = auth.split(":")
                self.credentials[user] = password
        self.app = app
        self.queue_lock = queue_lock
        self.add_api_route(
            "/sdapi/v1/txt2img", self.text2imgapi, methods=["POST"], response_model=models.TextToImageResponse
        )
        self.add_api_route(
            "/sdapi/v1/img2img", self.img2imgapi, methods=["POST"], response_model=models.ImageToImageResponse
        )
        self.add_api_route(
            "/sdapi/v1/progress", self.progressapi, methods=["GET"], response_model=models.ProgressResponse
        )
        self.add_api_route("/sdapi/v1/interrupt", self.interruptapi, methods=["POST"])
        self.add_api_route("/sdapi/v1/skip", self.skip, methods=["POST"])
        self.add_api_route("/sdapi/v1/options", self.get_config, methods=["GET"])
        self.add_api_route("/sdapi/v1/options", self.set_config, methods=["POST"])
        self.add_api_route("/sdapi/v1/sd-models", self.get_sd_models, methods=["GET"])
        self.add_api_route("/sdapi/v1/samplers", self.get_samplers, methods=["GET"])
        self.add_api_route("/sdapi/v1/refresh-checkpoints", self.refresh_checkpoints, methods=["POST"])
        self.add_api_route("/sdapi/v1/scripts", self.get_scripts_list, methods=["GET"])
        self.add_api_route("/sdapi/v1/script-info", self.get_script_info, methods=["GET"])

        if not scripts.scripts_txt2img.scripts:
            from webui_double import current

            env = current()
            if env is not None:
                env.rebuild_ui()
        self.default_script_arg_txt2img = self.init_default_script_args(scripts.scripts_txt2img)
        self.default_script_arg_img2img = self.init_default_script_args(scripts.scripts_img2img)

    def add_api_route(self, path: str, endpoint, **kwargs):
        if self.credentials:
            return self.app.add_api_route(path, endpoint, dependencies=[Depends(self.auth)], **kwargs)
        return self.app.add_api_route(path, endpoint, **kwargs)

    def auth(self, credentials: HTTPBasicCredentials = Depends(HTTPBasic())):  # noqa: B008 - FastAPI idiom
        if credentials.username in self.credentials and secrets.compare_digest(
            credentials.password, self.credentials[credentials.username]
        ):
            return True
        raise HTTPException(
            status_code=401, detail="Incorrect username or password", headers={"WWW-Authenticate": "Basic"}
        )

    def get_selectable_script(self, script_name, script_runner):
        if script_name is None or script_name == "":
            return None, None
        script_idx = script_name_to_index(script_name, script_runner.selectable_scripts)
        return script_runner.selectable_scripts[script_idx], script_idx

    def get_script(self, script_name, script_runner):
        if script_name is None or script_name == "":
            return None
        script_idx = script_name_to_index(script_name, script_runner.scripts)
        return script_runner.scripts[script_idx]

    def init_default_script_args(self, script_runner) -> list:
        """Default script args: every script's ``ui()`` is called again for its controls' values."""
        last_arg_index = 1
        for script in script_runner.scripts:
            if script.args_to is not None and last_arg_index < script.args_to:
                last_arg_index = script.args_to
        script_args = [None] * last_arg_index
        script_args[0] = 0
        for script in script_runner.scripts:
            controls = script.ui(script.is_img2img)
            if controls and script.args_from is not None:
                script_args[script.args_from : script.args_to] = [_event_value(c) for c in controls]
        return script_args

    def init_script_args(
        self,
        request,
        default_script_args,
        selectable_scripts,
        selectable_idx,
        script_runner,
        *,
        input_script_args=None,
    ):
        script_args = default_script_args.copy()
        if input_script_args is not None:
            for index, value in input_script_args.items():
                script_args[index] = value
        if selectable_scripts:
            script_args[selectable_scripts.args_from : selectable_scripts.args_to] = request.script_args
            script_args[0] = selectable_idx + 1
        for name, payload in (request.alwayson_scripts or {}).items():
            alwayson_script = self.get_script(name, script_runner)
            if alwayson_script is None:
                raise HTTPException(status_code=422, detail=f"always on script {name} not found")
            if not alwayson_script.alwayson:
                raise HTTPException(
                    status_code=422, detail="Cannot have a selectable script in the always on scripts params"
                )
            args = payload.get("args", []) if isinstance(payload, dict) else []
            for idx in range(min(alwayson_script.args_to - alwayson_script.args_from, len(args))):
                script_args[alwayson_script.args_from + idx] = args[idx]
        return script_args

    def _run(self, p, task_id, selectable_scripts, script_args, script_runner, job):
        p.is_api = True
        p.scripts = script_runner
        with self.queue_lock, closing(p):
            try:
                shared.state.begin(job=job)
                progress.start_task(task_id)
                if selectable_scripts is not None:
                    p.script_args = script_args
                    processed = script_runner.run(p, *p.script_args)
                else:
                    p.script_args = tuple(script_args)
                    processed = process_images(p)
                progress.finish_task(task_id)
            finally:
                shared.state.end()
                shared.total_tqdm.clear()
        return processed

    def text2imgapi(self, txt2imgreq: models.StableDiffusionTxt2ImgProcessingAPI):
        task_id = txt2imgreq.force_task_id or progress.create_task_id("txt2img")
        script_runner = scripts.scripts_txt2img
        selectable_scripts, selectable_script_idx = self.get_selectable_script(
            txt2imgreq.script_name, script_runner
        )
        sampler, scheduler = sd_samplers.get_sampler_and_scheduler(
            txt2imgreq.sampler_name or txt2imgreq.sampler_index, txt2imgreq.scheduler
        )
        populate = _copy(
            txt2imgreq,
            {
                "sampler_name": validate_sampler_name(sampler),
                "scheduler": scheduler,
                "do_not_save_samples": not txt2imgreq.save_images,
                "do_not_save_grid": not txt2imgreq.save_images,
            },
        )
        if populate.sampler_name:
            populate.sampler_index = None
        args = dict(vars(populate))
        for key in ("script_name", "script_args", "alwayson_scripts", "infotext", "save_images"):
            args.pop(key, None)
        send_images = args.pop("send_images", True)
        script_args = self.init_script_args(
            txt2imgreq,
            self.default_script_arg_txt2img,
            selectable_scripts,
            selectable_script_idx,
            script_runner,
        )
        progress.add_task_to_queue(task_id)
        p = StableDiffusionProcessingTxt2Img(sd_model=shared.sd_model, **args)
        p.outpath_grids = shared.opts.outdir_txt2img_grids
        p.outpath_samples = shared.opts.outdir_txt2img_samples
        processed = self._run(p, task_id, selectable_scripts, script_args, script_runner, "scripts_txt2img")
        b64images = list(map(encode_pil_to_base64, processed.images)) if send_images else []
        return models.TextToImageResponse(images=b64images, parameters=vars(txt2imgreq), info=processed.js())

    def img2imgapi(self, img2imgreq: models.StableDiffusionImg2ImgProcessingAPI):
        task_id = img2imgreq.force_task_id or progress.create_task_id("img2img")
        init_images = img2imgreq.init_images
        if init_images is None:
            raise HTTPException(status_code=404, detail="Init image not found")
        mask = img2imgreq.mask
        if mask:
            mask = decode_base64_to_image(mask)
        script_runner = scripts.scripts_img2img
        selectable_scripts, selectable_script_idx = self.get_selectable_script(
            img2imgreq.script_name, script_runner
        )
        sampler, scheduler = sd_samplers.get_sampler_and_scheduler(
            img2imgreq.sampler_name or img2imgreq.sampler_index, img2imgreq.scheduler
        )
        populate = _copy(
            img2imgreq,
            {
                "sampler_name": validate_sampler_name(sampler),
                "scheduler": scheduler,
                "do_not_save_samples": not img2imgreq.save_images,
                "do_not_save_grid": not img2imgreq.save_images,
                "mask": mask,
            },
        )
        if populate.sampler_name:
            populate.sampler_index = None
        args = dict(vars(populate))
        for key in (
            "include_init_images",
            "script_name",
            "script_args",
            "alwayson_scripts",
            "infotext",
            "save_images",
        ):
            args.pop(key, None)
        send_images = args.pop("send_images", True)
        script_args = self.init_script_args(
            img2imgreq,
            self.default_script_arg_img2img,
            selectable_scripts,
            selectable_script_idx,
            script_runner,
        )
        progress.add_task_to_queue(task_id)
        p = StableDiffusionProcessingImg2Img(sd_model=shared.sd_model, **args)
        p.init_images = [decode_base64_to_image(x) for x in init_images]
        p.outpath_grids = shared.opts.outdir_img2img_grids
        p.outpath_samples = shared.opts.outdir_img2img_samples
        processed = self._run(p, task_id, selectable_scripts, script_args, script_runner, "scripts_img2img")
        b64images = list(map(encode_pil_to_base64, processed.images)) if send_images else []
        if not img2imgreq.include_init_images:
            img2imgreq.init_images = None
            img2imgreq.mask = None
        return models.ImageToImageResponse(images=b64images, parameters=vars(img2imgreq), info=processed.js())

    def progressapi(self):
        state = shared.state
        if state.job_count == 0:
            return models.ProgressResponse(
                progress=0, eta_relative=0, state=state.dict(), textinfo=state.textinfo
            )
        progress_value = 0.01
        if state.job_count > 0:
            progress_value += state.job_no / state.job_count
        if state.sampling_steps > 0 and state.job_count > 0:
            progress_value += 1 / state.job_count * state.sampling_step / state.sampling_steps
        progress_value = min(progress_value, 1)
        return models.ProgressResponse(
            progress=progress_value, eta_relative=0.0, state=state.dict(), textinfo=state.textinfo
        )

    def interruptapi(self):
        shared.state.interrupt()
        return {}

    def skip(self):
        shared.state.skip()

    def get_config(self):
        options = {}
        for key in shared.opts.data:
            metadata = shared.opts.data_labels.get(key)
            options[key] = shared.opts.data.get(key) if metadata is None else getattr(shared.opts, key, None)
        return options

    def set_config(self, req: dict):
        checkpoint_name = req.get("sd_model_checkpoint")
        if checkpoint_name is not None and sd_models.get_closet_checkpoint_match(checkpoint_name) is None:
            raise RuntimeError(f"model {checkpoint_name!r} not found")
        if shim_config.current.is_forge:
            from modules import sysinfo

            sysinfo.set_config(req, is_api=True)
        else:
            for k, v in req.items():
                shared.opts.set(k, v, is_api=True)
            shared.opts.save(shared.config_filename)

    def get_sd_models(self):
        return [
            {
                "title": x.title,
                "model_name": x.model_name,
                "hash": x.shorthash,
                "sha256": x.sha256,
                "filename": x.filename,
                "config": None,
            }
            for x in sd_models.checkpoints_list.values()
        ]

    def get_samplers(self):
        return [
            {"name": s.name, "aliases": s.aliases, "options": s.options} for s in sd_samplers.all_samplers
        ]

    def refresh_checkpoints(self):
        with self.queue_lock:
            shared.refresh_checkpoints()

    def get_scripts_list(self):
        return {
            "txt2img": [s.name for s in scripts.scripts_txt2img.selectable_scripts],
            "img2img": [s.name for s in scripts.scripts_img2img.selectable_scripts],
        }

    def get_script_info(self):
        res = []
        for script_list in (scripts.scripts_txt2img.scripts, scripts.scripts_img2img.scripts):
            res += [script.api_info for script in script_list if script.api_info is not None]
        return res
