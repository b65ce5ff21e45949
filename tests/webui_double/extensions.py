"""Fake third-party extension scripts tests can register with ``env.add_script(...)``.

Each records what its hooks received in ``self.received`` (``(hook, args)`` tuples); get the live
instance with ``env.script("txt2img", title)``.
"""

from __future__ import annotations

import dataclasses
import hashlib

from webui_double.builtin_scripts import RecordingScript
from webui_double.components import Checkbox, Image, State, Textbox
from webui_double.script_base import AlwaysVisible, Script

ADETAILER_DEFAULT_ARGS = {
    "ad_model": "face_yolov8n.pt",
    "ad_prompt": "",
    "ad_negative_prompt": "",
    "ad_confidence": 0.3,
    "ad_mask_blur": 4,
    "ad_denoising_strength": 0.4,
    "ad_inpaint_only_masked": True,
    "ad_use_steps": False,
    "ad_steps": 28,
}


class ADetailerLike(RecordingScript):
    """Always-on; args ``[ad_enable, ad_skip_img2img, {tab 1 dict}, {tab 2 dict}]`` like ADetailer."""

    TITLE = "ADetailer"

    def title(self):
        return self.TITLE

    def show(self, is_img2img):
        return AlwaysVisible

    def ui(self, is_img2img):
        enable = Checkbox(label="Enable ADetailer", value=False, elem_id=self.elem_id("ad_main_accordion"))
        skip_img2img = Checkbox(label="Skip img2img", value=False, elem_id=self.elem_id("ad_skip_img2img"))
        first = State(dict(ADETAILER_DEFAULT_ARGS))
        second = State({**ADETAILER_DEFAULT_ARGS, "ad_model": "None"})
        self.infotext_fields = [(enable, "ADetailer enable")]
        return [enable, skip_img2img, first, second]

    def postprocess_image(self, p, pp, ad_enable, ad_skip_img2img, *args_list):
        self._record("postprocess_image", (ad_enable, ad_skip_img2img, *args_list))
        if ad_enable and args_list and isinstance(args_list[0], dict):
            p.extra_generation_params["ADetailer model"] = args_list[0].get("ad_model")


@dataclasses.dataclass
class OpaqueThing:
    """Something no serializer knows: not JSON-able, no ``from_dict``."""

    token: object = dataclasses.field(default_factory=object)
    label: str = "opaque"


class OpaqueStateScript(RecordingScript):
    """Always-on; args ``[enabled, State(OpaqueThing())]``."""

    TITLE = "Opaque State"

    def title(self):
        return self.TITLE

    def show(self, is_img2img):
        return AlwaysVisible

    def ui(self, is_img2img):
        enabled = Checkbox(label="Opaque enabled", value=False, elem_id=self.elem_id("enabled"))
        return [enabled, State(OpaqueThing())]


class ImageInputScript(RecordingScript):
    """Always-on; args ``[enabled, PIL image or None, caption]``. Adds the image's hash to the infotext."""

    TITLE = "Image Input"

    def title(self):
        return self.TITLE

    def show(self, is_img2img):
        return AlwaysVisible

    def ui(self, is_img2img):
        enabled = Checkbox(label="Use reference image", value=False, elem_id=self.elem_id("enabled"))
        image = Image(label="Reference image", value=None, elem_id=self.elem_id("image"), type="pil")
        caption = Textbox(label="Caption", value="", elem_id=self.elem_id("caption"))
        return [enabled, image, caption]

    def process(self, p, enabled, image, caption):
        self._record("process", (enabled, image, caption))
        if enabled and image is not None:
            p.extra_generation_params["Reference image hash"] = hashlib.sha256(image.tobytes()).hexdigest()[
                :10
            ]


class SelectableEcho(Script):
    """Selectable script; ``run`` records its args and returns None (the WebUI then runs process_images)."""

    TITLE = "Echo"

    def __init__(self):
        self.received: list[tuple[str, tuple]] = []

    def title(self):
        return self.TITLE

    def ui(self, is_img2img):
        return [Textbox(label="Echo text", value="", elem_id=self.elem_id("text"))]

    def run(self, p, text):
        self.received.append(("run", (text,)))
        return None


ALL = (ADetailerLike, OpaqueStateScript, ImageInputScript, SelectableEcho)
