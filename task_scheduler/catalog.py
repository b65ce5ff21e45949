"""What the WebUI has, as plain lists: the checker's view of the installed models and scripts.

A runner builds a :class:`Catalog` from its WebUI's own lists (in-process: ``sd_models``,
``sd_vae``, the LoRA networks, the embedding database, ...; remote: the ``/sdapi/v1`` lists) and
hands out the same object until those lists change, so the lookup sets of :class:`CatalogIndex`
are built once per change, never per task. A list that is ``None`` is not known (a remote WebUI
without the LoRA extension, a host without a WebUI): nothing is checked against it.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Optional

from .task import checkpoint_key

Names = Optional[tuple[str, ...]]

#: the extra networks every WebUI registers when its LoRA extension is loaded
DEFAULT_NETWORK_KINDS = ("lora",)


def names(values: Iterable[object] | None) -> Names:
    """A tuple of the distinct non-empty names in ``values``, in order; None stays None."""
    if values is None:
        return None
    return tuple(dict.fromkeys(str(v) for v in values if v is not None and str(v) != ""))


@dataclass(frozen=True)
class Catalog:
    """Names the WebUI accepts, list by list. ``version`` changes whenever a list does."""

    checkpoints: Names = None
    vaes: Names = None
    #: Forge / Neo "VAE / Text Encoder" modules (names and paths)
    text_encoders: Names = None
    samplers: Names = None
    schedulers: Names = None
    upscalers: Names = None
    styles: Names = None
    #: selectable scripts (X/Y/Z plot, ...) per tab: ``{"txt2img": (...), "img2img": (...)}``
    scripts: Optional[Mapping[str, tuple[str, ...]]] = None
    #: every script title (always-on extensions included) per tab
    extension_scripts: Optional[Mapping[str, tuple[str, ...]]] = None
    #: LoRA / LyCORIS names and aliases, as ``<lora:NAME:w>`` looks them up (case matters)
    loras: Names = None
    hypernetworks: Names = None
    embeddings: Names = None
    #: the ``<kind:...>`` extra networks the WebUI understands (``lora``, ``lyco``, ``hypernet``)
    network_kinds: Names = None
    version: str = ""
    #: the lookup sets, built once (not an init field: a ``replace``d catalog builds its own)
    _index: list = field(default_factory=list, init=False, compare=False, repr=False)

    def index(self) -> CatalogIndex:
        """The lookup sets of this catalog, built on first use and kept with it."""
        if not self._index:
            with _INDEX_LOCK:
                if not self._index:
                    self._index.append(CatalogIndex(self))
        return self._index[0]


_INDEX_LOCK = threading.Lock()
_WORD = re.compile(r"[^\s,()\[\]{}<>:|]+")


class Lookup:
    """One list: exact names, their case-folded forms, and close-name suggestions (cached)."""

    def __init__(self, values: Iterable[str], *, folded: bool = True) -> None:
        self.values = tuple(values)
        self.exact = frozenset(self.values)
        self.by_fold: dict[str, str] = {}
        for value in self.values:
            self.by_fold.setdefault(value.lower(), value)
        self.folded = folded
        self._suggested: dict[str, str | None] = {}

    def has(self, value: str) -> bool:
        return value in self.exact or (self.folded and value.lower() in self.by_fold)

    def suggest(self, value: str) -> str | None:
        """The closest installed name (``difflib``), or None when nothing is close."""
        if value in self._suggested:
            return self._suggested[value]
        wanted = value.lower()
        found = self.by_fold.get(wanted)
        if found is None:
            close = difflib.get_close_matches(wanted, list(self.by_fold), n=1, cutoff=0.6)
            found = self.by_fold[close[0]] if close else None
        if len(self._suggested) < 10_000:
            self._suggested[value] = found
        return found


class CheckpointLookup(Lookup):
    """Checkpoints match as the WebUI matches them: title, name, file name, with or without hash."""

    def __init__(self, values: Iterable[str]) -> None:
        super().__init__(values)
        self.keys: dict[str, str] = {}
        for value in self.values:
            key = checkpoint_key(value) or ""
            base = key.rsplit("/", 1)[-1]
            for spelled in (key, key.rsplit(".", 1)[0], base, base.rsplit(".", 1)[0]):
                if spelled:
                    self.keys.setdefault(spelled, value)

    def has(self, value: str) -> bool:
        key = checkpoint_key(value) or ""
        return key in self.keys or key.rsplit(".", 1)[0] in self.keys

    def suggest(self, value: str) -> str | None:
        if value not in self._suggested:
            key = (checkpoint_key(value) or "").rsplit(".", 1)[0]
            close = difflib.get_close_matches(key, list(self.keys), n=1, cutoff=0.6)
            self._suggested[value] = self.keys[close[0]] if close else None
        return self._suggested[value]


class CatalogIndex:
    """Lookup sets for every known list of one :class:`Catalog`."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

        def make(values: Names, **kwargs: bool) -> Lookup | None:
            return None if values is None else Lookup(values, **kwargs)

        self.checkpoints = None if catalog.checkpoints is None else CheckpointLookup(catalog.checkpoints)
        self.vaes = make(catalog.vaes)
        self.text_encoders = make(catalog.text_encoders)
        self.samplers = make(catalog.samplers)
        self.schedulers = make(catalog.schedulers)
        self.upscalers = make(catalog.upscalers)
        self.styles = make(catalog.styles, folded=False)
        self.loras = make(catalog.loras, folded=False)
        self.hypernetworks = make(catalog.hypernetworks, folded=False)
        self.embeddings = make(catalog.embeddings, folded=False)
        self.network_kinds = None if catalog.network_kinds is None else frozenset(catalog.network_kinds)
        self.scripts = _per_tab(catalog.scripts)
        self.extension_scripts = _per_tab(catalog.extension_scripts)
        self._near_embedding: dict[str, str | None] = {}

    def near_embedding(self, word: str) -> str | None:
        """An embedding ``word`` is probably a misspelling of (cached per word), else None."""
        if self.embeddings is None or not self.embeddings.values:
            return None
        if word not in self._near_embedding:
            found = None
            folded = word.lower()  # the tokenizer folds case: "EasyNegative" is the embedding too
            by_fold = self.embeddings.by_fold
            if len(word) >= 5 and folded not in by_fold and not folded.replace(".", "").isdigit():
                close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.85)
                found = by_fold[close[0]] if close else None
            if len(self._near_embedding) < 100_000:
                self._near_embedding[word] = found
            return found
        return self._near_embedding[word]

    @staticmethod
    def words(text: str) -> list[str]:
        """The words of a prompt an embedding could be (what the tokenizer sees between commas)."""
        return _WORD.findall(text)


def _per_tab(scripts: Optional[Mapping[str, tuple[str, ...]]]) -> dict[str, Lookup] | None:
    if scripts is None:
        return None
    return {tab: Lookup(titles) for tab, titles in scripts.items()}


__all__ = ["DEFAULT_NETWORK_KINDS", "Catalog", "CatalogIndex", "Lookup", "names"]
