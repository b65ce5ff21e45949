"""The Queue button in a real ``gr.Blocks`` wired like the WebUI (runs on gradio 4.40 and 3.41).

The demo mirrors ``create_ui``: a Generate button in a ``*_generate_box`` row, the Queue button
made by ``capture.on_after_component`` right after it, the tab's inputs (from the WebUI double,
so names and script slices are the flavour's), a ControlNet-like state handler on Generate's click
(``queue=False``, output: the unit's ``gr.State``, as Forge's built-in ControlNet registers it),
then the generation click with 4 outputs and the WebUI's ``submit`` JS. ``capture.bind`` must find
the generation, not the state handler, and a Queue click must store a task.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import types

import gradio as gr
import pytest
import webui_double
from fastapi.testclient import TestClient
from test_capture import UnitScript

from task_scheduler.webui import capture
from task_scheduler.webui.capture_events import find_generate_event, gradio_major

GRADIO = gradio_major()
JS = "js" if GRADIO >= 4 else "_js"


@pytest.fixture(autouse=True)
def fresh_capture():
    capture._tabs.clear()
    yield
    capture._tabs.clear()


def to_gradio(control):
    """A gradio component of the double's control's kind, holding its default."""
    value = control.value
    if control.kind == "state":
        return gr.State(value)
    common = {"elem_id": control.elem_id}
    if control.kind == "image":
        return gr.Image(type="pil", **common)
    if control.kind == "checkbox":
        return gr.Checkbox(value=bool(value), **common)
    if control.kind in ("slider", "number") and isinstance(value, (int, float)):
        return gr.Slider(minimum=-(2**32), maximum=2**32, value=value, **common)
    if isinstance(value, str) or value is None and control.kind == "textbox":
        return gr.Textbox(value=value or "", **common)
    return gr.JSON(value=value, **common)


def dummy_component():
    """Generate's first input, which its JS fills with the task id: A1111 (gradio 3) uses a hidden
    ``gr.Label``, Forge a hidden ``gr.Textbox``; the Queue button's JS puts its options there."""
    return gr.Label(visible=False) if GRADIO < 4 else gr.Textbox(visible=False)


@dataclasses.dataclass
class TabDemo:
    generate: object
    inputs: list
    unit_controls: list  # per unit: (enabled checkbox, module textbox, weight slider)


def build_demo(env, unit_handlers: bool = True):
    """A root Blocks like the WebUI's, for both tabs; returns (demo, {tab: TabDemo})."""
    from modules import call_queue

    tabs = {}
    with gr.Blocks() as demo:
        for tab in ("txt2img", "img2img"):
            ui = env.ui[tab]
            with gr.Column(elem_id=f"{tab}_actions_column"):
                with gr.Row(elem_id=f"{tab}_generate_box", elem_classes=["generate-box"]):
                    gr.Button("Interrupt", elem_id=f"{tab}_interrupt")
                    generate = gr.Button("Generate", elem_id=f"{tab}_generate", variant="primary")
                    capture.on_after_component(generate, elem_id=f"{tab}_generate", value="Generate")
                gr.Button("paste", elem_id="paste")
            inputs = [dummy_component(), *(to_gradio(c) for c in ui.inputs[1:])]
            unit_controls = []
            for component in inputs:
                unit = component.value if isinstance(component, gr.State) else None
                if not (unit_handlers and dataclasses.is_dataclass(unit)):
                    continue
                controls = (gr.Checkbox(value=False), gr.Textbox(value="None"), gr.Slider(0, 2, value=1.0))
                unit_type = type(unit)

                def ControlNetUnit(enabled, module, weight, unit_type=unit_type):  # noqa: N802 - as Forge names it
                    return unit_type(enabled=enabled, module=module, weight=weight)

                for control in controls:
                    control.change(fn=ControlNetUnit, inputs=list(controls), outputs=component)
                generate.click(fn=ControlNetUnit, inputs=list(controls), outputs=component, queue=False)
                unit_controls.append(controls)
            outputs = [gr.Gallery(), gr.Textbox(), gr.HTML(), gr.HTML()]
            generation = call_queue.wrap_gradio_gpu_call(env.entry(tab), extra_outputs=[None, "", ""])
            generate.click(
                fn=generation, inputs=inputs, outputs=outputs, show_progress=False, **{JS: f"submit_{tab}"}
            )
            tabs[tab] = TabDemo(generate, inputs, unit_controls)
    return demo, tabs


@pytest.fixture
def services(queue, files):
    return types.SimpleNamespace(queue=queue, files=files)


def queue_fn(demo, tab):
    """The BlockFunction bound to the Queue button (and, on gradio 3, its dependency dict)."""
    button = capture._tabs[tab].button
    if isinstance(demo.fns, dict):
        return next(f for f in demo.fns.values() if (button._id, "click") in f.targets), None
    index = next(
        i for i, d in enumerate(demo.dependencies) if d["trigger"] == "click" and button._id in d["targets"]
    )
    return demo.fns[index], demo.dependencies[index]


