"""The Queue button in a real WebUI, driven in headless Chromium (opt-in, slow).

Set TASK_SCHEDULER_EXTENSION_URL to a running Forge (or Forge Neo, or A1111) that has this extension installed
and at least two checkpoints, e.g. ``http://127.0.0.1:7860``. The tests pause the queue, queue
with the real button, run each task with *run now*, then press the WebUI's own Generate with the
same settings and compare the two images. They delete the tasks and jobs they made and
leave the queue paused as they found it; screenshots go to ``tests/artifacts/real-*.png``.
Generation settings are tiny (64x64, 2 steps) so that a CPU-only WebUI finishes in seconds.
Images are compared by size, mode, colours and infotext, on A1111 by bytes (``assert_same_image``).

The flavour is read from the page (``page.flavour``): Forge and Neo draw img2img's inputs with
Forge's canvas (``.forge-drawing-canvas``), A1111 (gradio 3.41) with gradio's image editor and
sketch tool; Neo's footer names its version.
"""

from __future__ import annotations

import base64
import io
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

URL = (os.environ.get("TASK_SCHEDULER_EXTENSION_URL") or "").rstrip("/")
API = "/task-scheduler/v1"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
pytestmark = pytest.mark.skipif(
    not URL, reason="set TASK_SCHEDULER_EXTENSION_URL to a WebUI with this extension installed"
)


#: Why the img2img tests press Generate once before queueing: in Forge on CPU the first img2img
#: of a WebUI process gives slightly different colours (±1 in a few thousand pixels) from every
#: later one with the same settings, whoever runs it; Generate, Generate, queued then agree.
WARM_UP = "first img2img of a process differs"

#: A1111 1.10's own page error, with or without this extension: its txt2img width and height
#: sliders also run ``onCalcResolutionHires`` (``javascript/hires_fix.js``) as a page-only event
#: with ``outputs=[]``; the function returns its six inputs and gradio 3.41 applies them to outputs
#: that do not exist. ``set_field`` takes exactly that one error off the list for those fields.
A1111_HIRES_PREVIEW_ERROR = "Cannot read properties of undefined (reading 'props')"
A1111_HIRES_PREVIEW_FIELDS = ("txt2img_width", "txt2img_height")

#: The flavours whose img2img inputs are Forge's canvas (``.forge-drawing-canvas``).
FORGE_CANVAS = ("forge", "neo")


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=URL + API, timeout=120) as client:
        paused = client.get("/queue").json()["paused"]
        client.post("/queue/pause")
        client.made = []  # type: ignore[attr-defined]
        client.made_jobs = []  # type: ignore[attr-defined]
        yield client
        for job_id in client.made_jobs:  # type: ignore[attr-defined]
            client.delete(f"/jobs/{job_id}")
        for task_id in client.made:  # type: ignore[attr-defined]
            client.delete(f"/tasks/{task_id}")
        if not paused:
            client.post("/queue/resume")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: Any) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(URL, timeout=180_000)
    page.wait_for_selector("#task_scheduler_txt2img_queue .task-scheduler-caret", timeout=180_000)
    page.evaluate(
        "window.__q = []; addEventListener('task-scheduler:queued', (e) => window.__q.push(e.detail))"
    )
    page.errors = errors
    page.flavour = flavour_of(page)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"real-{request.node.name}.png"), full_page=True)
    page.close()


# -- page helpers --------------------------------------------------------------------------------


def flavour_of(page: Any) -> str:
    """ "forge", "neo" or "a1111": Forge and Neo draw img2img's inputs with Forge's canvas; Neo's
    footer names its version (``neo-2.26``)."""
    if not page.locator(".forge-drawing-canvas").count():
        return "a1111"
    versions = page.locator(".versions").first.inner_text() if page.locator(".versions").count() else ""
    return "neo" if "neo" in versions.lower() else "forge"


