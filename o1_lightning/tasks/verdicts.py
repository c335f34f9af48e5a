"""What a tensor verifier says about a batch of completions: where steps end, which are right, which are solved."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class StepVerdicts:
    """A batch of completions judged on tensors, the same facts the string verifier and step checker give.

    Positions index the completion's characters (the end token, if any, comes after the last one).
    """

    step_end: torch.Tensor  # (B, L) bool: the character at j is the last one of a step
    step_ok: torch.Tensor  # (B, L) bool: that step is correct (read only where step_end)
    solved: torch.Tensor  # (B,) bool: the verifier accepts the completion
    mistakes: torch.Tensor  # (B,) long: wrong steps plus missing ones, as `Task.mistakes` counts them
