"""Lossless JSON for what the WebUI hands around: images, arrays, dataclass units, enums, files.

The Queue button captures whatever every extension put into Generate's inputs. Values JSON can
hold pass through; the rest become tagged objects (see docs/task-format.md) whose bytes live in
the :class:`FileStore`. A value of any other type is refused with a message naming where it
came from: silently storing ``str(value)`` is how peers ran tasks with settings the user never
chose, and pickle is how they made the database a code-execution vector.

Decoding never imports anything: a dataclass or enum is rebuilt only if its module is already
loaded (the extension that defined it is installed) and the name really is a dataclass or an
Enum, so a stored or submitted task cannot make us construct arbitrary objects.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .files import FileStore
from .gate import check_value

TAGS = (
    "$image",
    "$ndarray",
    "$npscalar",
    "$dataclass",
    "$enum",
    "$file",
    "$tuple",
    "$dict",
    "$float",
    "$path",
)
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}


#: tags that only the Queue button's capture may produce: decoding them builds objects or paths
OBJECT_TAGS = ("$path", "$dataclass", "$enum")


def escape_plain(value: Any, where: str = "value") -> Any:
    """A client's plain JSON in stored form: an object with ``$`` keys is kept as an object.

    Values that come through the API are data, never tags: ``{"$path": "/etc/passwd"}`` sent as
    a script argument reaches the script as that very dict, as it would through the WebUI's own
    API, instead of being decoded into a server path (or a dataclass, or an enum) when it runs.
    The entry gate's limits are checked first (``where`` names the value in the error): this is
    the first walk over a client's value, and a recursive one — a body nested 900 deep, which
    the JSON parser still takes, made it fail with ``RecursionError`` (500) before the gate.
    """
    check_value(where, value)
    return _escaped(value)


def _escaped(value: Any) -> Any:
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        inner = {key: _escaped(item) for key, item in value.items()}
        if any(isinstance(key, str) and key.startswith("$") for key in value):
            return {"$dict": inner}
        return inner
    return value


class UnsupportedValue(TypeError):
    """A value that cannot be stored faithfully; ``where`` names the parameter or script."""

    def __init__(self, where: str, value: Any, why: str = "") -> None:
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        text = f"{where}: a value of type {kind} cannot be queued"
        super().__init__(f"{text} ({why})" if why else text)
        self.where = where
        self.type_name = kind


class UndecodableValue(ValueError):
    """A stored value that cannot be rebuilt here, e.g. its extension was removed."""


@dataclasses.dataclass
class StoredUpload:
    """Stands in for an uploaded file (gradio's file objects expose the path as ``.name``)."""

    name: str
    orig_name: str


class ValueCodec:
    def __init__(self, files: FileStore) -> None:
        self.files = files

    # -- encoding ---------------------------------------------------------------------------

    def encode(self, value: Any, where: str, refs: list[str]) -> Any:
        """JSON-ready form of ``value``; file references it created are appended to ``refs``."""
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if type(value) is list:
            return [self.encode(item, f"{where}[{i}]", refs) for i, item in enumerate(value)]
        if type(value) is tuple:
            return {"$tuple": [self.encode(item, f"{where}[{i}]", refs) for i, item in enumerate(value)]}
        if type(value) is dict:
            return self._encode_dict(value, where, refs)
        encoder = self._encoder_for(value)
        if encoder is None:
            raise UnsupportedValue(where, value)
        return encoder(value, where, refs)

    def _encode_dict(self, value: dict, where: str, refs: list[str]) -> Any:
        if not all(isinstance(key, str) for key in value):
            raise UnsupportedValue(where, value, "dictionary keys must be text")
        encoded = {key: self.encode(item, f"{where}.{key}", refs) for key, item in value.items()}
        if any(key.startswith("$") for key in value):
            return {"$dict": encoded}  # keep a user's own "$..." keys from reading as tags
        return encoded

    def _encoder_for(self, value: Any) -> Callable[[Any, str, list[str]], Any] | None:
        if _is_pil_image(value):
            return self._encode_image
        if type(value).__module__ == "numpy":
            if type(value).__name__ == "ndarray":
                return self._encode_ndarray
            if hasattr(value, "dtype") and hasattr(value, "item"):
                return self._encode_npscalar
        if isinstance(value, enum.Enum):
            return self._encode_enum
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._encode_dataclass
        if isinstance(value, Path):
            return lambda v, w, r: {"$path": str(v)}
        if _upload_path(value) is not None:
            return self._encode_upload
        if isinstance(value, (bool, int, str)):  # subclasses of plain types (not enums, handled above)
            return lambda v, w, r: self.encode(type(v).__mro__[-2](v), w, r)
        if isinstance(value, float):
            return lambda v, w, r: self.encode(float(v), w, r)
        return None

    def _encode_image(self, image: Any, where: str, refs: list[str]) -> Any:
        if image.mode not in _PNG_MODES:
            raise UnsupportedValue(where, image, f"image mode {image.mode} has no lossless PNG form")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        ref = self.files.put(buffer.getvalue(), "png")
        refs.append(ref)
        return {"$image": ref, "mode": image.mode, "size": list(image.size)}

    def _encode_ndarray(self, array: Any, where: str, refs: list[str]) -> Any:
        import numpy as np

        if array.dtype.hasobject:
            raise UnsupportedValue(where, array, "arrays of Python objects cannot be stored")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        ref = self.files.put(buffer.getvalue(), "npy")
        refs.append(ref)
        return {"$ndarray": ref, "dtype": str(array.dtype), "shape": list(array.shape)}

    def _encode_npscalar(self, value: Any, where: str, refs: list[str]) -> Any:
        return {"$npscalar": str(value.dtype), "value": self.encode(value.item(), where, refs)}

    def _encode_enum(self, member: enum.Enum, where: str, refs: list[str]) -> Any:
        return {"$enum": _qualname(type(member)), "value": self.encode(member.value, where, refs)}

    def _encode_dataclass(self, obj: Any, where: str, refs: list[str]) -> Any:
        fields = {
            f.name: self.encode(getattr(obj, f.name), f"{where}.{f.name}", refs)
            for f in dataclasses.fields(obj)
            if f.init
        }
        return {"$dataclass": _qualname(type(obj)), "fields": fields}

    def _encode_upload(self, value: Any, where: str, refs: list[str]) -> Any:
        path = _upload_path(value)
        assert path is not None
        ref = self.files.put(path.read_bytes(), path.suffix.lstrip(".").lower() or "bin")
        refs.append(ref)
        original = getattr(value, "orig_name", None) or path.name
        return {"$file": ref, "name": os.path.basename(str(original))}

    # -- decoding ---------------------------------------------------------------------------

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        tag = next((key for key in value if key in TAGS), None)
        if tag is None:
            return {key: self.decode(item) for key, item in value.items()}
        decoder = getattr(self, "_decode_" + tag[1:])
        return decoder(value)

    def _decode_tuple(self, value: dict) -> tuple:
        return tuple(self.decode(item) for item in value["$tuple"])

    def _decode_dict(self, value: dict) -> dict:
        return {key: self.decode(item) for key, item in value["$dict"].items()}

    def _decode_float(self, value: dict) -> float:
        return float(value["$float"])

    def _decode_path(self, value: dict) -> Path:
        return Path(value["$path"])

    def _decode_image(self, value: dict) -> Any:
        from PIL import Image

        with Image.open(io.BytesIO(self.files.read(value["$image"]))) as image:
            image.load()
            mode = value.get("mode", image.mode)
            return image.copy() if image.mode == mode else image.convert(mode)

    def _decode_ndarray(self, value: dict) -> Any:
        import numpy as np

        return np.load(io.BytesIO(self.files.read(value["$ndarray"])), allow_pickle=False)

    def _decode_npscalar(self, value: dict) -> Any:
        import numpy as np

        return np.dtype(value["$npscalar"]).type(self.decode(value["value"]))

    def _decode_enum(self, value: dict) -> enum.Enum:
        cls = _loaded_class(value["$enum"])
        if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
            raise UndecodableValue(f"{value['$enum']} is not an enum")
        return cls(self.decode(value["value"]))

    def _decode_dataclass(self, value: dict) -> Any:
        cls = _loaded_class(value["$dataclass"])
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise UndecodableValue(f"{value['$dataclass']} is not a dataclass")
        fields = {key: self.decode(item) for key, item in value["fields"].items()}
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        fields = {key: item for key, item in fields.items() if key in known}  # a field removed upstream
        from_dict = getattr(cls, "from_dict", None)
        if callable(from_dict):
            try:
                return from_dict(fields)
            except Exception:  # the extension's own rebuild disagrees with our dict: construct directly
                pass
        return cls(**fields)

    def _decode_file(self, value: dict) -> StoredUpload:
        path = self.files.path(value["$file"])
        if not path.is_file():
            raise UndecodableValue(f"stored file {value['$file']} is missing")
        return StoredUpload(name=str(path), orig_name=value.get("name", path.name))


def _is_pil_image(value: Any) -> bool:
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(value, image_module.Image)


def _upload_path(value: Any) -> Path | None:
    """A gradio upload (file wrapper, NamedString, FileData) exposes an existing file as .name/.path."""
    for attribute in ("path", "name"):
        candidate = getattr(value, attribute, None)
        if isinstance(candidate, str) and candidate and not isinstance(value, type):
            path = Path(candidate)
            if path.is_file() and (
                hasattr(value, "orig_name") or hasattr(value, "read") or isinstance(value, str)
            ):
                return path
    return None


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _loaded_class(qualified: str) -> Any:
    module_name, _, qualname = str(qualified).partition(":")
    module = sys.modules.get(module_name)
    if module is None:
        raise UndecodableValue(f"{module_name} is not loaded (was its extension removed?)")
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UndecodableValue(f"{qualified} no longer exists")
    return obj