def set_field(page: Any, elem_id: str, value: Any) -> None:
    """Type into a WebUI field (textbox, number, or a slider's number box) and commit it."""
    box = page.locator(f"#{elem_id} textarea, #{elem_id} input[type=number]").first
    box.fill(str(value))
    before = len(page.errors)
    box.press("Tab")
    if page.flavour == "a1111" and elem_id in A1111_HIRES_PREVIEW_FIELDS:
        deadline = time.monotonic() + 5
        while len(page.errors) == before and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        if page.errors[before : before + 1] == [A1111_HIRES_PREVIEW_ERROR]:
            del page.errors[before]


def open_tab(page: Any, elem_id: str) -> None:
    page.locator(f"button#{elem_id}-button, #tabs > .tab-nav button").filter(
        has_text=re.compile({"tab_txt2img": "txt2img", "tab_img2img": "img2img"}[elem_id], re.I)
    ).first.click()
    page.wait_for_selector(f"#{elem_id}", state="visible")


def click_queue(page: Any, api: httpx.Client, tab: str, **options: Any) -> dict:
    """Click Queue (or a menu entry) and return the click's answer; the new tasks are recorded."""
    before = page.evaluate("window.__q.length")
    if options:
        page.evaluate("([tab, options]) => window.taskSchedulerQueue.queue(tab, options)", [tab, options])
    else:
        page.locator(f"#task_scheduler_{tab}_queue").click()
    page.wait_for_function(f"window.__q.length > {before}", timeout=60_000)
    answer = page.evaluate("window.__q[window.__q.length - 1]")
    api.made.extend(answer.get("task_ids") or [])
    assert answer["ok"], answer["message"]
    toast = page.locator(".task-scheduler-toast").last.inner_text()
    assert toast == answer["message"]
    return answer


def run_task(api: httpx.Client, task_id: str, timeout: float = 300) -> dict:
    api.post(f"/tasks/{task_id}/run-now").raise_for_status()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = api.get(f"/tasks/{task_id}").json()
        if task["status"] not in ("pending", "running"):
            assert task["status"] == "done", task.get("error")
            return task
        time.sleep(0.5)
    raise AssertionError(f"task {task_id} did not finish")


def result_bytes(api: httpx.Client, task_id: str, index: int = 0) -> bytes:
    response = api.get(f"/tasks/{task_id}/results/{index}")
    response.raise_for_status()
    return response.content


def generate(page: Any, tab: str) -> bytes:
    """Press the WebUI's Generate and return the bytes of the image it shows."""
    gallery = f"#{tab}_gallery img"
    old = page.evaluate(f"Array.from(gradioApp().querySelectorAll('{gallery}')).map(i => i.src)")
    page.locator(f"#{tab}_generate").click()
    page.wait_for_function(
        """([sel, old]) => { const imgs = Array.from(gradioApp().querySelectorAll(sel));
            return imgs.length && imgs.every(i => !old.includes(i.src)); }""",
        arg=[gallery, old],
        timeout=300_000,
    )
    page.wait_for_function(
        f"() => !gradioApp().querySelector('#{tab}_interrupt') || "
        f"gradioApp().querySelector('#{tab}_interrupt').offsetParent === null",
        timeout=300_000,
    )
    src = page.evaluate(f"gradioApp().querySelector('{gallery}').src")
    response = page.request.get(src)
    assert response.ok, src
    return response.body()


def stored_bytes(api: httpx.Client, task_id: str, ref: str) -> bytes:
    """A file of the task as kept in the queue's file store (through the export)."""
    exported = {t["id"]: t for t in api.get("/export").json()}
    return base64.b64decode(exported[task_id]["files"][ref].split(",", 1)[1])


def stored_file(api: httpx.Client, task_id: str, ref: str) -> Image.Image:
    return Image.open(io.BytesIO(stored_bytes(api, task_id, ref)))


def pixels(image: Image.Image) -> list:
    return list(image.convert("RGB").getdata())


