"""Tagged JSON for WebUI values: every supported type round-trips exactly; nothing else is stored."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from task_scheduler.values import StoredUpload, UndecodableValue, UnsupportedValue, ValueCodec


class ResizeMode(enum.Enum):
    JUST_RESIZE = "Just Resize"
    CROP = "Crop and Resize"


@dataclasses.dataclass
class Unit:
    enabled: bool = False
    weight: float = 1.0
    image: object = None
    resize_mode: ResizeMode = ResizeMode.JUST_RESIZE
    cache: object = dataclasses.field(default=None, init=False)


@dataclasses.dataclass
class UnitWithFromDict:
    enabled: bool = False
    built_by: str = "init"

    @classmethod
    def from_dict(cls, d):
        return cls(enabled=d["enabled"], built_by="from_dict")


@pytest.fixture
def codec(files):
    return ValueCodec(files)


def roundtrip(codec, value):
    refs: list[str] = []
    encoded = codec.encode(value, "arg", refs)
    stored = json.loads(json.dumps(encoded, allow_nan=False))  # what the database keeps
    return codec.decode(stored), refs


def test_plain_json_passes_through(codec):
    value = {"a": [1, 2.5, "x", None, True], "b": {"c": []}}
    decoded, refs = roundtrip(codec, value)
    assert decoded == value and refs == []


def test_tuples_floats_paths_and_dollar_keys_keep_their_type(codec):
    value = [(1, 2), float("nan"), float("inf"), Path("/tmp/x"), {"$image": "not a tag"}]
    decoded, _ = roundtrip(codec, value)
    assert decoded[0] == (1, 2) and isinstance(decoded[0], tuple)
    assert np.isnan(decoded[1]) and decoded[2] == float("inf")
    assert decoded[3] == Path("/tmp/x") and decoded[4] == {"$image": "not a tag"}


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "1", "P", "I"])
def test_images_round_trip_pixel_equal_with_mode_and_size(codec, mode):
    image = Image.new("RGB", (17, 9))
    image.putdata([(x * 13 % 256, y * 27 % 256, (x * y) % 256) for y in range(9) for x in range(17)])
    image = image.convert(mode)
    decoded, refs = roundtrip(codec, image)
    assert isinstance(decoded, Image.Image) and decoded.mode == mode and decoded.size == (17, 9)
    assert list(decoded.getdata()) == list(image.getdata())
    assert len(refs) == 1 and codec.files.exists(refs[0])


def test_arrays_and_numpy_scalars_round_trip(codec):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    decoded, refs = roundtrip(
        codec, {"image": array, "mask": array[..., 0].astype(np.float32), "w": np.float32(0.5)}
    )
    assert np.array_equal(decoded["image"], array) and decoded["image"].dtype == np.uint8
    assert decoded["mask"].dtype == np.float32 and decoded["mask"].shape == (2, 3)
    assert type(decoded["w"]) is np.float32 and decoded["w"] == 0.5
    assert len(refs) == 2


def test_dataclass_unit_with_enum_and_array_image_round_trips(codec):
    unit = Unit(
        enabled=True, weight=0.75, image={"image": np.ones((4, 4, 3), np.uint8)}, resize_mode=ResizeMode.CROP
    )
    decoded, _ = roundtrip(codec, [unit])
    rebuilt = decoded[0]
    assert isinstance(rebuilt, Unit) and rebuilt.resize_mode is ResizeMode.CROP
    assert (
        rebuilt.enabled
        and rebuilt.weight == 0.75
        and np.array_equal(rebuilt.image["image"], unit.image["image"])
    )


def test_dataclass_is_rebuilt_through_its_own_from_dict(codec):
    decoded, _ = roundtrip(codec, UnitWithFromDict(enabled=True))
    assert decoded == UnitWithFromDict(enabled=True, built_by="from_dict")


def test_uploads_are_copied_into_the_store(codec, tmp_path):
    class Upload:  # the shape of gradio's tempfile wrapper
        def __init__(self, name):
            self.name = name
            self.orig_name = "photo.png"

        def read(self):
            return b""

    source = tmp_path / "upload.png"
    Image.new("RGB", (3, 3), "red").save(source)
    decoded, refs = roundtrip(codec, [Upload(str(source))])
    source.unlink()  # gradio deletes its temp files; ours stays
    assert isinstance(decoded[0], StoredUpload) and decoded[0].orig_name == "photo.png"
    assert Image.open(decoded[0].name).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize(
    "value",
    [
        object(),
        {1: "int key"},
        b"bytes",
        {1, 2},
        np.array([object()], dtype=object),
        Image.new("CMYK", (1, 1)),
    ],
    ids=["object", "int-key", "bytes", "set", "object-array", "cmyk"],
)
def test_unsupported_values_are_refused_naming_where_and_type(codec, value):
    with pytest.raises(UnsupportedValue) as err:
        codec.encode({"unit": [value]}, "script 'Odd Extension'", [])
    assert "Odd Extension" in str(err.value) and "unit" in str(err.value)
    assert type(value).__name__ in str(err.value) or "dict" in str(err.value)


def test_decoding_never_imports_or_builds_arbitrary_objects(codec):
    assert "antigravity" not in sys.modules
    with pytest.raises(UndecodableValue, match="not loaded"):
        codec.decode({"$dataclass": "antigravity:Thing", "fields": {}})
    assert "antigravity" not in sys.modules
    with pytest.raises(UndecodableValue, match="not a dataclass"):
        codec.decode({"$dataclass": "subprocess:Popen", "fields": {"args": "true"}})
    with pytest.raises(UndecodableValue, match="not an enum"):
        codec.decode({"$enum": "os:system", "value": "true"})


def test_a_removed_field_of_an_updated_extension_is_dropped(codec):
    refs: list[str] = []
    encoded = codec.encode(Unit(enabled=True), "u", refs)
    encoded["fields"]["field_removed_in_new_version"] = 3
    assert codec.decode(encoded) == Unit(enabled=True)
