"""A small Gradio app over the WebUI test double that looks enough like the WebUI to drive the
Task Queue tab and the Queue button in a real browser (the browser tests and bench/ui_history.py).

    python tests/demo_app.py --flavour forge --port 7861 [--root DIR] [--step-delay 0.05] [--paused]

What it has, wired the way the WebUI wires it:

* the double installed (``webui_double.install``), with the extension's params script;
* a real queue (SQLite under ``--root``, or the PostgreSQL server ``--db`` names), a real
  Executor and the in-process WebUI runner, so a
  queued task runs through the double's ``txt2img`` and writes real PNGs;
* a "txt2img" tab: real gradio controls in exactly the order Generate's inputs have in the double
  (prompt, sizes, steps, sampler, seed are visible; the rest are ``gr.State``), a Generate button
  bound like the WebUI's, and the Queue button made by ``capture.on_after_component`` and bound by
  ``capture.bind`` (the extension's own code);
* a small "img2img" tab, and the "Task Queue" tab from ``tab.on_ui_tabs`` whose paste bindings are
  connected here the way ``connect_paste_params_buttons`` does it in the WebUI;
* the HTTP routers on the app gradio launched (as ``on_app_started`` does), the page scripts
  injected into gradio's page (as the WebUI's ``javascript_html`` does), served by gradio's uvicorn.

On start it prints ``DEMO_URL <url>`` on one line, then serves until killed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import webui_double  # noqa: E402

VISIBLE = {
    "prompt": ("textbox", "Prompt"),
    "negative_prompt": ("textbox", "Negative prompt"),
    "width": ("slider", "Width", 64, 2048, 8),
    "height": ("slider", "Height", 64, 2048, 8),
    "cfg_scale": ("slider", "CFG Scale", 1, 30, 0.5),
    "batch_size": ("slider", "Batch size", 1, 8, 1),
    "n_iter": ("slider", "Batch count", 1, 100, 1),
    "steps": ("slider", "Sampling steps", 1, 150, 1),
    "sampler_name": ("sampler", "Sampling method"),
    "seed": ("number", "Seed"),
}
#: txt2img paste fields: infotext key -> control name
PASTE = {
    "Prompt": "prompt",
    "Negative prompt": "negative_prompt",
    "Steps": "steps",
    "Sampler": "sampler_name",
    "CFG scale": "cfg_scale",
    "Seed": "seed",
    "Size-1": "width",
    "Size-2": "height",
    "Batch size": "batch_size",
}


class DemoWebUI:
    """What the HTTP API asks of the WebUI, answered by the double."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def samplers(self) -> list[str]:
        from modules import sd_samplers

        return [s.name for s in sd_samplers.all_samplers]

    def checkpoints(self) -> list[str]:
        from modules import sd_models

        return [info.title for info in sd_models.checkpoints_list.values()]

    def interrupt(self) -> None:
        from modules import shared

        shared.state.interrupt()

    def skip(self) -> None:
        from modules import shared

        shared.state.skip()

    def progress(self, task_id: str) -> dict[str, Any] | None:
        return None


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(args.root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # a LoRA and an embedding the WebUI lists, for the check's warnings (tests/browser/test_check_view.py)
        self.env = webui_double.install(
            args.flavour, self.root / "webui", loras=("detail_tweaker_v2",), embeddings=("easynegative",)
        )
        self.env.set_step_delay(args.step_delay)
        self.env.add_script(_params_script())
        self._core()
        self.demo, self.controls = self._blocks()

    # -- the queue, its runner and its API --------------------------------------------------------

    def _core(self) -> None:
        from task_scheduler.checker import TaskChecker
        from task_scheduler.executor import Executor, ExecutorSettings
        from task_scheduler.files import FileStore
        from task_scheduler.http_api import ApiServices
        from task_scheduler.store import Store
        from task_scheduler.task_queue import TaskQueue
        from task_scheduler.webui.runner import InProcessRunner
        from task_scheduler.workers import WorkerIdentity

        db = self.root / "queue" / "task_scheduler.sqlite3"
        self.store = Store(self.args.db or db)
        self.files = FileStore(db.parent / "task_scheduler_files")
        self.queue = TaskQueue(self.store, self.files)
        if self.args.paused:
            self.queue.pause()
        self.runner = InProcessRunner(
            self.files,
            stop_reason=self.queue.stop_request,
            progress_interval_s=0.2,
        )
        # one worker named like a WebUI's, so the tab's Workers strip reads as it would there; of
        # the double's WebUI family, as a WebUI's own worker says (its Queue button's tasks are its)
        from task_scheduler.webui.checkpoints import webui_family

        worker = WorkerIdentity.local("demo", kind="webui", info={"webui": webui_family()})
        self.executor = Executor(self.queue, self.runner, ExecutorSettings(), worker=worker)
        self.queue.checker = TaskChecker(self.runner.catalog)
        auth = [self.args.api_auth] if self.args.api_auth else None
        self.services = ApiServices(
            queue=self.queue,
            files=self.files,
            executor=self.executor,
            webui=DemoWebUI(self.runner),
            auth=auth,
        )

    # -- the page -------------------------------------------------------------------------------------

    def _blocks(self) -> tuple[Any, dict[str, Any]]:
        import gradio as gr

        from task_scheduler.webui import capture, tab

        controls: dict[str, Any] = {}
        extra_tabs = tab.on_ui_tabs(lambda: self.services)  # before the page, as create_ui does
        with gr.Blocks(title="Task Scheduler demo", analytics_enabled=False) as demo:
            with gr.Tabs(elem_id="tabs", selected=self.args.tab) as tabs:
                with gr.Tab("txt2img", id="txt2img", elem_id="tab_txt2img"):
                    txt2img = self._txt2img(gr, capture)
                with gr.Tab("img2img", id="img2img", elem_id="tab_img2img"):
                    img2img = self._img2img(gr)
                for blocks, label, tab_id in extra_tabs:
                    with gr.Tab(label, id=tab_id, elem_id="tab_" + tab_id):
                        blocks.render()
            self._connect_paste(gr, tabs, txt2img, img2img)
        controls.update(txt2img=txt2img, img2img=img2img, tabs=tabs)
        if hasattr(capture, "bind"):
            capture.bind(demo, self.services)
        return demo, controls

    def _txt2img(self, gr: Any, capture: Any) -> dict[str, Any]:
        """Controls for every Generate input of the double's txt2img, in the same order."""
        ui = self.env.ui["txt2img"]
        runner = self.env.runner("txt2img")
        names: dict[int, str] = {i + 1: name for i, name in enumerate(ui.named)}
        offset = ui.script_args_offset
        for script in runner.alwayson_scripts:
            for j, name in enumerate(getattr(script, "_shim_arg_names", ())):
                names.setdefault(offset + script.args_from + j, name)
        made: dict[str, Any] = {}

        def control(name: str, value: Any) -> Any:
            spec = VISIBLE[name]
            kind, label = spec[0], spec[1]
            elem = f"txt2img_{'neg_prompt' if name == 'negative_prompt' else name}"
            if kind == "textbox":
                return gr.Textbox(value=value or "", label=label, lines=2, elem_id=elem)
            if kind == "slider":
                return gr.Slider(
                    minimum=spec[2], maximum=spec[3], step=spec[4], value=value, label=label, elem_id=elem
                )
            if kind == "sampler":
                choices = DemoWebUI(None).samplers()
                return gr.Dropdown(choices=choices, value=value, label=label, elem_id=elem)
            return gr.Number(value=value, label=label, precision=0, elem_id=elem)

        defaults = {names[i]: getattr(c, "value", None) for i, c in enumerate(ui.inputs) if i in names}
        with gr.Row(elem_id="txt2img_toprow"):
            with gr.Column(scale=6):
                for name in ("prompt", "negative_prompt"):
                    made[name] = control(name, defaults.get(name))
            with gr.Column(scale=1), gr.Row(elem_id="txt2img_generate_box"):
                generate = gr.Button("Generate", elem_id="txt2img_generate", variant="primary")
                capture.on_after_component(generate, elem_id="txt2img_generate")
        with gr.Row():
            with gr.Column():
                for name in (
                    "steps",
                    "sampler_name",
                    "width",
                    "height",
                    "batch_size",
                    "n_iter",
                    "cfg_scale",
                    "seed",
                ):
                    if name in defaults:
                        made[name] = control(name, defaults[name])
            with gr.Column():
                gallery = gr.Gallery(label="Output", elem_id="txt2img_gallery")
                info = gr.Textbox(
                    label="Generation info", elem_id="generation_info_txt2img", interactive=False
                )
                html_info = gr.HTML(elem_id="html_info_txt2img")
                html_log = gr.HTML(elem_id="html_log_txt2img")
        inputs = []
        for index, fake in enumerate(ui.inputs):
            name = names.get(index)
            if name in made:
                inputs.append(made[name])
            elif index == 0:
                inputs.append(gr.Textbox(value="", visible=False, elem_id="txt2img_dummy"))
            else:
                inputs.append(gr.State(value=webui_double._event_value(fake)))  # what the page sends

        def txt2img(*args: Any) -> Any:
            from modules import call_queue
            from modules import txt2img as module

            fn = call_queue.wrap_gradio_gpu_call(module.txt2img, extra_outputs=[None, "", ""])
            images, js, info_html, comments = fn("task(demo-generate)", webui_double.FakeRequest(), *args[1:])
            return images, js, info_html, comments

        generate.click(fn=txt2img, inputs=inputs, outputs=[gallery, info, html_info, html_log])
        return {"inputs": inputs, "fields": made, "generate": generate}

    def _img2img(self, gr: Any) -> dict[str, Any]:
        fields = {
            "prompt": gr.Textbox(label="Prompt", lines=2, elem_id="img2img_prompt"),
            "negative_prompt": gr.Textbox(label="Negative prompt", lines=2, elem_id="img2img_neg_prompt"),
        }
        image = gr.Image(type="pil", label="Image for img2img", elem_id="img2img_image")
        with gr.Row():
            fields["steps"] = gr.Slider(
                1, 150, step=1, value=20, label="Sampling steps", elem_id="img2img_steps"
            )
            fields["width"] = gr.Slider(64, 2048, step=8, value=512, label="Width", elem_id="img2img_width")
            fields["height"] = gr.Slider(
                64, 2048, step=8, value=512, label="Height", elem_id="img2img_height"
            )
            fields["seed"] = gr.Number(value=-1, precision=0, label="Seed", elem_id="img2img_seed")
        return {"fields": fields, "image": image}

    def _connect_paste(self, gr: Any, tabs: Any, txt2img: dict[str, Any], img2img: dict[str, Any]) -> None:
        """``connect_paste_params_buttons`` for the bindings the tab registered, with real controls."""
        from modules import infotext_utils

        targets = {
            "txt2img": (txt2img["fields"], None),
            "img2img": (img2img["fields"], img2img["image"]),
        }
        for binding in infotext_utils.registered_param_bindings:
            if binding.tabname not in targets:
                continue  # inpaint / extras: the demo has no such tabs
            fields, init_image = targets[binding.tabname]
            keys = [key for key, name in PASTE.items() if name in fields]
            components = [fields[PASTE[key]] for key in keys]
            if binding.source_image_component is not None and init_image is not None:
                binding.paste_button.click(
                    fn=lambda image: image, inputs=[binding.source_image_component], outputs=[init_image]
                )
            if binding.source_text_component is not None:
                binding.paste_button.click(
                    fn=_paste_function(keys, components),
                    inputs=[binding.source_text_component],
                    outputs=components,
                )
            binding.paste_button.click(
                fn=lambda tab=binding.tabname: gr.update(selected=tab), inputs=None, outputs=[tabs]
            )

    # -- serving ----------------------------------------------------------------------------------------

    def launch(self) -> str:
        import gradio as gr

        _inject_page_assets(gr)
        self.demo.queue()
        auth = None
        if self.args.gradio_auth:
            user, _, password = self.args.gradio_auth.partition(":")
            auth = [(user, password)]
        app, local_url, _share = self.demo.launch(
            server_name="127.0.0.1",
            server_port=self.args.port,
            prevent_thread_lock=True,
            auth=auth,
            quiet=True,
            show_error=True,
        )
        self._mount(app)
        self.executor.start()
        return local_url.rstrip("/")

    def _mount(self, app: Any) -> None:
        from fastapi.responses import FileResponse, Response
        from modules import progress

        from task_scheduler.http_api import gradio_session_check, include_routers

        self.services.session_check = gradio_session_check(app)
        include_routers(app, self.services)
        progress.setup_progress_api(app)
        types = {".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css"}

        def asset(path):  # no annotations: FastAPI resolves them at module level
            file = (ROOT / path).resolve()
            allowed = file.parent == ROOT / "javascript" or file == ROOT / "style.css"
            if not allowed or not file.is_file():
                return Response(status_code=404)
            return FileResponse(file, media_type=types.get(file.suffix, "application/octet-stream"))

        app.add_api_route("/demo-assets/{path:path}", asset, methods=["GET"])
        app.add_api_route("/demo-state", lambda: {"flavour": self.env.flavour}, methods=["GET"])

    def close(self) -> None:
        self.executor.close()
        try:
            self.demo.close()
        finally:
            self.store.close()
            self.env.uninstall()


def _paste_function(keys: list[str], components: list[Any]) -> Any:
    def paste(text: str) -> list[Any]:
        import gradio as gr
        from modules import infotext_utils

        params = infotext_utils.parse_generation_parameters(text or "")
        values = []
        for key, component in zip(keys, components, strict=True):
            if key not in params:
                values.append(gr.update())
                continue
            value = params[key]
            current = getattr(component, "value", None)
            try:
                if isinstance(current, bool):
                    value = str(value).lower() == "true"
                elif isinstance(current, int) and not isinstance(current, bool):
                    value = int(float(value))
                elif isinstance(current, float):
                    value = float(value)
            except (TypeError, ValueError):
                value = gr.update()
            values.append(value if isinstance(value, dict) else gr.update(value=value))
        return values

    return paste


HEAD = """
<script>
  window.gradioApp = window.gradioApp || function () {
    const app = document.getElementsByTagName("gradio-app");
    const el = app.length ? app[0] : document;
    return el.shadowRoot ? el.shadowRoot : el;
  };
  window.onUiLoaded = window.onUiLoaded || function (callback) {
    const wait = () => (gradioApp().querySelector("#txt2img_prompt") ? callback() : setTimeout(wait, 50));
    wait();
  };
  window.onUiUpdate = window.onUiUpdate || function () {};
  window.opts = window.opts || {};
</script>
<script src="/demo-assets/javascript/task_scheduler.js"></script>
<script type="module" src="/demo-assets/javascript/task_queue.mjs"></script>
"""
# the WebUI puts the stylesheets at the end of the body (css_html), after every gradio stylesheet in
# the head, even the ones gradio adds later: a rule of style.css wins over gradio's of the same weight
BODY_END = """
<link rel="stylesheet" href="/demo-assets/style.css">
"""


def _inject_page_assets(gr: Any) -> None:
    """Put the page scripts (head) and the stylesheet (end of body) into gradio's page, as the WebUI does."""
    templates = gr.routes.templates
    original = getattr(templates, "_demo_original", None) or templates.TemplateResponse
    templates._demo_original = original

    def template_response(*args: Any, **kwargs: Any) -> Any:
        response = original(*args, **kwargs)
        response.body = response.body.replace(b"</head>", HEAD.encode() + b"</head>")
        response.body = response.body.replace(b"</body>", BODY_END.encode() + b"</body>")
        response.init_headers()
        return response

    templates.TemplateResponse = template_response


def _params_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "task_scheduler_params_script", ROOT / "scripts" / "task_scheduler_params.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.TaskSchedulerParams


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", choices=list(webui_double.FLAVOURS), default="forge")
    parser.add_argument("--port", type=int, default=7861)
    parser.add_argument("--root", default=str(ROOT / "tests" / "artifacts" / "demo"))
    parser.add_argument("--step-delay", type=float, default=0.05, help="seconds per fake sampling step")
    parser.add_argument("--paused", action="store_true", help="start with the queue paused")
    parser.add_argument(
        "--db", default=None, help="the store: a PostgreSQL URL (default: SQLite under --root)"
    )
    parser.add_argument("--gradio-auth", default=None, help="user:password for gradio's login")
    parser.add_argument("--api-auth", default=None, help="user:password for the API (HTTP Basic)")
    parser.add_argument("--history", type=int, default=0, help="fill the history with this many tasks")
    parser.add_argument("--tab", default="txt2img", help="the tab shown first (task_queue for the tab)")
    return parser.parse_args(argv)


def fill_history(queue: Any, count: int) -> None:
    """``count`` finished tasks (a tenth failed), written in one transaction per thousand."""
    from task_scheduler.task import NewTask, TaskResult, TaskStatus

    done = 0
    while done < count:
        chunk = min(1000, count - done)
        news = [
            NewTask(
                kind="txt2img",
                params={
                    "prompt": f"history task {done + i}, a cat",
                    "steps": 20,
                    "width": 512,
                    "height": 512,
                },
                name=f"old {done + i}",
            )
            for i in range(chunk)
        ]
        created = queue.enqueue_many(news)
        with queue.store.write() as conn:
            now = queue.store.clock()
            for i, task in enumerate(created):
                failed = (done + i) % 10 == 9
                status = TaskStatus.FAILED if failed else TaskStatus.DONE
                queue.store.transition(
                    conn, task.id, TaskStatus.RUNNING, started_at=now - 5, finished_at=None
                )
                queue.store.transition(
                    conn,
                    task.id,
                    status,
                    finished_at=now,
                    result=None if failed else TaskResult(images=[], infotexts=[task.prompt]),
                    error="RuntimeError: boom" if failed else None,
                )
        done += chunk


def main(argv: list[str] | None = None) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    demo = Demo(args)
    if args.history:
        fill_history(demo.queue, args.history)
    url = demo.launch()
    print("DEMO_URL " + url + " " + json.dumps({"flavour": args.flavour}), flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
        time.sleep(0.1)


if __name__ == "__main__":
    main()