def assert_same_image(page: Any, generated: bytes, queued: bytes) -> None:
    """Same size, mode, colours and infotext; on A1111 the same bytes.

    Not bytes on Forge: its UI path writes RGBA PNGs whose alpha channel differs in a few hundred
    pixels (254 or 255) between two presses of Generate with identical settings, so two
    Generate images are not byte-identical either; the colours and the infotext are. A1111
    writes RGB PNGs, and there Generate's file and the queued task's are byte-identical.
    """
    if page.flavour == "a1111":
        assert generated == queued
    a, b = Image.open(io.BytesIO(generated)), Image.open(io.BytesIO(queued))
    assert (a.size, a.mode) == (b.size, b.mode)
    assert pixels(a) == pixels(b)
    assert a.info.get("parameters") == b.info.get("parameters") and b.info.get("parameters")


def noise_image(path: Path, seed: int, size: tuple[int, int] = (64, 64)) -> Path:
    image = Image.effect_noise(size, 60 + seed).convert("RGB")
    image.putpixel((0, 0), (seed % 256, 10, 200))
    image.save(path)
    return path


def draw_stroke(page: Any, canvas_id: str) -> None:
    """Draw one stroke across the middle of the image's canvas with the mouse: Forge's canvas, or
    the top ("interface") layer of gradio 3's sketch tool in A1111."""
    layer = "canvas.forge-drawing-canvas" if page.flavour in FORGE_CANVAS else "canvas[key=interface]"
    canvas = page.locator(f"#{canvas_id} {layer}").first
    canvas.scroll_into_view_if_needed()
    if page.flavour == "neo":
        # Neo's brush is 4 × its width in *image* pixels: the default 25 covers all of a 64×64
        # image in one stroke (Forge scales it to the screen); width 2 paints a line
        page.locator(f"#{canvas_id} input[id^=scribbleWidth_]").first.fill("2")
    box = canvas.bounding_box()
    y = box["y"] + box["height"] / 2
    # gradio 3's sketch tool draws from an animation-frame loop: it misses a stroke made without
    # frames in between, so there the mouse moves in small steps with pauses
    paced = page.flavour not in FORGE_CANVAS
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    if paced:
        page.wait_for_timeout(100)
    page.mouse.down()
    if paced:
        page.wait_for_timeout(100)
    for step in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.3 + 0.04 * step), y + step, steps=3 if paced else 1)
        if paced:
            page.wait_for_timeout(30)
    page.mouse.up()


# -- the tests -----------------------------------------------------------------------------------


def test_txt2img_queue_stores_the_values_and_makes_the_generate_image(page, api):
    prompt = f"queue button check {uuid.uuid4().hex[:6]}"
    set_field(page, "txt2img_prompt", prompt)
    for elem_id, value in (("seed", 1234), ("width", 64), ("height", 64), ("steps", 2)):
        set_field(page, f"txt2img_{elem_id}", value)
    queued_at = api.get("/queue").json()["revision"]
    answer = click_queue(page, api, "txt2img")
    assert re.fullmatch(rf"Queued '{prompt}' — \d+(st|nd|rd|th) in line", answer["message"])
    task = api.get(f"/tasks/{answer['task_ids'][0]}").json()
    assert task["status"] == "pending" and api.get("/queue").json()["revision"] > queued_at
    params = task["params"]
    assert (params["prompt"], params["seed"], params["width"], params["height"], params["steps"]) == (
        prompt,
        1234,
        64,
        64,
        2,
    )
    assert task["kind"] == "txt2img" and task["source"] == "ui" and task["checkpoint"]

    done = run_task(api, task["id"])
    assert done["result"]["seeds"][:1] == [1234]
    assert_same_image(page, generate(page, "txt2img"), result_bytes(api, task["id"]))
    assert page.errors == []