def answer(text: str) -> dict:
    """The click's JSON answer out of the inert HTML block the page watches."""
    match = re.fullmatch(r'<div class="task-scheduler-answer">(.*)</div>', text, re.S)
    assert match, text
    assert "<" not in match.group(1), "the answer must be escaped text"
    return json.loads(html.unescape(match.group(1)))


def with_units(env):
    if not env.is_forge:  # Forge's double has the built-in ControlNet already
        env.add_script(UnitScript)


def test_bind_finds_the_generation_not_the_state_handlers(webui):
    with_units(webui)
    demo, tabs = build_demo(webui)
    for tab, tab_demo in tabs.items():
        event = find_generate_event(demo, tab_demo.generate, tab)
        assert event.inputs == tab_demo.inputs
        assert event.name == tab
        assert len(event.replays) == len(tab_demo.unit_controls) > 0
        assert all(r.name == "ControlNetUnit" for r in event.replays)


def test_queue_click_is_bound_to_generates_inputs_without_submit_or_progress(webui, services):
    with_units(webui)
    demo, tabs = build_demo(webui)
    capture.bind(demo, services)
    for tab, tab_demo in tabs.items():
        block_fn, dependency = queue_fn(demo, tab)
        unit_inputs = [c for controls in tab_demo.unit_controls for c in controls]
        assert block_fn.inputs == tab_demo.inputs + unit_inputs
        js = block_fn.js if dependency is None else dependency["js"]
        queued = block_fn.queue if dependency is None else dependency["queue"]
        assert "taskSchedulerQueue.prepare" in js and "submit" not in js
        assert block_fn.outputs[0].elem_id == f"task_scheduler_{tab}_queue_result"
        assert queued is False
        assert capture.generate_inputs(tab) == tab_demo.inputs
        defaults = capture.ui_defaults(tab)
        assert defaults["prompt"] == "" and defaults["width"] == 512
        assert list(defaults) == webui.named_parameters(tab)


def test_the_queue_button_sits_after_generates_box_not_inside_it(webui):
    demo, _ = build_demo(webui, unit_handlers=False)
    for tab in ("txt2img", "img2img"):
        button = capture._tabs[tab].button
        row = button.parent
        assert row.elem_id == f"task_scheduler_{tab}_queue_row"
        assert row.parent.elem_id == f"{tab}_actions_column"
        siblings = [getattr(c, "elem_id", None) for c in row.parent.children]
        assert siblings.index(f"{tab}_generate_box") + 1 == siblings.index(row.elem_id)


def test_clicking_queue_stores_a_task_with_the_replayed_unit(webui, services, queue, files):
    with_units(webui)
    demo, tabs = build_demo(webui)
    capture.bind(demo, services)
    block_fn, _ = queue_fn(demo, "txt2img")
    args = webui.generate_args("txt2img", prompt="a cat", seed=1234, width=64, height=64, steps=2)
    controls = [[False, "None", 1.0] for _ in tabs["txt2img"].unit_controls]
    controls[0] = [True, "canny", 0.5]  # edited in the UI; the gr.State still holds the old unit
    result = answer(block_fn.fn(webui_double.FakeRequest("ann"), *args, *sum(controls, [])))
    assert result["ok"], result
    assert result["message"] == "Queued 'a cat' — 1st in line"
    task = queue.get(result["task_ids"][0])
    assert (task.params["prompt"], task.params["seed"], task.params["steps"]) == ("a cat", 1234, 2)
    assert (task.params["width"], task.params["height"]) == (64, 64)
    assert task.user == "ann"
    assert (task.source, task.needs_webui) == ("ui", webui.flavour)  # only this WebUI's workers take it
    title = "ControlNet" if webui.is_forge else "ControlNet-like"
    first = task.script_args[title][0]["fields"]
    assert (first["enabled"], first["module"], first["weight"]) == (True, "canny", 0.5)


def test_a_refused_click_answers_with_the_reason(webui, services, queue):
    from webui_double.extensions import OpaqueStateScript

    webui.add_script(OpaqueStateScript)
    demo, _ = build_demo(webui, unit_handlers=False)
    capture.bind(demo, services)
    block_fn, _ = queue_fn(demo, "txt2img")
    result = answer(block_fn.fn(webui_double.FakeRequest(None), *webui.generate_args("txt2img")))
    assert not result["ok"] and "Opaque State" in result["message"]
    assert queue.pending() == []


