"""Start times and repetitions as the API takes and shows them.

``not_before`` is an ISO 8601 date and time (``2026-12-05T01:00``, with or without an offset;
without one it is the server's local time, as the run windows are) or epoch seconds.
``repeat`` is ``{"times": N, "keep_seeds": false}``: N rounds in all, 0 or null until stopped.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Optional, Union

from ..errors import InvalidTaskData
from ..gate import MAX_REPEAT
from . import _pydantic as pd

When = Union[float, str]


class RepeatRequest(pd.ApiModel):
    times: Optional[int] = pd.field(
        None, ge=0, le=MAX_REPEAT, description="Rounds in all; 0 or null: until stopped.", example=3
    )
    keep_seeds: Optional[bool] = pd.field(
        None, description="Every round uses the first round's seeds (default: new seeds each round)."
    )


def parse_when(value: Any, where: str = "not_before") -> float | None:
    """Epoch seconds from a number or an ISO 8601 text; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidTaskData(where, "must be a finite time")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidTaskData(
                where, f"{value!r} is not a date and time (e.g. 2026-12-05T01:00)"
            ) from None
        return moment.timestamp()  # naive: the server's local time
    raise InvalidTaskData(where, "must be a date and time or epoch seconds")


def repeat_args(value: Any) -> tuple[int, bool] | None:
    """``(times, keep_seeds)`` from a request's ``repeat`` (a model or a dict), None for none."""
    if value is None:
        return None
    data = pd.dump(value) if not isinstance(value, dict) else value
    times = data.get("times")
    return (int(times or 0), bool(data.get("keep_seeds")))