def test_img2img_upload_is_stored_pixel_equal_and_makes_the_generate_image(page, api, tmp_path):
    upload = noise_image(tmp_path / "init.png", 7)
    open_tab(page, "tab_img2img")
    page.locator("#img2img_image input[type=file]").first.set_input_files(str(upload))
    page.wait_for_timeout(500)
    set_field(page, "img2img_prompt", "queue button img2img")
    for elem_id, value in (("seed", 99), ("width", 64), ("height", 64), ("steps", 2)):
        set_field(page, f"img2img_{elem_id}", value)
    generate(page, "img2img")  # warm-up: see WARM_UP
    answer = click_queue(page, api, "img2img")
    task = api.get(f"/tasks/{answer['task_ids'][0]}").json()
    assert task["kind"] == "img2img" and task["params"]["mode"] == 0
    stored = stored_file(api, task["id"], task["params"]["init_img"]["$image"])
    assert pixels(stored) == pixels(Image.open(upload)) and stored.size == (64, 64)

    run_task(api, task["id"])
    assert_same_image(page, generate(page, "img2img"), result_bytes(api, task["id"]))
    assert page.errors == []


def test_inpaint_with_a_drawn_mask_makes_the_generate_image(page, api, tmp_path):
    upload = noise_image(tmp_path / "inpaint.png", 11)
    open_tab(page, "tab_img2img")
    page.locator("#img2img_inpaint_tab-button, #mode_img2img > .tab-nav button").filter(
        has_text=re.compile(r"^\s*Inpaint\s*$")
    ).first.click()
    page.locator("#img2maskimg input[type=file]").first.set_input_files(str(upload))
    page.wait_for_timeout(800)
    draw_stroke(page, "img2maskimg")
    page.wait_for_timeout(500)
    set_field(page, "img2img_prompt", "queue button inpaint")
    for elem_id, value in (("seed", 5), ("width", 64), ("height", 64), ("steps", 2)):
        set_field(page, f"img2img_{elem_id}", value)
    generate(page, "img2img")  # warm-up: see WARM_UP
    answer = click_queue(page, api, "img2img")
    task = api.get(f"/tasks/{answer['task_ids'][0]}").json()
    assert task["params"]["mode"] == 2
    if page.flavour in FORGE_CANVAS:
        # Forge's canvas sends the drawn strokes as a layer of their own: painted where drawn only
        layer = stored_file(api, task["id"], task["params"]["init_img_with_mask_fg"]["$image"])
        painted = sum(1 for *_, alpha in layer.convert("RGBA").getdata() if alpha)
        background_ref = task["params"]["init_img_with_mask"]["$image"]
    else:
        # gradio 3's sketch tool sends {image, mask}; the mask is the strokes' opacity as grey
        value = task["params"]["init_img_with_mask"]
        assert sorted(value) == ["image", "mask"]
        layer = stored_file(api, task["id"], value["mask"]["$image"])
        assert layer.size == (64, 64) and all(r == g == b for r, g, b in pixels(layer))
        painted = sum(1 for r, _, _ in pixels(layer) if r)
        background_ref = value["image"]["$image"]
    assert 0 < painted < layer.width * layer.height / 2
    background = stored_file(api, task["id"], background_ref)
    assert pixels(background) == pixels(Image.open(upload)) and background.size == (64, 64)

    run_task(api, task["id"])
    assert_same_image(page, generate(page, "img2img"), result_bytes(api, task["id"]))
    assert page.errors == []


