"""A test double of the Stable Diffusion WebUI (Forge, A1111 and Forge Neo flavours) for CI without torch/GPU.

``install(flavour, root)`` makes the fake ``modules`` (and, for Forge, ``modules_forge``) packages
importable, configures the flavour, creates output/model folders and checkpoint files under
``root``, builds the txt2img/img2img script runners as the UI would, and (Forge) starts the fake
main-thread loop in a daemon thread named ``"shim-main-thread"``. ``env.uninstall()`` undoes it all;
every module-level global lives in the purged modules, so each install starts fresh.

Modules imported *before* an install keep pointing at the previous install's objects: import
``modules`` (and extension code that imports it at module level) after ``install()``.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import pathlib
import random
import string
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from webui_double import components, shim_config, ui_build
from webui_double.shim_config import A1111, FLAVOURS, FORGE, NEO

__all__ = [
    "A1111",
    "DEFAULT_CHECKPOINTS",
    "FLAVOURS",
    "FORGE",
    "NEO",
    "Env",
    "FakeRequest",
    "forge_outputs",
    "install",
    "installed",
    "stack_flavour",
]

HERE = pathlib.Path(__file__).resolve().parent
FORGE_ONLY = HERE / "forge_only"
#: the LoRA extension's folder (``extensions-builtin/Lora`` / ``sd_forge_lora``): ``networks``
LORA_BUILTIN = HERE / "lora_builtin"
PURGED_PACKAGES = ("modules", "modules_forge", "lib_controlnet", "networks", "backend")
DEFAULT_CHECKPOINTS = ("random-sd15-a.safetensors", "random-sd15-b.safetensors")
TABS = ui_build.TABS

_current: Env | None = None


class FakeRequest:
    """Stands in for ``gr.Request``: txt2img/img2img only read ``request.username``."""

    def __init__(self, username: str | None = None):
        self.username = username
        self.headers: dict[str, str] = {}
        self.session_hash = None

    def __repr__(self) -> str:
        return f"FakeRequest(username={self.username!r})"


def _purge_modules() -> None:
    for name in list(sys.modules):
        if any(name == pkg or name.startswith(pkg + ".") for pkg in PURGED_PACKAGES):
            del sys.modules[name]


def _remove_paths() -> None:
    for path in (str(HERE), str(FORGE_ONLY), str(LORA_BUILTIN)):
        while path in sys.path:
            sys.path.remove(path)


def _new_task_id() -> str:
    return "task(" + "".join(random.choices(string.ascii_lowercase + string.digits, k=15)) + ")"


class Env:
    """An installed double. Create with ``install()``."""

    def __init__(self, config: shim_config.ShimConfig, checkpoints: Sequence[str]):
        self._config = config
        self.checkpoints = tuple(checkpoints)
        self.ui: dict[str, ui_build.TabUi] = {}
        self.ui_tabs: list = []
        self.app = None
        self._scripts: list[tuple[Callable, tuple[str, ...] | None]] = []
        self.installed = True

    # -- identity -------------------------------------------------------------------------------

    @property
    def flavour(self) -> str:
        return self._config.flavour

    @property
    def root(self) -> pathlib.Path:
        return self._config.root

    @property
    def is_forge(self) -> bool:
        """Forge or Forge Neo."""
        return self._config.is_forge

    @property
    def is_neo(self) -> bool:
        return self._config.is_neo

    @property
    def model_loads(self) -> list[str]:
        """Checkpoint names in load order (A1111 loads the selected one at install; Forge lazily)."""
        return self._config.model_loads

    @property
    def generations(self) -> list[shim_config.Generation]:
        """One record per fake sampling run (thread name, checkpoint, prompt, seeds, image count)."""
        return self._config.generations

    @property
    def main_thread(self) -> threading.Thread | None:
        return self._config.main_thread

    # -- fault and timing injection -------------------------------------------------------------

    @property
    def model_lock_waiters(self) -> int:
        """Threads blocked on ``sd_models.model_data.lock`` (A1111: waiting for a load)."""
        from modules import sd_models

        return sd_models.model_data.lock.waiting

    def finish_start_load(self) -> None:
        """Let a start-up load held by ``install(hold_start_load=True)`` finish, and wait for it."""
        gate, thread = self._config.start_load_gate, self._config.start_load_thread
        if gate is not None:
            gate.set()
        if thread is not None:
            thread.join()

    def set_step_delay(self, seconds: float) -> None:
        """The fake sampler sleeps this long per step (default 0)."""
        self._config.step_delay = float(seconds)

    def fail_at_step(self, step: int, exc: BaseException | None, *, once: bool = False) -> None:
        """Raise ``exc`` inside process_images at sampling step ``step`` (0-based); None clears.

        With ``once=True`` the failure fires a single time and then clears itself.
        """
        self._config.fail_step = step if exc is not None else None
        self._config.fail_exc = exc
        self._config.fail_once = once

    def set_max_batch(self, images: int | None) -> None:
        """A device that holds at most ``images`` per sampling pass (None: any number)."""
        self._config.max_batch = images

    def set_video_output(self, on: bool) -> None:
        """Neo: a Wan model is loaded: the batch size counts a video's frames, and a run of more
        than one frame writes a video and sets ``Processed.video_path``."""
        self._config.video_output = bool(on)

    # -- scripts and UI -------------------------------------------------------------------------

    def _builtin_scripts(self) -> list[tuple[Callable, tuple[str, ...] | None]]:
        from modules.processing_scripts.refiner import ScriptRefiner
        from modules.processing_scripts.sampler import ScriptSampler
        from modules.processing_scripts.seed import ScriptSeed

        from webui_double.builtin_scripts import ForgeControlNet, PromptsFromFile, XYZPlot

        builtins: list = [ScriptSampler, ScriptRefiner, ScriptSeed]
        if self.is_forge:
            builtins.append(ForgeControlNet)
        builtins += [XYZPlot, PromptsFromFile]
        return [(cls, None) for cls in builtins]

    def rebuild_ui(self) -> None:
        """Re-create the runners and lay out every script (txt2img, img2img, Extras) like a UI build."""
        from modules import scripts

        from webui_double.postprocessing_scripts import POSTPROCESSING_SCRIPTS

        scripts.load_scripts()
        scripts.scripts_data.clear()
        scripts._shim_script_tabs.clear()
        for factory, tabs in self._scripts:
            path = _source_file(factory)
            scripts.scripts_data.append(scripts.ScriptClassData(factory, path, os.path.dirname(path), None))
            if tabs is not None:
                scripts._shim_script_tabs[factory] = tabs
        scripts.postprocessing_scripts_data.clear()
        for cls in POSTPROCESSING_SCRIPTS:
            path = _source_file(cls)
            scripts.postprocessing_scripts_data.append(
                scripts.ScriptClassData(cls, path, os.path.dirname(path), None)
            )
        self.ui = {tab: ui_build.build_tab(tab) for tab in TABS}
        scripts.scripts_postproc.setup_ui()  # the Extras tab

    def add_script(self, script: Any, tabs: Sequence[str] = TABS) -> None:
        """Register an extension script (a Script subclass, or an instance to copy per tab) and rebuild."""
        if isinstance(script, type):
            factory = script
        else:
            template = script

            def factory(template=template):
                return copy.copy(template)

            factory.__name__ = type(template).__name__
            factory._shim_source = _source_file(type(template))
        unknown = set(tabs) - set(TABS)
        if unknown:
            raise ValueError(f"unknown tabs: {sorted(unknown)}")
        self._scripts.append((factory, tuple(tabs)))
        self.rebuild_ui()

    def remove_script(self, title: str) -> None:
        """Unregister every script with this title (case-insensitive) and rebuild."""
        kept = [(f, tabs) for f, tabs in self._scripts if f().title().lower() != title.lower()]
        if len(kept) == len(self._scripts):
            raise KeyError(f"no script titled {title!r}")
        self._scripts = kept
        self.rebuild_ui()

    def runner(self, tab: str):
        from modules import scripts

        return {"txt2img": scripts.scripts_txt2img, "img2img": scripts.scripts_img2img}[tab]

    def script(self, tab: str, title: str):
        """The live script instance titled ``title`` in ``tab``'s runner."""
        found = self.runner(tab).script(title)
        if found is None:
            raise KeyError(f"no script titled {title!r} in {tab}")
        return found

    def received(self, tab: str, title: str, hook: str = "setup") -> list[tuple]:
        """Arg tuples ``tab``'s runner passed to script ``title``'s ``hook`` (setup, process, run, …)."""
        return [
            args
            for name, t, args in self.runner(tab)._shim_calls
            if name == hook and t.lower() == title.lower()
        ]

    def named_parameters(self, tab: str) -> list[str]:
        """Named parameters after ``request`` of the flavour's txt2img / img2img function."""
        return ui_build.named_parameters(tab)

    def generate_args(self, tab: str, **named: Any) -> list:
        """The positional list the Generate button sends: ``[id_task, *named params, *script args]``.

        Keys: the flavour's parameter names; built-in script args by name (``steps``,
        ``sampler_name``, ``scheduler``, ``seed``, ``seed_checkbox``, ``subseed``,
        ``subseed_strength``, ``seed_resize_from_w/h``, ``enable_refiner``, ``refiner_checkpoint``,
        ``refiner_switch_at``); ``id_task``; ``script_args_by_title={title: [values]}`` (replaces the
        start of that script's slice); ``selected_script=title`` (or an index, 0 = None).
        """
        if tab not in self.ui:
            raise ValueError(f"unknown tab {tab!r}")
        tab_ui = self.ui[tab]
        runner = self.runner(tab)
        args = [copy.deepcopy(_event_value(c)) for c in tab_ui.inputs]
        args[0] = named.pop("id_task", _new_task_id())
        by_title = named.pop("script_args_by_title", {}) or {}
        selected = named.pop("selected_script", None)
        offset = tab_ui.script_args_offset

        positions = {name: i + 1 for i, name in enumerate(tab_ui.named)}
        for script in runner.alwayson_scripts:
            for j, name in enumerate(getattr(script, "_shim_arg_names", ())):
                positions.setdefault(name, offset + script.args_from + j)
        for key, value in named.items():
            if key not in positions:
                raise TypeError(f"{self.flavour} {tab}: unknown parameter {key!r}")
            args[positions[key]] = value

        if selected is not None:
            if isinstance(selected, int):
                index = selected
            else:
                titles = [t.lower() for t in runner.titles]
                if selected.lower() not in titles:
                    raise KeyError(f"no selectable script titled {selected!r}; have {runner.titles}")
                index = titles.index(selected.lower()) + 1
            args[offset] = index

        for title, values in by_title.items():
            script = runner.script(title)
            if script is None:
                raise KeyError(f"no script titled {title!r} in {tab}")
            size = script.args_to - script.args_from
            if len(values) > size:
                raise ValueError(f"{title!r} takes {size} args, got {len(values)}")
            for j, value in enumerate(values):
                args[offset + script.args_from + j] = value
        return args

    def script_args_slice(self, tab: str, title: str) -> slice:
        """Where ``title``'s args sit in a ``generate_args`` list."""
        script = self.script(tab, title)
        offset = self.ui[tab].script_args_offset
        return slice(offset + script.args_from, offset + script.args_to)

    # -- driving the WebUI ------------------------------------------------------------------------

    def entry(self, tab: str) -> Callable:
        """``modules.txt2img.txt2img`` or ``modules.img2img.img2img`` (what Generate is bound to)."""
        if tab == "txt2img":
            import modules.txt2img

            return modules.txt2img.txt2img
        import modules.img2img

        return modules.img2img.img2img

    def call(self, tab: str, args: Sequence, request: Any = None):
        """Call the tab's entry function directly with a ``generate_args`` list (no lock, no state)."""
        request = FakeRequest() if request is None else request
        return self.entry(tab)(args[0], request, *args[1:])

    def click_generate(self, tab: str, request: Any = None, **named: Any):
        """What a Generate click runs: ``wrap_gradio_gpu_call(entry)(id_task, request, *args)``."""
        from modules import call_queue

        args = self.generate_args(tab, **named)
        request = FakeRequest() if request is None else request
        fn = call_queue.wrap_gradio_gpu_call(self.entry(tab), extra_outputs=[None, "", ""])
        return fn(args[0], request, *args[1:])

    def simulate_startup(self, app: Any = None, demo: Any = None):
        """webui.py's UI start: before_ui, ui_settings, runners, ui_tabs, paste wiring, app_started."""
        from modules import infotext_utils, progress, script_callbacks

        script_callbacks.before_ui_callback()
        script_callbacks.ui_settings_callback()
        self.rebuild_ui()
        self.ui_tabs = script_callbacks.ui_tabs_callback()
        infotext_utils.connect_paste_params_buttons()
        if app is None:
            app = _new_app()
        if hasattr(app, "add_api_route"):
            progress.setup_progress_api(app)
        self.app = app
        script_callbacks.app_started_callback(demo, app)
        return app

    def simulate_reload(
        self, reload_scripts: Callable[[], Any] | None = None, app: Any = None, demo: Any = None
    ):
        """ "Reload UI": before_reload, script_unloaded (reverse), callbacks cleared, scripts re-imported
        (``reload_scripts``), then a fresh ``simulate_startup`` with a new app."""
        from modules import script_callbacks

        script_callbacks.app_reload_callback()
        script_callbacks.script_unloaded_callback()
        script_callbacks.clear_callbacks()
        if reload_scripts is not None:
            reload_scripts()
        return self.simulate_startup(app=app, demo=demo)

    # -- lifecycle --------------------------------------------------------------------------------

    def _startup(self) -> None:
        from modules import call_queue, modelloader, sd_models, sd_vae, shared

        modelloader.load_upscalers()
        sd_vae.refresh_vae_list()
        sd_models.list_models()
        self._start_extra_networks()
        first = next(iter(sd_models.checkpoints_list.values()), None)
        if first is not None:
            shared.opts.data["sd_model_checkpoint"] = first.name
        if self.is_forge:
            from modules_forge import main_entry

            main_entry.refresh_models()
            main_entry.refresh_model_loading_parameters()
        else:
            shared.opts.onchange(
                "sd_model_checkpoint",
                call_queue.wrap_queued_call(lambda: sd_models.reload_model_weights()),
                call=False,
            )
            shared.opts.onchange(
                "sd_vae", call_queue.wrap_queued_call(lambda: sd_vae.reload_vae_weights()), call=False
            )
            if first is not None:
                # initialize.py: Thread(target=load_model).start(); the UI builds meanwhile
                thread = threading.Thread(
                    target=sd_models.load_model_at_start, name="shim-load-model", daemon=True
                )
                self._config.start_load_thread = thread
                thread.start()
                if self._config.start_load_gate is None:
                    thread.join()
        self._scripts = self._builtin_scripts()
        self.rebuild_ui()
        if self.is_forge and self._config.loop_in_process_main_thread:
            self._config.main_thread = threading.main_thread()  # the caller runs loop() there
        elif self.is_forge:
            from modules_forge import main_thread

            thread = threading.Thread(target=main_thread.loop, name="shim-main-thread", daemon=True)
            self._config.main_thread = thread
            thread.start()

    def _start_extra_networks(self) -> None:
        """As ``initialize.py`` and the LoRA extension do: the registry, LoRAs, hypernetworks,
        embeddings (A1111 in ``sd_hijack``, Forge / Neo in ``ui_extra_networks_textual_inversion``)."""
        import importlib

        from modules import extra_networks, shared

        extra_networks.initialize()
        if not self.is_neo:
            extra_networks.register_default_extra_networks()
            shared.reload_hypernetworks()
        importlib.import_module("networks").before_ui()
        self.embedding_db().load_textual_inversion_embeddings(force_reload=True)

    def embedding_db(self) -> Any:
        """The flavour's embedding database (``word_embeddings``: name -> embedding)."""
        if self.is_forge:
            from modules import ui_extra_networks_textual_inversion

            return ui_extra_networks_textual_inversion.embedding_db
        from modules import sd_hijack

        return sd_hijack.model_hijack.embedding_db

    def add_lora(self, name: str, *, refresh: bool = True) -> pathlib.Path:
        """Put ``models/Lora/<name>.safetensors``; the WebUI lists it after a refresh (its button)."""
        path = self.root / "models" / "Lora" / f"{name}.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"fake lora")
        if refresh:
            self.refresh_loras()
        return path

    def remove_lora(self, name: str, *, refresh: bool = True) -> None:
        (self.root / "models" / "Lora" / f"{name}.safetensors").unlink()
        if refresh:
            self.refresh_loras()

    def refresh_loras(self) -> None:
        """The Lora tab's refresh button: ``networks.list_available_networks()``."""
        sys.modules["networks"].list_available_networks()

    def uninstall(self) -> None:
        """Stop the main-thread loop, drop the fake modules and the path entries, reset all globals."""
        global _current
        if not self.installed:
            return
        self.installed = False
        if self._config.start_load_gate is not None:
            self.finish_start_load()
        if self._config.main_thread is not None:
            main_thread = sys.modules.get("modules_forge.main_thread")
            if main_thread is not None:
                main_thread._shim_stop_loop()
        _purge_modules()
        _remove_paths()
        if shim_config.current is self._config:
            shim_config.reset()
        components.reset_ids()
        if _current is self:
            _current = None

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc_info) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self.installed else "uninstalled"
        return f"<webui_double.Env {self.flavour} {state} root={str(self.root)!r}>"