def _predict(client, fn_index, data):
    body = {"data": data, "fn_index": fn_index, "session_hash": "test-session"}
    if GRADIO >= 4:
        body["event_data"] = None
    response = client.post("/run/predict", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_queue_click_through_gradios_http_api(webui, services, queue):
    """The real request path: gradio preprocesses the values and injects gr.Request."""
    demo, tabs = build_demo(webui, unit_handlers=False)
    capture.bind(demo, services)
    block_fn, _ = queue_fn(demo, "txt2img")
    fn_index = block_fn._id if GRADIO >= 4 else demo.fns.index(block_fn)
    if GRADIO >= 4:
        from gradio.routes import App

        app = App.create_app(demo)
    else:
        demo.config = demo.get_config_file()
        from gradio.routes import App

        app = App.create_app(demo)
    args = webui.generate_args("txt2img", prompt="over http", seed=-1, width=64, height=64, steps=3)
    data = [
        None if isinstance(c, (gr.State, gr.Image)) else v for c, v in zip(block_fn.inputs, args, strict=True)
    ]
    data[0] = json.dumps({"at": "top"})  # what the page's prepare() puts in the id_task slot
    with TestClient(app) as client:
        first = answer(_predict(client, fn_index, data)[0])
        second = answer(_predict(client, fn_index, data)[0])
    assert first["ok"] and second["ok"], (first, second)
    assert second["message"] == "Queued 'over http' — 1st in line"  # queued at the top
    pending = queue.pending()
    assert [t.id for t in pending] == [second["task_ids"][0], first["task_ids"][0]]
    assert pending[0].params["seed"] == -1 and pending[0].params["steps"] == 3
    assert pending[0].user is None


def test_bind_without_a_ui_or_without_a_queue_does_nothing(webui, services):
    capture.bind(None, services)
    demo, _ = build_demo(webui, unit_handlers=False)
    capture.bind(demo, None)
    assert capture.ui_defaults("txt2img") == {}


def test_the_button_can_be_turned_off_in_settings(webui):
    from modules import shared

    capture.register_settings(("task_scheduler", "Task Scheduler"))
    assert shared.opts.task_scheduler_queue_button is True
    assert shared.opts.task_scheduler_checkpoint_picker is False
    assert shared.opts.task_scheduler_queue_shortcut == "Ctrl+E"
    shared.opts.data["task_scheduler_queue_button"] = False
    build_demo(webui, unit_handlers=False)
    assert capture._tabs == {}


def test_the_checkpoint_picker_chooses_the_queued_tasks_checkpoint(webui, services, queue):
    from modules import shared

    capture.register_settings(("task_scheduler", "Task Scheduler"))
    shared.opts.data["task_scheduler_checkpoint_picker"] = True
    demo, _ = build_demo(webui, unit_handlers=False)
    capture.bind(demo, services)
    picker = capture._tabs["txt2img"].picker
    assert picker.elem_id == "task_scheduler_txt2img_checkpoint"
    block_fn, _ = queue_fn(demo, "txt2img")
    assert block_fn.inputs[-1] is picker
    args = webui.generate_args("txt2img")
    result = answer(block_fn.fn(webui_double.FakeRequest(None), *args, "random-sd15-b.safetensors"))
    assert queue.get(result["task_ids"][0]).checkpoint == "random-sd15-b.safetensors"
    result = answer(block_fn.fn(webui_double.FakeRequest(None), *args, capture.CURRENT_CHECKPOINT))
    assert queue.get(result["task_ids"][0]).checkpoint == "random-sd15-a.safetensors"


def test_a_prompt_with_markup_comes_back_as_escaped_text(webui, services):
    demo, _ = build_demo(webui, unit_handlers=False)
    capture.bind(demo, services)
    block_fn, _ = queue_fn(demo, "txt2img")
    args = webui.generate_args("txt2img", prompt="<img src=x onerror=alert(1)>")
    result = answer(block_fn.fn(webui_double.FakeRequest(None), *args))  # asserts the escaping
    assert result["message"].startswith("Queued '<img src=x onerror=al")


def test_a_button_that_cannot_be_bound_says_so_when_clicked(webui, services, queue, monkeypatch):
    build_layout = capture.build_layout

    def refuse_txt2img(tab, inputs):
        if tab == "txt2img":
            raise ValueError("txt2img: Generate sends 140 values but ... account for 139")
        return build_layout(tab, inputs)

    monkeypatch.setattr(capture, "build_layout", refuse_txt2img)
    demo, _ = build_demo(webui, unit_handlers=False)
    capture.bind(demo, services)
    block_fn, _ = queue_fn(demo, "txt2img")
    assert block_fn.inputs == []
    result = answer(block_fn.fn())
    assert not result["ok"] and "could not be connected to Generate" in result["message"]
    assert "140 values" in result["message"]
    assert queue.pending() == []
    img2img_fn, _ = queue_fn(demo, "img2img")  # the other tab is unaffected
    assert answer(img2img_fn.fn(webui_double.FakeRequest(None), *webui.generate_args("img2img")))["ok"]