def test_xyz_plot_from_the_queue_button_makes_the_generate_grid(page, api):
    """The Script dropdown set to X/Y/Z plot (X: Seed 1, 2): the queued task runs the script, and
    its grid is Generate's grid, pixel for pixel."""
    set_field(page, "txt2img_prompt", "queue button xyz")
    for elem_id, value in (("seed", 3), ("width", 64), ("height", 64), ("steps", 2)):
        set_field(page, f"txt2img_{elem_id}", value)
    script = page.locator("#tab_txt2img #script_list input").first
    script.click()
    script.fill("X/Y/Z plot")
    page.keyboard.press("Enter")
    values = page.locator("#script_txt2img_xyz_plot_x_values textarea").first
    values.wait_for(state="visible")
    assert page.locator("#script_txt2img_xyz_plot_x_type input").first.input_value() == "Seed"
    values.fill("1, 2")
    values.press("Tab")
    answer = click_queue(page, api, "txt2img")
    task = api.get(f"/tasks/{answer['task_ids'][0]}").json()
    assert task["script_name"] == "X/Y/Z plot"
    assert "1, 2" in task["script_args"]["X/Y/Z plot"]

    done = run_task(api, task["id"])
    assert sorted(done["result"]["seeds"]) == [1, 2]
    grid = Image.open(io.BytesIO(generate(page, "txt2img")))
    assert grid.width >= 128 and grid.height >= 64  # two 64x64 images side by side (and a legend)
    queued = [
        Image.open(io.BytesIO(result_bytes(api, task["id"], i))) for i in range(len(done["result"]["images"]))
    ]
    assert [pixels(q) for q in queued if q.size == grid.size] == [pixels(grid)]
    assert page.errors == []


def test_queue_with_all_checkpoints_makes_one_task_per_checkpoint(page, api):
    set_field(page, "txt2img_prompt", "every checkpoint")
    models = api.get("/checkpoints").json()
    assert len(models) >= 2
    answer = click_queue(page, api, "txt2img", checkpoints="all")
    tasks = [api.get(f"/tasks/{i}").json() for i in answer["task_ids"]]
    assert len(tasks) == len(models)
    assert sorted(t["checkpoint"] for t in tasks) == sorted(m.split(" [")[0] for m in models)
    assert {t["params"]["prompt"] for t in tasks} == {"every checkpoint"}
    # never run: deleted now, so that the sweep test below finds no pending task and runs
    for task in tasks:
        api.delete(f"/tasks/{task['id']}").raise_for_status()


def test_forge_controlnet_unit_image_is_stored_pixel_equal_and_restored(page, api, tmp_path):
    """Forge's built-in ControlNet, unit 0 with an uploaded image and ``reference_only`` (a
    preprocessor that needs no model file, and whose result depends on every pixel of the unit's
    image): the queued task stores the image pixel-equal, and running it makes Generate's image,
    which differs from the same settings without the unit."""
    unit = "txt2img_controlnet_ControlNet-0"
    if not page.locator(f"#{unit}_input_image").count():
        pytest.skip("this WebUI has no Forge built-in ControlNet")
    reference = noise_image(tmp_path / "reference.png", 23)
    set_field(page, "txt2img_prompt", "queue button controlnet")
    for elem_id, value in (("seed", 77), ("width", 64), ("height", 64), ("steps", 2)):
        set_field(page, f"txt2img_{elem_id}", value)
    without_unit = generate(page, "txt2img")

    page.locator("#txt2img_controlnet .label-wrap").first.click()
    page.locator(f"#{unit}_input_image input[type=file]").first.set_input_files(str(reference))
    page.wait_for_timeout(500)
    enable = page.locator(f"#{unit}_controlnet_enable_checkbox input[type=checkbox]")
    if not enable.is_checked():
        enable.check()
    dropdown = page.locator(f"#{unit}_controlnet_preprocessor_dropdown input").first
    dropdown.click()
    dropdown.fill("reference_only")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)

    answer = click_queue(page, api, "txt2img")
    task = api.get(f"/tasks/{answer['task_ids'][0]}").json()
    units = task["script_args"]["ControlNet"]
    assert units[0]["$dataclass"] == "lib_controlnet.external_code:ControlNetUnit"
    first = units[0]["fields"]
    assert first["enabled"] is True and first["module"] == "reference_only"
    assert [u["fields"]["enabled"] for u in units[1:]] == [False] * (len(units) - 1)
    # the canvas hands ControlNet a numpy RGBA array: stored as .npy, exact in dtype and shape
    array = np.load(io.BytesIO(stored_bytes(api, task["id"], first["image"]["$ndarray"])))
    assert array.dtype == np.uint8 and array.shape == (64, 64, 4)
    assert pixels(Image.fromarray(array)) == pixels(Image.open(reference))

    run_task(api, task["id"])
    queued = result_bytes(api, task["id"])
    assert "ControlNet 0" in Image.open(io.BytesIO(queued)).info["parameters"]
    assert_same_image(page, generate(page, "txt2img"), queued)
    assert pixels(Image.open(io.BytesIO(queued))) != pixels(Image.open(io.BytesIO(without_unit)))
    assert page.errors == []


