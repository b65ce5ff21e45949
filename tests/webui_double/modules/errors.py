"""Error reporting, as ``modules.errors``: print, never raise."""

from __future__ import annotations

import sys
import textwrap
import traceback

exception_records: list[dict] = []


def format_exception(e: BaseException, tb) -> dict:
    return {
        "exception": str(e),
        "traceback": [[f.filename, f.lineno, f.name, f.line] for f in traceback.extract_tb(tb)],
    }


def record_exception() -> None:
    _, e, tb = sys.exc_info()
    if e is None:
        return
    if exception_records and exception_records[-1]["exception"] == str(e):
        return
    exception_records.append(format_exception(e, tb))
    if len(exception_records) > 5:
        exception_records.pop(0)


def report(message: str, *, exc_info: bool = False) -> None:
    """Print ``message`` (and the current exception's traceback) to stderr."""
    record_exception()
    for line in message.splitlines():
        print("***", line, file=sys.stderr)
    if exc_info:
        print(textwrap.indent(traceback.format_exc(), "    "), file=sys.stderr)
        print("---", file=sys.stderr)


def display(e: BaseException, task: str, *, full_traceback: bool = False) -> None:
    record_exception()
    print(f"{task or 'error'}: {type(e).__name__}", file=sys.stderr)
    print("".join(traceback.format_exception(type(e), e, e.__traceback__)), file=sys.stderr)


def display_once(e: BaseException, task: str) -> None:
    display(e, task)


def run(code, task: str) -> None:
    try:
        code()
    except Exception as e:
        display(e, task)


def print_error_explanation(message: str) -> None:
    print(message, file=sys.stderr)
