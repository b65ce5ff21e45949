"""Run an ``extras`` task (the Extras tab's single-image upscale) inside the WebUI.

The task's params are the fields of the WebUI's ``/sdapi/v1/extra-single-image`` (``image`` as a
stored file, ``upscaler_1``, ``upscaling_resize``, ``resize_mode``, ...). They go to the function
that route calls, ``modules.postprocessing.run_extras(extras_mode=0, ...)``, the API's upscaler
names renamed as that route renames them, but with ``save_output=True``: the result is saved like
an Extras tab click saves it (the extras output folder, the input's PNG info plus the operations'
infotext) and reported through ``on_image_saved``, which is how the runner collects its path.

Forge's Extras tab and API route run it in the calling thread under ``queue_lock`` (not on
Forge's main thread), and so does the runner. ``run_extras`` calls ``state.begin(job="extras")``
and ``state.end()`` itself, inside the runner's own ``begin``/``end``, as for an Extras tab click.
"""

from __future__ import annotations

import html
import inspect
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidTaskData, TaskSchedulerError
from ..task import Task, TaskResult
from ..values import ValueCodec

#: ``ExtrasSingleImageRequest``'s fields and defaults (the same in Forge and A1111 1.10), less ``image``
API_DEFAULTS: dict[str, Any] = {
    "resize_mode": 0,
    "show_extras_results": True,
    "gfpgan_visibility": 0,
    "codeformer_visibility": 0,
    "codeformer_weight": 0,
    "upscaling_resize": 2,
    "upscaling_resize_w": 512,
    "upscaling_resize_h": 512,
    "upscaling_crop": True,
    "upscaler_1": "None",
    "upscaler_2": "None",
    "extras_upscaler_2_visibility": 0,
    "upscale_first": False,
}
#: the API's names for ``run_extras``' upscaler parameters (its ``setUpscalers``)
RENAMED = {"upscaler_1": "extras_upscaler_1", "upscaler_2": "extras_upscaler_2"}
#: what the single-image route fixes; ``save_output`` as the Extras tab has it
FIXED: dict[str, Any] = {
    "extras_mode": 0,
    "image_folder": "",
    "input_dir": "",
    "output_dir": "",
    "save_output": True,
}


class MissingUpscaler(TaskSchedulerError, LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known) or "none"
        super().__init__(f"upscaler {name!r} is not installed (installed: {listed})")
        self.name = name


@dataclass
class ExtrasCall:
    """``run_extras``' keyword arguments for one task, and what was left out of them."""

    kwargs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def prepare(task: Task, codec: ValueCodec) -> ExtrasCall:
    """The call for ``task``, checked against the installed WebUI (its signature, its upscalers).

    Fields this WebUI's ``run_extras`` does not take are reported as warnings, not sent.
    """
    from modules import postprocessing, shared

    params = dict(task.params)
    image = params.pop("image", None)
    if not (isinstance(image, dict) and "$image" in image):
        raise InvalidTaskData("image", "an extras task needs its image")
    accepted = set(inspect.signature(postprocessing.run_extras).parameters)
    kwargs: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in {**API_DEFAULTS, **params}.items():
        target = RENAMED.get(name, name)
        if target in FIXED:
            warnings.append(f"extras field '{name}' is fixed for a queued upscale; ignored")
            continue
        if target not in accepted:
            warnings.append(f"extras field '{name}' is unknown to this WebUI's run_extras; ignored")
            continue
        kwargs[target] = codec.decode(value)
    installed = [str(u.name) for u in getattr(shared, "sd_upscalers", [])]
    for target in RENAMED.values():
        wanted = kwargs.get(target)
        if wanted not in (None, "None") and wanted not in installed:
            raise MissingUpscaler(str(wanted), installed)
    kwargs.update({name: value for name, value in FIXED.items() if name in accepted})
    kwargs["image"] = codec.decode(image)
    return ExtrasCall(kwargs, warnings)


def run(call: ExtrasCall) -> Any:
    """``run_extras(**kwargs)``: ``(images, infotext as HTML, "")``. Call it under ``queue_lock``."""
    from modules import postprocessing

    return postprocessing.run_extras(**call.kwargs)


def result_of(result: Any, saved: list[str]) -> TaskResult:
    """Paths (from ``on_image_saved`` and ``already_saved_as``) and the Extras tab's infotext."""
    outputs = list(result[0] or []) if isinstance(result, (list, tuple)) and result else []
    shown = result[1] if isinstance(result, (list, tuple)) and len(result) > 1 else ""
    infotext = html_to_text(shown)
    paths = list(dict.fromkeys(saved))
    for image in outputs:
        path = getattr(image, "already_saved_as", None)
        if path and os.path.abspath(path) not in paths:
            paths.append(os.path.abspath(path))
    info: dict[str, Any] = {"postprocessing": infotext}
    if outputs:
        info["size"] = list(outputs[0].size)
    return TaskResult(images=paths, infotexts=[infotext] * len(paths), info=info)


_BREAK = re.compile(r"<br\s*/?>\n?")
_TAG = re.compile(r"<[^>]+>")


def html_to_text(value: Any) -> str:
    """The plain text behind the WebUI's ``plaintext_to_html`` (``<p>`` lines joined by ``<br>``)."""
    if not isinstance(value, str):
        return ""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", value))).strip()
