"""One checker for every way a task enters the queue: names, sizes and scripts the WebUI lacks.

A task is checked against a :class:`~.catalog.Catalog` of what the WebUI has when it is queued
(the Queue button and its menu, both APIs, sweeps and jobs, follow-ups, import, the edit of a
pending task: all of them end in :meth:`~.task_queue.TaskQueue.enqueue_many` or
:meth:`~.task_queue.TaskQueue.edit`) and again when it starts. Problems come in two kinds:

* **errors** refuse the task: an unknown checkpoint, VAE / text encoder, sampler, scheduler,
  upscaler or selected script, a size the model cannot take, a denoising strength outside 0–1;
* **warnings** queue it marked: an unknown LoRA / LyCORIS / hypernetwork (the WebUI prints a line
  and generates without it), a ``<kind:...>`` tag the WebUI does not understand, a word one letter
  away from an embedding (it would be read as plain text), a style or an extension script that
  is not installed (the WebUI ignores them).

:class:`CheckSettings` makes unknown extra networks errors, turns every warning into an error
(``strict``), and chooses what a new warning at the start of a task does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .catalog import Catalog, CatalogIndex, Lookup
from .errors import InvalidTaskData
from .prompt_networks import PROMPT_PARAMS, networks_in, without_networks

Severity = Literal["error", "warning"]
#: the model works on latents of 1/8 of the image size
SIZE_STEP = 8
MIN_SIZE = SIZE_STEP
#: values of the WebUI's "same as the first pass" choices and "nothing chosen"
_SAME = {"", "none", "use same checkpoint", "use same sampler", "use same scheduler"}
_VAE_DEFAULTS = {"automatic", "none", ""}
#: the network kinds whose unknown names are the "extra network" warning kind
NETWORK_KINDS = {"lora": "LoRA", "lyco": "LyCORIS", "hypernet": "hypernetwork"}
#: every kind of problem and its severity before the settings (``network`` follows
#: ``networks_are_errors``; ``strict`` makes every one an error)
PROBLEM_KINDS: dict[str, Severity] = {
    "checkpoint": "error",
    "vae": "error",
    "text_encoder": "error",
    "sampler": "error",
    "scheduler": "error",
    "upscaler": "error",
    "script": "error",
    "size": "error",
    "denoising_strength": "error",
    "style": "warning",
    "extension_script": "warning",
    "network": "warning",
    "network_kind": "warning",
    "embedding": "warning",
}


@dataclass
class Problem:
    """One thing wrong with a task (or with ``tasks`` tasks of a sweep, at ``indexes``)."""

    field: str
    value: Any
    message: str
    severity: Severity = "error"
    suggestion: str | None = None
    tasks: int = 1
    indexes: list[int] = field(default_factory=list)
    #: which of :data:`PROBLEM_KINDS` it is
    kind: str = ""

    @property
    def text(self) -> str:
        """What a person reads: ``prompt: no LoRA 'x'; did you mean 'y'?``."""
        return f"{self.field}: {self.message}"

    def key(self) -> tuple[str, str, str, str]:
        return (self.severity, self.field, repr(self.value), self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "message": self.message,
            "severity": self.severity,
            "suggestion": self.suggestion,
            "tasks": self.tasks,
            "kind": self.kind,
        }


class TaskRefused(InvalidTaskData):
    """The checker's errors: nothing was queued. ``problems`` holds every one of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.field, first.message + more)
        self.problems = list(problems)

    def __str__(self) -> str:
        return "; ".join(p.text for p in self.problems)


@dataclass
class CheckSettings:
    """The Settings page's switches (the WebUI glue refreshes them)."""

    #: an unknown LoRA / LyCORIS / hypernetwork refuses the task instead of marking it
    networks_are_errors: bool = False
    #: every warning refuses the task (the API's ``"strict": true`` does this for one call)
    strict: bool = False
    #: a warning that appears only when the task starts (a LoRA deleted since): fail or run
    at_start: Literal["fail", "warn"] = "warn"


def _did_you_mean(text: str, suggestion: str | None) -> str:
    return f"{text}; did you mean '{suggestion}'?" if suggestion else text


def _name_problem(field_name: str, value: Any, lookup: Lookup | None, what: str, kind: str) -> Problem | None:
    if lookup is None or not isinstance(value, str) or value.strip().lower() in _SAME:
        return None
    if lookup.has(value):
        return None
    suggestion = lookup.suggest(value)
    text = _did_you_mean(f"no {what} '{value}'", suggestion)
    return Problem(field_name, value, text, PROBLEM_KINDS[kind], suggestion, kind=kind)


