"""Test-only configuration shared by the fake ``modules`` / ``modules_forge`` packages.

Nothing here exists in a real WebUI. The fake modules read ``current`` at import time (flavour,
paths) and at run time (step delay, failure injection), and append to its logs.
"""

from __future__ import annotations

import dataclasses
import pathlib
import threading

FORGE = "forge"
A1111 = "a1111"
NEO = "neo"
FLAVOURS = (FORGE, A1111, NEO)
#: Forge's family: ``modules_forge`` exists, Generate runs on Forge's main thread.
FORGE_FAMILY = (FORGE, NEO)

VERSIONS = {FORGE: "f2.0.1v1.10.1-1.10.1", A1111: "v1.10.1", NEO: "neo-2.26"}


@dataclasses.dataclass
class Generation:
    """One fake sampling run, as recorded by ``processing.process_images``."""

    thread_name: str
    checkpoint: str | None
    prompt: str
    seeds: list[int]
    images: int
    interrupted: bool


@dataclasses.dataclass
class ShimConfig:
    flavour: str = FORGE
    root: pathlib.Path | None = None
    step_delay: float = 0.0
    fail_step: int | None = None
    fail_exc: BaseException | None = None
    fail_once: bool = False
    video_output: bool = False
    #: the most images one sampling pass holds in device memory (None: any); a larger batch
    #: raises ``OutOfMemoryError`` at its first step, as torch does on a GPU too small for it
    max_batch: int | None = None
    model_loads: list[str] = dataclasses.field(default_factory=list)
    generations: list[Generation] = dataclasses.field(default_factory=list)
    main_thread: threading.Thread | None = None
    #: A1111: while set and not yet released, the start-up load waits here (model_data.lock held)
    start_load_gate: threading.Event | None = None
    start_load_thread: threading.Thread | None = None
    #: Forge / Neo as a process: the caller runs the main-thread loop in the process main thread
    loop_in_process_main_thread: bool = False

    @property
    def is_forge(self) -> bool:
        """Forge or Forge Neo (both have ``modules_forge``)."""
        return self.flavour in FORGE_FAMILY

    @property
    def is_neo(self) -> bool:
        return self.flavour == NEO

    @property
    def version(self) -> str:
        return VERSIONS[self.flavour]


current = ShimConfig()


def reset(config: ShimConfig | None = None) -> ShimConfig:
    """Replace the active configuration (used by install/uninstall)."""
    global current
    current = config if config is not None else ShimConfig()
    return current
