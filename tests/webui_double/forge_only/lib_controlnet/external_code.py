"""The ControlNet unit dataclass held in each unit's ``gr.State`` (Forge built-in ControlNet)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class InputMode(enum.Enum):
    SIMPLE = "simple"
    BATCH = "batch"
    MERGE = "merge"


class ResizeMode(enum.Enum):
    RESIZE = "Just Resize"
    INNER_FIT = "Crop and Resize"
    OUTER_FIT = "Resize and Fill"

    def int_value(self) -> int:
        return list(ResizeMode).index(self)


class ControlMode(enum.Enum):
    BALANCED = "Balanced"
    PROMPT = "My prompt is more important"
    CONTROL = "ControlNet is more important"


class HiResFixOption(enum.Enum):
    BOTH = "Both"
    LOW_RES_ONLY = "Low res only"
    HIGH_RES_ONLY = "High res only"


_ENUMS = {
    "input_mode": InputMode,
    "resize_mode": ResizeMode,
    "control_mode": ControlMode,
    "hr_option": HiResFixOption,
}


@dataclasses.dataclass
class ControlNetUnit:
    input_mode: InputMode = InputMode.SIMPLE
    use_preview_as_input: bool = False
    batch_image_dir: str = ""
    batch_mask_dir: str = ""
    batch_input_gallery: list | None = None
    batch_mask_gallery: list | None = None
    generated_image: Any = None
    mask_image: Any = None
    mask_image_fg: Any = None
    hr_option: HiResFixOption = HiResFixOption.BOTH
    enabled: bool = False
    module: str = "None"
    model: str = "None"
    weight: float = 1.0
    image: Any = None
    image_fg: Any = None
    resize_mode: ResizeMode = ResizeMode.INNER_FIT
    processor_res: int = -1
    threshold_a: float = -1
    threshold_b: float = -1
    guidance_start: float = 0.0
    guidance_end: float = 1.0
    pixel_perfect: bool = False
    control_mode: ControlMode = ControlMode.BALANCED
    save_detected_map: bool = True

    @staticmethod
    def infotext_fields() -> tuple[str, ...]:
        return (
            "module",
            "model",
            "weight",
            "resize_mode",
            "processor_res",
            "threshold_a",
            "threshold_b",
            "guidance_start",
            "guidance_end",
            "pixel_perfect",
            "control_mode",
            "hr_option",
        )

    @classmethod
    def from_dict(cls, d: dict) -> ControlNetUnit:
        """Build a unit from a dict (unknown keys dropped; enum fields given by value or name)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {}
        for key, value in d.items():
            if key not in known:
                continue
            enum_cls = _ENUMS.get(key)
            if enum_cls is not None and not isinstance(value, enum_cls):
                value = (
                    enum_cls[value]
                    if isinstance(value, str) and value in enum_cls.__members__
                    else enum_cls(value)
                )
            values[key] = value
        return cls(**values)

    def infotext(self) -> str:
        parts = []
        for name in self.infotext_fields():
            value = getattr(self, name)
            if isinstance(value, enum.Enum):
                value = value.value
            parts.append(f"{name}: {value}")
        return ", ".join(parts)