def check_task(
    index: CatalogIndex,
    kind: str,
    params: dict[str, Any],
    *,
    checkpoint: str | None = None,
    script_name: str | None = None,
    script_args: dict[str, Any] | None = None,
    settings: CheckSettings | None = None,
) -> list[Problem]:
    """Every problem of one task against ``index``; severities as :class:`CheckSettings` say."""
    settings = settings or CheckSettings()
    found: list[Problem | None] = []
    add = found.append
    add(_name_problem("checkpoint", checkpoint, index.checkpoints, "checkpoint", "checkpoint"))
    for name in ("hr_checkpoint_name", "refiner_checkpoint"):
        add(_name_problem(name, params.get(name), index.checkpoints, "checkpoint", "checkpoint"))
    for name in ("sampler_name", "hr_sampler_name"):
        add(_name_problem(name, params.get(name), index.samplers, "sampler", "sampler"))
    for name in ("scheduler", "hr_scheduler"):
        add(_name_problem(name, params.get(name), index.schedulers, "scheduler", "scheduler"))
    if params.get("enable_hr") and kind == "txt2img":
        add(_name_problem("hr_upscaler", params.get("hr_upscaler"), index.upscalers, "upscaler", "upscaler"))
    if kind == "extras":
        for name in ("upscaler_1", "upscaler_2"):
            add(_name_problem(name, params.get(name), index.upscalers, "upscaler", "upscaler"))
    found.extend(_model_problems(index, params))
    found.extend(_size_problems(kind, params))
    found.extend(_script_problems(index, kind, script_name, script_args or {}))
    found.extend(_style_problems(index, params))
    found.extend(_prompt_problems(index, params, settings))
    problems = [p for p in found if p is not None]
    if settings.strict:
        for problem in problems:
            problem.severity = "error"
    return problems


def _model_problems(index: CatalogIndex, params: dict[str, Any]) -> Iterable[Problem | None]:
    overrides = params.get("override_settings")
    if not isinstance(overrides, dict):
        return
    vae = overrides.get("sd_vae")
    if isinstance(vae, str) and vae.strip().lower() not in _VAE_DEFAULTS:
        known = index.vaes
        if known is not None and index.text_encoders is not None and not known.has(vae):
            known = (
                index.text_encoders if index.text_encoders.has(vae) else known
            )  # Forge lists VAEs as modules
        yield _name_problem("override_settings.sd_vae", vae, known, "VAE", "vae")
    modules = overrides.get("forge_additional_modules")
    if isinstance(modules, (list, tuple)):
        for item in modules:
            if isinstance(item, str) and os.path.isabs(item) and os.path.isfile(item):
                continue  # Forge stores the chosen modules as paths and loads any existing file
            yield _name_problem(
                "override_settings.forge_additional_modules",
                item,
                index.text_encoders,
                "VAE / text encoder",
                "text_encoder",
            )
    yield _name_problem(
        "override_settings.sd_model_checkpoint",
        overrides.get("sd_model_checkpoint"),
        index.checkpoints,
        "checkpoint",
        "checkpoint",
    )


def _size_problems(kind: str, params: dict[str, Any]) -> Iterable[Problem]:
    if kind in ("txt2img", "img2img"):
        for name in ("width", "height"):
            value = params.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                if value < MIN_SIZE:
                    text = f"{value} is smaller than the model can take ({MIN_SIZE})"
                    yield Problem(name, value, text, kind="size")
                elif value % SIZE_STEP:
                    near = round(value / SIZE_STEP) * SIZE_STEP
                    yield Problem(
                        name,
                        value,
                        f"{value} is not a multiple of {SIZE_STEP}: the model works in steps of "
                        f"{SIZE_STEP} pixels; did you mean {near}?",
                        suggestion=str(near),
                        kind="size",
                    )
    strength = params.get("denoising_strength")
    if isinstance(strength, (int, float)) and not isinstance(strength, bool) and not 0 <= strength <= 1:
        yield Problem("denoising_strength", strength, f"{strength} is outside 0–1", kind="denoising_strength")


def _script_problems(
    index: CatalogIndex, kind: str, script_name: str | None, script_args: dict[str, Any]
) -> Iterable[Problem | None]:
    if script_name and index.scripts is not None and kind in index.scripts:
        yield _name_problem("script_name", script_name, index.scripts[kind], f"{kind} script", "script")
    installed = index.extension_scripts.get(kind) if index.extension_scripts is not None else None
    if installed is None:
        return
    for title, values in script_args.items():
        if values in ([], (), None) or installed.has(title):
            continue
        if script_name and title.lower() == script_name.lower():
            continue
        yield Problem(
            "script_args",
            title,
            f"the extension script '{title}' is not installed; its settings will not be applied",
            PROBLEM_KINDS["extension_script"],
            installed.suggest(title),
            kind="extension_script",
        )


def _style_problems(index: CatalogIndex, params: dict[str, Any]) -> Iterable[Problem | None]:
    styles = params.get("prompt_styles")
    if isinstance(styles, list):
        for style in styles:
            yield _name_problem("prompt_styles", style, index.styles, "style", "style")


