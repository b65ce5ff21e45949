"""The "Task Queue" tab: a container for ``javascript/task_queue.mjs`` plus the hidden parts that
carry a task into the WebUI's own paste mechanism (webui-internals §7).

Everything visible is drawn by the module, which talks only to the HTTP API. The gradio side is
just the bridge for "Load into txt2img / img2img" and "Send to img2img / inpaint / extras":

1. the module clicks the hidden *prepare* button; its JS step supplies ``{task, index, target}``
   and the Python step answers with the task's infotext and, when the target wants one, an image
   (a result image, or an img2img task's own input image);
2. a JS-only ``.then`` step clicks the hidden button of that target, which is registered as a
   ``ParamBinding`` here, during ``on_ui_tabs``, before the WebUI wires the bindings
   (``connect_paste_params_buttons``): the WebUI fills its fields exactly as for a pasted
   infotext or PNG Info's "Send to", and switches to that tab.

Runs on gradio 4.40 (Forge) and 3.41 (A1111).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ..saved_tasks import SavedTasks

log = logging.getLogger(__name__)

TITLE = "Task Queue"
TAB_ID = "task_queue"
CONTAINER_ID = "task-scheduler-tab"
API_BASE = "/task-scheduler/v1"

#: hidden button suffix -> (WebUI paste tab, sends an image, sends the infotext)
TARGETS: dict[str, tuple[str, bool, bool]] = {
    "load_txt2img": ("txt2img", False, True),
    "load_img2img": ("img2img", False, True),
    "send_img2img": ("img2img", True, True),
    "send_inpaint": ("inpaint", True, True),
    "send_extras": ("extras", True, False),
}
HIDDEN_CLASS = "task-scheduler-hidden"

Services = Any  # ApiServices, or a callable returning it (the queue opens after on_ui_tabs)


def elem_id(part: str) -> str:
    return f"task_scheduler_tab_{part}"


def on_ui_tabs(services: Services) -> list[tuple[Any, str, str]]:
    """``[(blocks, "Task Queue", "task_queue")]`` for the WebUI's ``on_ui_tabs``."""
    import gradio as gr

    with gr.Blocks(analytics_enabled=False) as blocks:
        gr.HTML(container_html(), elem_id=elem_id("html"))
        build_bridge(services)
    return [(blocks, TITLE, TAB_ID)]


def container_html(api_base: str = API_BASE) -> str:
    return (
        f'<div id="{CONTAINER_ID}" class="task-scheduler-tab" data-api-base="{api_base}">'
        "<noscript>The Task Queue needs JavaScript.</noscript></div>"
    )


def build_bridge(services: Services) -> dict[str, Any]:
    """The hidden components and events (call inside a ``gr.Blocks``); returns them by name."""
    import gradio as gr

    with gr.Row(elem_id=elem_id("bridge"), elem_classes=[HIDDEN_CLASS]):
        request = gr.Textbox(value="", elem_id=elem_id("request"), show_label=False)
        infotext = gr.Textbox(value="", elem_id=elem_id("infotext"), show_label=False)
        image = gr.Image(type="pil", elem_id=elem_id("image"), show_label=False, interactive=False)
        prepare = gr.Button("prepare", elem_id=elem_id("prepare"))
        buttons = {target: gr.Button(target, elem_id=elem_id(target)) for target in TARGETS}
    js_key = "js" if _gradio_major() >= 4 else "_js"
    extra: dict[str, Any] = {"show_progress": "hidden", "queue": False}
    event = prepare.click(
        fn=make_prepare(services),
        inputs=[request],
        outputs=[infotext, image],
        **{js_key: "(x) => window.taskQueue ? window.taskQueue.webui.request() : [x]"},
        **extra,
    )
    event.then(
        fn=None, inputs=None, outputs=None, **{js_key: "() => window.taskQueue.webui.paste()"}, **extra
    )
    register_bindings(buttons, infotext, image)
    return {"request": request, "infotext": infotext, "image": image, "prepare": prepare, "buttons": buttons}


def register_bindings(buttons: dict[str, Any], infotext: Any, image: Any) -> int:
    """Register each hidden target button with the WebUI's paste mechanism; returns how many."""
    try:
        from modules import infotext_utils as paste
    except ImportError:
        try:
            from modules import generation_parameters_copypaste as paste  # A1111 before 1.8
        except ImportError:
            log.info("Task Queue tab: no WebUI paste mechanism; load / send buttons stay inactive")
            return 0
    for target, (tabname, with_image, with_text) in TARGETS.items():
        paste.register_paste_params_button(
            paste.ParamBinding(
                paste_button=buttons[target],
                tabname=tabname,
                source_text_component=infotext if with_text else None,
                source_image_component=image if with_image else None,
            )
        )
    return len(TARGETS)


def _resolve(services: Services) -> Any:
    return services() if callable(services) else services


def make_prepare(services: Services) -> Callable[[str], tuple[str, Any]]:
    def prepare(raw: str) -> tuple[str, Any]:
        """``{task | saved, index, target, source}`` -> (infotext, image or None) for the paste step."""
        try:
            return prepare_payload(_resolve(services), raw)
        except Exception:
            log.exception("Task Queue tab: preparing %r for the WebUI failed", raw)
            return "", None

    return prepare


def prepare_payload(services: Any, raw: str) -> tuple[str, Any]:
    from ..http_api.images import result_file
    from ..http_api.infotext import task_infotext

    request = json.loads(raw or "{}")
    if services is None or not (request.get("task") or request.get("saved")):
        return "", None
    if request.get("saved"):  # a saved task loads like a pending one: infotext from its params
        task = SavedTasks(services.queue).get(str(request["saved"])).as_pending_task()
    else:
        task = services.queue.get(str(request["task"]))
    index = int(request.get("index") or 0)
    target = str(request.get("target") or "")
    text, _source = task_infotext(task, index)
    _tab, with_image, _with_text = TARGETS.get(target, ("", False, True))
    if not with_image:
        return text, None
    if request.get("source") == "init":
        path = _init_image_path(services, task)
    else:
        path = result_file(task, index)
    return text, _open_image(path)


def _init_image_path(services: Any, task: Any) -> Any:
    for name in ("init_img", "init_img_inpaint", "init_img_with_mask", "sketch"):
        value = task.params.get(name)
        if isinstance(value, dict) and value.get("$image"):
            path = services.files.path(value["$image"])
            if path.is_file():
                return path
    return None


def _open_image(path: Any) -> Any:
    if path is None:
        return None
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return image.copy()


def _gradio_major() -> int:
    import gradio

    return int(str(gradio.__version__).split(".")[0])