def test_queue_as_sweep_runs_one_job_with_one_load_per_checkpoint_then_a_follow_up(page, api):
    """The Queue menu's "Queue as sweep…": 2 prompts × 3 seeds × 2 checkpoints = 12 tasks in one
    job that loads each checkpoint at most once; then, in the Task Queue tab's Jobs section, all
    but two images are discarded and "img2img at denoise 0.4" runs on the two kept ones."""
    if api.get("/queue").json()["total_pending"]:
        pytest.skip("the queue holds tasks of someone else; this test resumes it")
    models = [m.split(" [")[0] for m in api.get("/checkpoints").json()][:2]
    assert len(models) == 2
    set_field(page, "txt2img_prompt", "sweep base")
    for elem_id, value in (("width", 64), ("height", 64), ("steps", 2)):
        set_field(page, f"txt2img_{elem_id}", value)
    page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
    page.locator(".task-scheduler-menu .task-scheduler-sweep").click()
    dialog = page.locator(".tsj-dialog")
    dialog.locator(".tsj-sweep-name").fill("real sweep")
    dialog.locator(".tsj-axis-values").first.fill("a red cube\na blue ball")
    for axis, values in (("seed", "1-3"), ("checkpoint", ", ".join(models))):
        dialog.locator(".tsj-add-axis").click()
        dialog.locator(".tsj-axis-type").last.select_option(axis)
        dialog.locator(".tsj-axis-values").last.fill(values)
    page.wait_for_function("() => document.querySelector('.tsj-count').textContent === '12 tasks'")
    before = page.evaluate("window.__q.length")
    dialog.locator(".tsj-queue-sweep").click()
    page.wait_for_function(f"window.__q.length > {before}", timeout=60_000)
    answer = page.evaluate("window.__q[window.__q.length - 1]")
    api.made.extend(answer["task_ids"])
    assert answer["message"] == "Queued job 'real sweep' — 12 tasks", answer["message"]
    job_id = answer["job_id"]
    api.made_jobs.append(job_id)

    loads = api.get("/webui/stats").json()["model_loads"]
    api.post("/queue/resume")
    try:
        deadline = time.monotonic() + 600
        while api.get(f"/jobs/{job_id}").json()["status"] != "done":
            assert time.monotonic() < deadline, "the sweep did not finish"
            time.sleep(1)
    finally:
        api.post("/queue/pause")
    assert api.get("/webui/stats").json()["model_loads"] - loads <= 2
    tasks = sorted(api.get(f"/jobs/{job_id}/tasks").json()["tasks"], key=lambda t: t["started_at"])
    order = [t["checkpoint"] for t in tasks]
    assert len(order) == 12 and sum(1 for a, b in zip(order, order[1:], strict=False) if a != b) == 1, order

    page.locator("#tabs > .tab-nav button").filter(has_text="Task Queue").first.click()
    page.locator(".tsq-jobs > summary").click()
    view = page.locator(".tsq-jobs-host")
    view.locator(f".tsj-job[data-job-id='{job_id}'] .tsj-name").click()
    cells = view.locator(".tsj-cell")
    page.wait_for_function("() => document.querySelectorAll('.tsq-jobs-host .tsj-cell').length === 12")
    for index in range(2, 12):
        cells.nth(index).locator(".tsj-discard").click()
        page.wait_for_function(
            f"() => document.querySelectorAll(\".tsq-jobs-host .tsj-cell[data-mark='discarded']\").length "
            f"=== {index - 1}"
        )
    view.locator(".tsj-fu-denoise").fill("0.4")
    view.locator(".tsj-fu-go").click()
    deadline = time.monotonic() + 30
    while not (follow := [j for j in api.get("/jobs").json()["jobs"] if j["source_job_id"] == job_id]):
        assert time.monotonic() < deadline, "no follow-up job"
        time.sleep(0.3)
    api.made_jobs.append(follow[0]["id"])
    follow_tasks = api.get(f"/jobs/{follow[0]['id']}/tasks").json()["tasks"]
    api.made.extend(t["id"] for t in follow_tasks)
    assert len(follow_tasks) == 2
    for task in follow_tasks:
        done = run_task(api, task["id"])
        assert done["kind"] == "img2img" and done["params"]["denoising_strength"] == 0.4
    assert page.errors == []