def _prompt_problems(
    index: CatalogIndex, params: dict[str, Any], settings: CheckSettings
) -> Iterable[Problem]:
    network_severity: Severity = "error" if settings.networks_are_errors else PROBLEM_KINDS["network"]
    lookups = {"lora": index.loras, "lyco": index.loras, "hypernet": index.hypernetworks}
    for where in PROMPT_PARAMS:
        text = params.get(where)
        if not isinstance(text, str) or not text:
            continue
        for ref in networks_in(text, where):
            if index.network_kinds is not None and ref.kind not in index.network_kinds:
                lora = ref.kind == "lyco" and "lora" in index.network_kinds
                instead = f"<lora:{ref.name}>" if lora else None  # Forge and Neo know LyCORIS as lora
                text = f"this WebUI does not understand <{ref.kind}:…>; it would be ignored"
                yield Problem(
                    where,
                    f"<{ref.kind}:{ref.name}>",
                    _did_you_mean(text, instead),
                    network_severity,
                    instead,
                    kind="network_kind",
                )
                continue
            lookup = lookups.get(ref.kind)
            if lookup is None or lookup.has(ref.name):
                continue
            suggestion = lookup.suggest(ref.name)
            what = NETWORK_KINDS.get(ref.kind, ref.kind)
            yield Problem(
                where,
                ref.name,
                _did_you_mean(f"no {what} '{ref.name}'", suggestion),
                network_severity,
                suggestion,
                kind="network",
            )
        if index.embeddings is not None and index.embeddings.values:
            for word in index.words(without_networks(text)):
                near = index.near_embedding(word)
                if near is not None:
                    yield Problem(
                        where,
                        word,
                        f"'{word}' is no embedding and will be read as plain text; did you mean '{near}'?",
                        PROBLEM_KINDS["embedding"],
                        near,
                        kind="embedding",
                    )


def grouped(problems_per_task: Sequence[Sequence[Problem]]) -> list[Problem]:
    """The problems of many tasks, one per distinct problem, with the tasks it touches."""
    merged: dict[tuple[str, str, str, str], Problem] = {}
    for task_index, problems in enumerate(problems_per_task):
        for problem in problems:
            key = problem.key()
            seen = merged.get(key)
            if seen is None:
                problem.tasks = 0
                seen = merged[key] = problem
            if task_index not in seen.indexes:
                seen.indexes.append(task_index)
                seen.tasks = len(seen.indexes)
    return sorted(merged.values(), key=lambda p: 0 if p.severity == "error" else 1)


class TaskChecker:
    """The queue's checker: a catalog source and the settings, as the host provides them.

    ``catalog()`` returns the runner's current :class:`Catalog` (the same object while the
    WebUI's lists are unchanged, so its lookup sets are reused) or None when it is not known.
    """

    def __init__(
        self,
        catalog: Callable[[], Catalog | None],
        settings: Callable[[], CheckSettings] | CheckSettings | None = None,
    ) -> None:
        self._catalog = catalog
        self._settings = settings
        self._lock = threading.Lock()

    @property
    def settings(self) -> CheckSettings:
        value = self._settings() if callable(self._settings) else self._settings
        return value or CheckSettings()

    def catalog(self) -> Catalog | None:
        try:
            return self._catalog()
        except Exception:  # a WebUI list that cannot be read checks nothing; it never refuses work
            import logging

            logging.getLogger(__name__).exception("the WebUI's lists could not be read; not checked")
            return None

    def check(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        checkpoint: str | None = None,
        script_name: str | None = None,
        script_args: dict[str, Any] | None = None,
        strict: bool = False,
        catalog: Catalog | None = None,
    ) -> list[Problem]:
        catalog = catalog if catalog is not None else self.catalog()
        if catalog is None:
            return []
        settings = self.settings
        if strict and not settings.strict:
            settings = CheckSettings(settings.networks_are_errors, True, settings.at_start)
        return check_task(
            catalog.index(),
            kind,
            params,
            checkpoint=checkpoint,
            script_name=script_name,
            script_args=script_args,
            settings=settings,
        )

    def check_many(self, items: Sequence[Any], *, strict: bool = False) -> list[list[Problem]]:
        """Problems of each of ``items`` (``NewTask`` or ``Task``), one catalog for all of them."""
        catalog = self.catalog()
        if catalog is None:
            return [[] for _ in items]
        return [
            self.check(
                item.kind,
                item.params,
                checkpoint=item.checkpoint,
                script_name=item.script_name,
                script_args=item.script_args,
                strict=strict,
                catalog=catalog,
            )
            for item in items
        ]


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]


__all__ = [
    "PROBLEM_KINDS",
    "CheckSettings",
    "Problem",
    "TaskChecker",
    "TaskRefused",
    "check_task",
    "errors_of",
    "grouped",
    "warnings_of",
]
