"""The in-process WebUI's :class:`~task_scheduler.catalog.Catalog`, read from its own lists.

Nothing here scans a folder: every name comes from a list the WebUI keeps and refreshes itself
(its refresh buttons, a checkpoint added, a reload). Where the WebUIs keep them:

==================  ===============================================================================
checkpoints         ``sd_models.checkpoints_list`` (title, name and model name of each)
VAE                 A1111: ``sd_vae.vae_dict``; Forge / Neo: ``modules_forge.main_entry.module_list``
                    (the "VAE / Text Encoder" choices; names and paths)
samplers            ``sd_samplers.all_samplers`` (names and aliases)
schedulers          ``sd_schedulers.schedulers`` (names and labels)
upscalers           ``shared.sd_upscalers`` and ``shared.latent_upscale_modes``
styles              ``shared.prompt_styles.styles``
scripts             ``scripts.scripts_txt2img`` / ``scripts_img2img`` (selectable and all titles)
LoRA / LyCORIS      the LoRA extension's ``networks.available_network_aliases`` (names and aliases;
                    A1111 ``extensions-builtin/Lora``, Forge / Neo ``sd_forge_lora``)
hypernetworks       ``shared.hypernetworks`` (A1111, Forge; Neo has none)
embeddings          A1111: ``sd_hijack.model_hijack.embedding_db``; Forge / Neo:
                    ``ui_extra_networks_textual_inversion.embedding_db`` (``word_embeddings``)
``<kind:...>``      ``extra_networks.extra_network_registry`` and its aliases (A1111 registers
                    ``lyco`` as an alias of ``lora``; Forge and Neo do not, and Neo has no
                    ``hypernet``)
==================  ===============================================================================

Modules are looked up in ``sys.modules`` only (never imported here): a list whose module is not
loaded is simply not known. The catalog is rebuilt only when a cheap fingerprint of the lists
(their lengths and keys) changes, so a Queue click costs a few microseconds for it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..catalog import Catalog, names

TABS = ("txt2img", "img2img")


def _module(name: str) -> Any | None:
    return sys.modules.get(name)


def _keys(mapping: Any) -> tuple[str, ...] | None:
    return tuple(str(k) for k in mapping) if isinstance(mapping, dict) else None


def _lora_module() -> Any | None:
    """The LoRA extension's ``networks`` module (it is imported under that top-level name)."""
    module = _module("networks")
    return module if module is not None and hasattr(module, "available_network_aliases") else None


def _embedding_db() -> Any | None:
    forge_side = _module("modules.ui_extra_networks_textual_inversion")
    if forge_side is not None and getattr(forge_side, "embedding_db", None) is not None:
        return forge_side.embedding_db
    hijack = _module("modules.sd_hijack")
    model_hijack = getattr(hijack, "model_hijack", None) if hijack is not None else None
    return getattr(model_hijack, "embedding_db", None)


def _sources() -> dict[str, Any]:
    """The WebUI's list objects, by catalog field (None where the WebUI has no such list)."""
    shared = _module("modules.shared")
    sd_models = _module("modules.sd_models")
    sd_vae = _module("modules.sd_vae")
    main_entry = _module("modules_forge.main_entry")
    samplers = _module("modules.sd_samplers")
    schedulers = _module("modules.sd_schedulers")
    scripts = _module("modules.scripts")
    extra_networks = _module("modules.extra_networks")
    lora = _lora_module()
    db = _embedding_db()
    styles = getattr(getattr(shared, "prompt_styles", None), "styles", None)
    return {
        "checkpoints": getattr(sd_models, "checkpoints_list", None),
        "vae_dict": getattr(sd_vae, "vae_dict", None),
        "module_list": getattr(main_entry, "module_list", None) if main_entry is not None else None,
        "samplers": getattr(samplers, "all_samplers", None),
        "schedulers": getattr(schedulers, "schedulers", None),
        "upscalers": getattr(shared, "sd_upscalers", None),
        "latent": getattr(shared, "latent_upscale_modes", None),
        "styles": styles,
        "txt2img": getattr(scripts, "scripts_txt2img", None),
        "img2img": getattr(scripts, "scripts_img2img", None),
        "loras": getattr(lora, "available_network_aliases", None) if lora is not None else None,
        "hypernetworks": getattr(shared, "hypernetworks", None) if shared is not None else None,
        "embeddings": getattr(db, "word_embeddings", None) if db is not None else None,
        "registry": getattr(extra_networks, "extra_network_registry", None),
        "aliases": getattr(extra_networks, "extra_network_aliases", None),
    }


