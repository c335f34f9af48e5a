"""A tiny stats helper for the recipe benchmarks (long and short targets): mean and a 95% t-interval over seeds.

Local to these two benchmarks until a shared one lands in benchmarks/common.py.
"""

from __future__ import annotations

import json
import math
import os

# Two-sided 95% quantiles of Student's t, t_{0.975, df}, for df = 1..10 (beyond: 1.96 is within 6%, use 2.0).
T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]


def t_interval(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) of a 95% t-interval for the mean; one value: (value, None, None); none: all None."""
    if not values:
        return None, None, None
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, None, None
    df = len(values) - 1
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / df)
    half = (T_975[df - 1] if df <= len(T_975) else 2.0) * sd / math.sqrt(len(values))
    return round(mean, 2), round(mean - half, 2), round(mean + half, 2)


def load_average() -> float:
    """The 1-minute load average: wall times on a shared machine move with it."""
    return os.getloadavg()[0]


def emit_json(record: dict) -> None:
    """One figure (or one run) as one JSON line on stdout."""
    print(json.dumps(record), flush=True)


def summarise(name: str, rows: list[dict], seeds: list[int]) -> None:
    """Solved count, and mean with a 95% t-interval of `updates` and `wall_s` over the solved runs."""
    solved = [row for row in rows if row["updates"] is not None]
    emit_json({"name": f"{name}_solved", "value": len(solved), "of": len(rows), "unit": "runs"})
    for key in ("updates", "wall_s"):
        values = [row[key] for row in solved]
        mean, low, high = t_interval(values)
        figure = {"name": f"{name}_{key}", "mean": mean, "ci95": [low, high], "seeds": seeds, "n": len(values)}
        emit_json({**figure, "max": max(values, default=None), "unit": key, "loadavg": load_average()})
