"""A remote WebUI's :class:`~task_scheduler.catalog.Catalog`, read from its ``/sdapi/v1`` lists.

==================  ===================================================================
checkpoints         ``sd-models`` (title, model name)
VAE                 A1111 ``sd-vae``; Forge / Neo ``sd-modules`` (VAEs and text encoders)
samplers            ``samplers`` (names, aliases); schedulers ``schedulers`` (name, label)
upscalers           ``upscalers`` and ``latent-upscale-modes``
styles              ``prompt-styles``
scripts             ``scripts`` (every script's name) and ``script-info`` (which are selectable)
LoRA                ``loras`` (the LoRA extension's route: name and alias)
hypernetworks       ``hypernetworks`` (A1111, Forge; Neo has no such route)
embeddings          ``embeddings`` (``loaded``)
==================  ===================================================================

A route the WebUI does not have (404, an older WebUI, no LoRA extension) leaves its list
unknown, so nothing is checked against it. Which ``<kind:...>`` tags the WebUI understands is not
in its API; it is inferred: ``lora`` with a LoRA route, ``hypernet`` with a hypernetworks route,
``lyco`` only on A1111 (``sd-vae`` present, ``sd-modules`` absent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..catalog import Catalog, names

TABS = ("txt2img", "img2img")


def _values(items: Any, *keys: str) -> list[str] | None:
    if not isinstance(items, list):
        return None
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            for key in keys:
                value = item.get(key)
                if isinstance(value, list):
                    out.extend(str(v) for v in value)
                elif value:
                    out.append(str(value))
    return out


def read_catalog(get: Callable[[str], Any], version: str) -> Catalog:
    """The catalog from the lists ``get(path)`` answers (``None`` for a route it lacks)."""
    forge_modules = _values(get("/sdapi/v1/sd-modules"), "model_name", "filename")
    a1111_vaes = _values(get("/sdapi/v1/sd-vae"), "model_name") if forge_modules is None else None
    loras = _values(get("/sdapi/v1/loras"), "name", "alias")
    hypernetworks = _values(get("/sdapi/v1/hypernetworks"), "name")
    kinds: list[str] = []
    if loras is not None:
        kinds += ["lora"] + (["lyco"] if a1111_vaes is not None else [])
    if hypernetworks is not None:
        kinds.append("hypernet")
    embeddings = get("/sdapi/v1/embeddings")
    loaded = embeddings.get("loaded") if isinstance(embeddings, dict) else None
    upscalers = _values(get("/sdapi/v1/upscalers"), "name")
    latent = _values(get("/sdapi/v1/latent-upscale-modes"), "name")
    every, selectable = _scripts(get("/sdapi/v1/scripts"), get("/sdapi/v1/script-info"))
    return Catalog(
        checkpoints=names(_values(get("/sdapi/v1/sd-models"), "title", "model_name")),
        vaes=names(forge_modules if forge_modules is not None else a1111_vaes),
        text_encoders=names(forge_modules),
        samplers=names(_values(get("/sdapi/v1/samplers"), "name", "aliases")),
        schedulers=names(_values(get("/sdapi/v1/schedulers"), "name", "label", "aliases")),
        upscalers=names(None if upscalers is None else upscalers + (latent or [])),
        styles=names(_values(get("/sdapi/v1/prompt-styles"), "name")),
        scripts=selectable,
        extension_scripts=every,
        loras=names(loras),
        hypernetworks=names(hypernetworks),
        embeddings=names(list(loaded)) if isinstance(loaded, dict) else None,
        network_kinds=names(kinds) if loras is not None or hypernetworks is not None else None,
        version=version,
    )


def _scripts(
    listing: Any, info: Any
) -> tuple[dict[str, tuple[str, ...]] | None, dict[str, tuple[str, ...]] | None]:
    if not isinstance(listing, dict):
        return None, None
    every = {tab: tuple(str(s) for s in listing.get(tab) or []) for tab in TABS}
    if not isinstance(info, list):
        return every, None
    selectable: dict[str, list[str]] = {tab: [] for tab in TABS}
    for item in info:
        if isinstance(item, dict) and item.get("name") and not item.get("is_alwayson"):
            selectable["img2img" if item.get("is_img2img") else "txt2img"].append(str(item["name"]))
    return every, {tab: tuple(titles) for tab, titles in selectable.items()}


def merged(catalogs: Iterable[Catalog | None], version: str) -> Catalog | None:
    """One catalog of several WebUIs (a standalone server's backends): a name any of them has."""
    known = [c for c in catalogs if c is not None]
    if not known:
        return None
    fields: dict[str, Any] = {}
    for name in (
        "checkpoints vaes text_encoders samplers schedulers upscalers styles loras hypernetworks "
        "embeddings network_kinds"
    ).split():
        lists = [getattr(c, name) for c in known]
        fields[name] = None if any(v is None for v in lists) else names(v for lst in lists for v in lst)
    for name in ("scripts", "extension_scripts"):
        maps = [getattr(c, name) for c in known]
        if any(m is None for m in maps):
            fields[name] = None
        else:
            fields[name] = {
                tab: tuple(dict.fromkeys(t for m in maps for t in m.get(tab, ()))) for tab in TABS
            }
    return Catalog(**fields, version=version)


__all__ = ["merged", "read_catalog"]