def _fingerprint(sources: dict[str, Any]) -> tuple:
    """Changes when any list changes: its identity, length and keys (names, not values)."""
    parts = []
    for key, value in sources.items():
        if value is None:
            parts.append((key, None))
        elif isinstance(value, dict):
            parts.append((key, id(value), len(value), hash(tuple(value))))
        elif key in TABS:
            parts.append((key, id(value), len(getattr(value, "scripts", ()) or ())))
        else:
            try:
                parts.append((key, id(value), len(value)))
            except TypeError:
                parts.append((key, id(value)))
    return tuple(parts)


def _titles(runner: Any, selectable_only: bool) -> tuple[str, ...]:
    from .arguments import script_title

    listed = getattr(runner, "selectable_scripts" if selectable_only else "scripts", None) or []
    return tuple(dict.fromkeys(script_title(script) for script in listed))


def _sampler_names(samplers: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for sampler in samplers:
        out.append(str(sampler.name))
        out.extend(str(alias) for alias in (getattr(sampler, "aliases", None) or []))
    return out


def _scheduler_names(schedulers: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for scheduler in schedulers:
        out.extend(str(v) for v in (getattr(scheduler, "name", None), getattr(scheduler, "label", None)) if v)
        out.extend(str(alias) for alias in (getattr(scheduler, "aliases", None) or []))
    return out


def _checkpoint_names(checkpoints: dict) -> list[str]:
    out: list[str] = []
    for info in checkpoints.values():
        out.extend(
            str(v)
            for v in (
                getattr(info, "title", None),
                getattr(info, "name", None),
                getattr(info, "model_name", None),
            )
            if v
        )
    return out


def build_catalog(sources: dict[str, Any], version: str) -> Catalog:
    """A catalog of the lists in ``sources`` (see :func:`_sources`)."""
    modules = sources["module_list"]
    forge = isinstance(modules, dict)
    registry = sources["registry"]
    kinds = None
    if isinstance(registry, dict):
        kinds = [*registry, *(sources["aliases"] or {})]
    upscalers = sources["upscalers"]
    upscaler_names = None
    if upscalers is not None:
        upscaler_names = [str(getattr(u, "name", u)) for u in upscalers] + list(sources["latent"] or {})
    scripts = {tab: _titles(sources[tab], True) for tab in TABS if sources[tab] is not None}
    every = {tab: _titles(sources[tab], False) for tab in TABS if sources[tab] is not None}
    return Catalog(
        checkpoints=names(_checkpoint_names(sources["checkpoints"]))
        if sources["checkpoints"] is not None
        else None,
        vaes=names([*modules]) if forge else names(_keys(sources["vae_dict"])),
        text_encoders=names([*modules, *modules.values()]) if forge else None,
        samplers=names(_sampler_names(sources["samplers"])) if sources["samplers"] is not None else None,
        schedulers=names(_scheduler_names(sources["schedulers"]))
        if sources["schedulers"] is not None
        else None,
        upscalers=names(upscaler_names),
        styles=names(_keys(sources["styles"])),
        scripts=scripts or None,
        extension_scripts=every or None,
        loras=names(_keys(sources["loras"])) if kinds is None or "lora" in kinds else (),
        hypernetworks=names(_keys(sources["hypernetworks"])),
        embeddings=names(_keys(sources["embeddings"])),
        network_kinds=names(kinds),
        version=version,
    )


class WebUICatalog:
    """``catalog()`` for the in-process runner: the WebUI's lists, rebuilt only when they change."""

    def __init__(self, sources: Callable[[], dict[str, Any]] = _sources) -> None:
        self._sources = sources
        self._lock = threading.Lock()
        self._fingerprint: tuple | None = None
        self._catalog: Catalog | None = None
        self._builds = 0

    def __call__(self) -> Catalog:
        sources = self._sources()
        fingerprint = _fingerprint(sources)
        with self._lock:
            if self._catalog is None or fingerprint != self._fingerprint:
                self._builds += 1
                self._catalog = build_catalog(sources, version=str(self._builds))
                self._fingerprint = fingerprint
            return self._catalog


__all__ = ["WebUICatalog", "build_catalog"]
