"""The one place that knows whether pydantic 1 (A1111) or pydantic 2 (Forge) is installed.

Everything else in the HTTP layer uses the common subset plus these few helpers, so a model is
declared once and behaves the same on both stacks.
"""

from typing import Any, Optional, TypeVar

import pydantic
from pydantic import BaseModel, Field

PYDANTIC_V2 = pydantic.VERSION.startswith("2.")

M = TypeVar("M", bound=BaseModel)

if PYDANTIC_V2:
    from pydantic import ConfigDict

    class ApiModel(BaseModel):
        """A request model: unknown fields are an error (422 naming the field), never ignored."""

        model_config = ConfigDict(extra="forbid")

    class OpenModel(BaseModel):
        """A response model: extra keys pass through."""

        model_config = ConfigDict(extra="allow")

else:  # pragma: no cover - exercised on the A1111 stack

    class ApiModel(BaseModel):  # type: ignore[no-redef]
        """A request model: unknown fields are an error (422 naming the field), never ignored."""

        class Config:
            extra = "forbid"

    class OpenModel(BaseModel):  # type: ignore[no-redef]
        """A response model: extra keys pass through."""

        class Config:
            extra = "allow"


def field(default: Any = None, *, description: Optional[str] = None, example: Any = None, **kw: Any) -> Any:
    """``Field`` with one example, spelt the way the installed pydantic documents it."""
    if example is not None:
        if PYDANTIC_V2:
            kw["examples"] = [example]
        else:
            kw["example"] = example
    return Field(default, description=description, **kw)


def with_example(example: dict[str, Any]):
    """Class decorator: attach a whole-body example that /docs shows."""

    def apply(cls: type[M]) -> type[M]:
        if PYDANTIC_V2:
            cls.model_config["json_schema_extra"] = {"examples": [example]}
            cls.model_rebuild(force=True)
        else:
            cls.__config__.schema_extra = {"example": example}
        return cls

    return apply


def dump(model: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    if PYDANTIC_V2:
        return model.model_dump(exclude_unset=exclude_unset)
    return model.dict(exclude_unset=exclude_unset)


def fields_set(model: BaseModel) -> set:
    if PYDANTIC_V2:
        return set(model.model_fields_set)
    return set(model.__fields_set__)


def field_names(cls: type[BaseModel]) -> list:
    if PYDANTIC_V2:
        return list(cls.model_fields)
    return list(cls.__fields__)


def validate(cls: type[M], data: dict[str, Any]) -> M:
    """Build a model from a dict; raises ``pydantic.ValidationError`` either way."""
    if PYDANTIC_V2:
        return cls.model_validate(data)
    return cls.parse_obj(data)


def error_list(exc: pydantic.ValidationError) -> list:
    """``loc`` / ``msg`` / ``type`` of each error, with nothing that is not plain JSON."""
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]
