"""Seeds and intervals for benchmark figures: the mean of per-seed values and its 95% interval.

A figure is evidence only with >= 3 seeds: `summarise` refuses fewer (a deterministic figure that needs one run says
so with `single_run`). The interval is Student's t on the per-seed values (seeds are few, so a bootstrap would
resample 3 numbers; t is exact for normal noise and honest about how wide 3 seeds are: t(2) = 4.30).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_SEEDS = 3

# Two-sided 95% quantiles of Student's t, t_{0.975}(df) for df = 1..30.
T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip


def t975(df: int) -> float:
    """t_{0.975}(df): the table up to 30, then the Cornish-Fisher expansion around z = 1.96 (error < 1e-3)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci95(values: Sequence[float]) -> tuple[float, list[float]]:
    """The mean of `values` and the 95% t interval [low, high] of that mean (needs 2 values or more)."""
    n = len(values)
    if n < 2:
        raise ValueError(f"an interval needs at least 2 values, got {n}")
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return mean, [mean - half, mean + half]


def summarise(values: Sequence[float], seeds: Sequence[int], bounds: tuple[float, float] | None = None) -> dict:
    """{"mean", "ci95", "seeds", "values"} of one figure measured once per seed; ValueError under MIN_SEEDS.

    `bounds` clips the interval to the figure's range (a fraction's interval stays within [0, 1]).
    """
    if len(values) != len(seeds):
        raise ValueError(f"{len(values)} values for {len(seeds)} seeds: give one value per seed")
    if len(seeds) < MIN_SEEDS:
        raise ValueError(f"a figure needs at least {MIN_SEEDS} seeds, got {len(seeds)}: {list(seeds)}")
    mean, ci95 = mean_ci95([float(v) for v in values])
    if bounds is not None:
        ci95 = [max(ci95[0], bounds[0]), min(ci95[1], bounds[1])]
    return {
        "mean": round(mean, 6),
        "ci95": [round(ci95[0], 6), round(ci95[1], 6)],
        "seeds": list(seeds),
        "values": [round(float(v), 6) for v in values],
    }


def single_run(value: float, why: str, seed: int = 0) -> dict:
    """A figure that honestly needs one run (a deterministic method, a count): no interval, and the reason."""
    return {"mean": round(float(value), 6), "ci95": None, "seeds": [seed], "single_run": why}


def summarise_or_look(values: Sequence[float], seeds: Sequence[int], bounds: tuple[float, float] | None = None) -> dict:
    """`summarise` from MIN_SEEDS seeds; under that a look, not a figure: the mean, no interval, every seed's value."""
    if len(seeds) >= MIN_SEEDS:
        return summarise(values, seeds, bounds)
    look = single_run(sum(values) / len(values), f"seeds {list(seeds)}: a look")
    return look | {"values": list(values), "seeds": list(seeds)}


def format_ci(summary: dict, digits: int = 3, count_seeds: bool = True) -> str:
    """'0.512 [0.480, 0.544] (3 seeds)' for tables (without ' (3 seeds)' if not `count_seeds`); one run: 'one run'."""
    mean = f"{summary['mean']:.{digits}f}"
    if summary.get("ci95") is None:
        return f"{mean} (one run)"
    low, high = summary["ci95"]
    seeds = f" ({len(summary['seeds'])} seeds)" if count_seeds else ""
    return f"{mean} [{low:.{digits}f}, {high:.{digits}f}]{seeds}"


def gap_closed(value: float, low: float, high: float) -> float:
    """The fraction of the gap from `low` (e.g. greedy) to `high` (e.g. an oracle reference) that `value` closes:
    0 at `low`, 1 at `high`, negative below `low`; NaN when there is no gap to close."""
    return (value - low) / (high - low) if high != low else math.nan


def intervals_apart(upper: dict, lower: dict) -> bool:
    """Whether summary `upper`'s 95% interval lies wholly above summary `lower`'s (they do not overlap)."""
    return upper["ci95"][0] > lower["ci95"][1]