def _event_value(component) -> Any:
    event_value = getattr(component, "event_value", None)
    return event_value() if callable(event_value) else getattr(component, "value", None)


def _source_file(obj) -> str:
    source = getattr(obj, "_shim_source", None)
    if source:
        return source
    try:
        return inspect.getsourcefile(obj) or "<webui_double>"
    except TypeError:
        return "<webui_double>"


def _new_app():
    """The app the WebUI's routes live on: gradio's ``App``, whose default response class is its
    ORJSON one (no integers beyond 64 bits, at most 255 levels of nesting)."""
    try:
        from fastapi import FastAPI
    except ImportError:
        return None
    try:
        from gradio.routes import ORJSONResponse
    except ImportError:  # pragma: no cover - both stacks ship gradio
        return FastAPI()
    return FastAPI(default_response_class=ORJSONResponse)


def _write_checkpoint(path: pathlib.Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(f"fake checkpoint {name}\n".encode() * 256)


def install(
    flavour: str,
    root: os.PathLike | str,
    checkpoints: Sequence[str] = DEFAULT_CHECKPOINTS,
    *,
    hold_start_load: bool = False,
    loop_in_process_main_thread: bool = False,
    loras: Sequence[str] = (),
    embeddings: Sequence[str] = (),
    hypernetworks: Sequence[str] = (),
) -> Env:
    """Install the double for ``flavour`` ("forge", "a1111" or "neo") with all files under ``root``.

    A1111 loads the selected checkpoint in a start-up thread; ``install`` waits for it unless
    ``hold_start_load``: then that load stays in progress (``model_data.lock`` held,
    ``sd_model`` None) until ``env.finish_start_load()``. Forge and Neo load nothing at start.
    ``loop_in_process_main_thread`` (Forge, Neo; for a WebUI *process*, not under pytest): start
    no loop thread; the caller runs ``modules_forge.main_thread.loop()`` in the process's main
    thread, as ``webui.py`` does, and the UI's start-up in another thread.
    """
    global _current
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
    if _current is not None:
        _current.uninstall()
    _purge_modules()
    _remove_paths()

    root = pathlib.Path(root).resolve()
    config = shim_config.reset(shim_config.ShimConfig(flavour=flavour, root=root))
    if hold_start_load:
        config.start_load_gate = threading.Event()
    config.loop_in_process_main_thread = loop_in_process_main_thread
    for sub in ("models/Stable-diffusion", "models/VAE", "extensions", "extensions-builtin", "outputs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name in checkpoints:
        _write_checkpoint(root / "models" / "Stable-diffusion" / name, name)
    for folder, names, suffix in (
        ("models/Lora", loras, ".safetensors"),
        ("embeddings", embeddings, ".pt"),
        ("models/hypernetworks", hypernetworks, ".pt"),
    ):
        for name in names:
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{name}{suffix}").write_bytes(b"fake network")

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(LORA_BUILTIN))
    if config.is_forge:
        sys.path.insert(0, str(FORGE_ONLY))
    import importlib

    importlib.invalidate_caches()
    components.reset_ids()

    env = Env(config, checkpoints)
    _current = env
    try:
        import modules.shared  # noqa: F401

        env._startup()
    except BaseException:
        env.uninstall()
        raise
    return env


@contextlib.contextmanager
def installed(
    flavour: str,
    root: os.PathLike | str,
    checkpoints: Sequence[str] = DEFAULT_CHECKPOINTS,
    *,
    hold_start_load: bool = False,
) -> Iterator[Env]:
    """``with installed("forge", tmp) as env:`` — install, yield, uninstall."""
    env = install(flavour, root, checkpoints, hold_start_load=hold_start_load)
    try:
        yield env
    finally:
        env.uninstall()


def stack_flavour() -> str:
    """The flavour of the WebUI whose packages this test run has: ``$TASK_SCHEDULER_STACK``
    (``tests/run`` sets it to forge, a1111 or neo), else by gradio's major version (4: Forge)."""
    stack = os.environ.get("TASK_SCHEDULER_STACK", "")
    if stack in FLAVOURS:
        return stack
    import gradio

    return FORGE if int(gradio.__version__.split(".")[0]) >= 4 else A1111


def forge_outputs(result: Any) -> Any:
    """Generate's outputs as Forge / A1111 return them, ``(images, generation_info_js, info_html,
    comments_html)``, whatever the flavour: Neo's five outputs start with two ``gr.update`` dicts
    (gallery, video), which become the gallery's images. Tests only; None stays None."""
    if not isinstance(result, tuple) or len(result) != 5 or not isinstance(result[0], dict):
        return result
    gallery = result[0].get("value")
    return (list(gallery) if gallery is not None else [], *result[2:])


def current() -> Env | None:
    """The installed env, if any."""
    return _current
