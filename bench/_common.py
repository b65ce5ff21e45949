"""Shared helpers for the benchmark scripts (figures are printed, never asserted)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return p


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def report(figures: dict, as_json: bool) -> None:
    for key, value in figures.items():
        print(f"{key:28} {value}")
    if as_json:
        print(json.dumps(figures))


def process_cpu_s(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds (user + system) of a live process; ``reaped``: with its waited-for children's.
    Linux ``/proc``; raises OSError elsewhere or when the process is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11 : 15 if reaped else 13]) / os.sysconf("SC_CLK_TCK")
