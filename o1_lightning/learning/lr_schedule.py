"""Learning-rate schedules: the factor on the base learning rate after `step` of `total_steps` optimizer steps.

Why: with a constant step size, SFT on 8-digit addition plateaus near the noise floor Adam's step allows; decaying
it to zero over the run lets the last steps settle (docs/ATTENTION_POLICY.md measures what it buys per CPU minute).
A warmup ramps the rate up first: RL from a converged SFT policy starts with a fresh Adam, whose first steps move
every weight by about the full rate whatever the gradient's size (docs/COUNTDOWN_RL.md measures it on Countdown:
it did not stop RL from lowering a converged policy's accuracy).
"""

from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(schedule: str, step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """The factor on the base rate before optimizer step `step` (counted from 0).

    A linear warmup first, (step + 1) / warmup_steps for the first `warmup_steps` steps; then 1 for constant,
    and for linear and cosine a decay from 1 to 0 over the remaining `total_steps - warmup_steps` steps (0 after
    them): linear 1 - p, cosine (1 + cos(pi * p)) / 2, with p the fraction of those steps taken.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    decay_steps = total_steps - warmup_steps
    if decay_steps < 1:
        raise ValueError(
            f"schedule {schedule} needs more steps than the warmup's {warmup_steps}, got {total_steps} in all"
        )
    progress = min(step - warmup_steps, decay_steps) / decay_steps
    if schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))