def test_pause_now_in_the_tab_after_the_first_image_and_resume_in_the_tab(
    page: Any, api: httpx.Client
) -> None:
    """Issue 18 in a real WebUI: a batch-count-4 task, *Pause now* clicked in the Task Queue tab
    once its first image exists, *Resume* clicked there too: four images with consecutive seeds,
    pixel-equal to the four the WebUI's own ``/sdapi/v1/txt2img`` makes with the same values."""
    body = {"prompt": "tab pause check", "steps": 4, "width": 64, "height": 64, "cfg_scale": 5.0}
    body.update(seed=4321, n_iter=4, sampler_name="Euler")
    task_id = api.post("/queue/txt2img", json=body).json()["id"]
    api.made.append(task_id)  # type: ignore[attr-defined]
    page.locator("#tabs > .tab-nav button").filter(has_text="Task Queue").first.click()
    page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=60_000)
    api.post("/queue/resume")

    def seeds() -> list[int]:
        return (api.get(f"/tasks/{task_id}").json().get("result") or {}).get("seeds") or []

    try:
        page.locator(".tsq-pause-now").wait_for(timeout=300_000)
        deadline = time.monotonic() + 300
        while not seeds():
            assert time.monotonic() < deadline, "no first image"
            time.sleep(0.2)
        page.locator(".tsq-pause-now").click()
        deadline = time.monotonic() + 300
        while (parked := api.get(f"/tasks/{task_id}").json())["status"] != "pending":
            assert parked["status"] == "running", parked["status"]
            assert time.monotonic() < deadline, "the task did not go back to wait"
            time.sleep(0.3)
        kept = parked["result"]["seeds"]
        assert 1 <= len(kept) < 4 and kept == list(range(4321, 4321 + len(kept))), kept
        assert api.get("/queue").json()["paused"] is True
        page.wait_for_function(
            "() => !document.querySelector('.tsq-pause-now')?.offsetParent", timeout=30_000
        )
        page.locator(".tsq-pause").click()  # Resume
        deadline = time.monotonic() + 300
        while (done := api.get(f"/tasks/{task_id}").json())["status"] in ("pending", "running"):
            assert time.monotonic() < deadline, "the resumed task did not finish"
            time.sleep(0.5)
    finally:
        api.post("/queue/pause")
    assert done["status"] == "done" and done["result"]["seeds"] == [4321, 4322, 4323, 4324]
    print(
        f"\nkept at the pause: {kept}; after resume: {done['result']['seeds']}; attempts {done['attempts']}"
    )

    def pixels(png: bytes) -> bytes:
        with Image.open(io.BytesIO(png)) as image:
            return image.convert("RGB").tobytes()

    single = 64 * 64 * 3
    ours = api.get(f"/tasks/{task_id}/results").json()["images"]
    queued = [
        p for p in (pixels(base64.b64decode(i["image"].split(",", 1)[1])) for i in ours) if len(p) == single
    ]
    direct = httpx.post(URL + "/sdapi/v1/txt2img", json=body, timeout=600).json()["images"]
    generated = [p for p in (pixels(base64.b64decode(b64)) for b64 in direct) if len(p) == single]
    assert len(queued) == 4 and queued == generated
    assert page.errors == []
