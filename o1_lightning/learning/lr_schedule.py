"""Learning-rate schedules: the factor on the base learning rate after `step` of `total_steps` optimizer steps.

Why: with a constant step size, SFT on 8-digit addition plateaus near the noise floor Adam's step allows; decaying
it to zero over the run lets the last steps settle (docs/ATTENTION_POLICY.md measures what it buys per CPU minute).
"""

from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """1 for constant; for linear and cosine, 1 at step 0 falling to 0 at `total_steps` (and 0 after it).

    linear: 1 - step / total_steps; cosine: (1 + cos(pi * step / total_steps)) / 2.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
    if schedule == "constant":
        return 1.0
    if total_steps < 1:
        raise ValueError(f"schedule {schedule} needs a positive number of steps, got {total_steps}")
    progress = min(step, total_steps) / total_steps
    if schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))
