"""Images in and out: decode and check input images, read result files for the results routes.

Inputs arrive as base64 or data URLs (server paths and remote URLs only when a setting allows
them), are decoded with Pillow, refused unless they are real images within the size limits, and
re-encoded as PNG (lossless) for the file store. Results are read only from the paths a task's
own ``result.images`` lists; nothing here ever opens a path taken from a request.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import InvalidTaskData
from ..task import Task
from .services import ApiSettings

_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I
)
_URL = re.compile(r"^https?://", re.I)
_KEEP_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".avif": "image/avif",
    ".bmp": "image/bmp",
}


@dataclass
class DecodedImage:
    png: bytes
    mode: str
    size: tuple[int, int]


def decode_input_image(value: object, field: str, settings: ApiSettings) -> DecodedImage:
    """Turn one API image value into checked PNG bytes, or raise InvalidTaskData naming ``field``."""
    raw = _image_bytes(value, field, settings)
    return _to_png(raw, field, settings)


def check_image_bytes(raw: bytes, field: str, settings: ApiSettings) -> DecodedImage:
    """The queue routes' checks on bytes that arrived some other way (``/import``'s files)."""
    return _to_png(raw, field, settings)


def _image_bytes(value: object, field: str, settings: ApiSettings) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise InvalidTaskData(field, "must be a base64 image or a data URL")
    text = value.strip()
    limit = settings.max_image_bytes
    if _URL.match(text):
        if not settings.allow_remote_images:
            raise InvalidTaskData(
                field, "remote URLs are not accepted; send the image as base64 or a data URL"
            )
        return _fetch(text, field, settings)
    match = _DATA_URL.match(text)
    if match:
        if not match.group("b64"):
            raise InvalidTaskData(field, "data URLs must be base64-encoded")
        text = text[match.end() :]
    elif settings.allow_local_paths and _looks_like_path(text) and os.path.isfile(text):
        size = os.path.getsize(text)
        if size > limit:
            raise InvalidTaskData(field, f"image is larger than {limit} bytes")
        return Path(text).read_bytes()
    compact = "".join(text.split())
    if len(compact) // 4 * 3 > limit + 3:
        raise InvalidTaskData(field, f"image is larger than {limit} bytes")
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        if _looks_like_path(text):
            raise InvalidTaskData(
                field, "server file paths are not accepted; send the image as base64 or a data URL"
            ) from None
        raise InvalidTaskData(field, "is not valid base64") from None
    if not data:
        raise InvalidTaskData(field, "is empty")
    if len(data) > limit:
        raise InvalidTaskData(field, f"image is larger than {limit} bytes")
    return data


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith(("/", "\\", "./", "../", "~"))
        or bool(re.match(r"^[A-Za-z]:[\\/]", text))
        or ("." in text[-6:] and ("/" in text or "\\" in text))
    )


def _fetch(url: str, field: str, settings: ApiSettings) -> bytes:
    import httpx

    limit = settings.max_image_bytes
    try:
        with httpx.stream("GET", url, timeout=settings.remote_timeout_s, follow_redirects=False) as response:
            if response.status_code != 200:
                raise InvalidTaskData(field, f"fetching the image gave HTTP {response.status_code}")
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise InvalidTaskData(field, f"image is larger than {limit} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise InvalidTaskData(field, f"could not fetch the image: {type(exc).__name__}") from None


def _to_png(raw: bytes, field: str, settings: ApiSettings) -> DecodedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > settings.max_image_pixels:
                    raise InvalidTaskData(
                        field, f"image of {width}x{height} pixels exceeds {settings.max_image_pixels} pixels"
                    )
                image.load()
                if image.mode not in _KEEP_MODES:
                    has_alpha = "A" in image.mode or "transparency" in image.info
                    image = image.convert("RGBA" if has_alpha else "RGB")
                out = io.BytesIO()
                image.save(out, format="PNG")
                return DecodedImage(out.getvalue(), image.mode, (width, height))
    except InvalidTaskData:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidTaskData(field, "image is too large to decode safely") from None
    except Exception as exc:  # Pillow raises many types for broken or foreign data
        raise InvalidTaskData(field, f"is not an image Pillow can read ({type(exc).__name__})") from None


# -- results -------------------------------------------------------------------------------------


def result_paths(task: Task) -> list[str]:
    return list(task.result.images) if task.result else []


def result_file(task: Task, index: int) -> Path | None:
    """The file of result image ``index`` if the task lists it and it exists; else None."""
    paths = result_paths(task)
    if index < 0 or index >= len(paths):
        return None
    path = Path(paths[index])
    return path if path.is_file() else None


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def data_url(path: Path) -> str:
    return f"data:{media_type(path)};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def thumbnail(path: Path, size: int) -> tuple[bytes, str]:
    """A JPEG (or PNG, when transparent) no larger than ``size`` on either side."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            image.thumbnail((size, size))
            out = io.BytesIO()
            if image.mode in ("RGBA", "LA") or "transparency" in image.info:
                image.convert("RGBA").save(out, format="PNG")
                return out.getvalue(), "image/png"
            image.convert("RGB").save(out, format="JPEG", quality=85)
            return out.getvalue(), "image/jpeg"


def zip_results(task: Task) -> bytes:
    """The task's existing result files in one zip, each under its own (de-duplicated) base name."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(len(result_paths(task))):
            path = result_file(task, index)
            if path is None:
                continue
            name = path.name
            if name in used:
                name = f"{index:03d}-{name}"
            used.add(name)
            archive.write(path, name)
    return buffer.getvalue()
