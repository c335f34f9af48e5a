"""Potential-based shaping with a learned process reward model as the potential.

The oracle potential is shaping_scale x (leading correct steps). A PRM trained on "still on track after step j"
labels predicts p_j = P(steps 1..j all correct), and the sum of p_j over the steps written so far is the expected
number of leading correct steps: the same potential, estimated. A perfect PRM gives the oracle shaping exactly.
Shaping with any potential leaves the optimal policies unchanged (Ng et al. 1999), so a wrong PRM can slow
learning but cannot change what is optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from o1_lightning.errors import O1Error
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks.base import Task


@dataclass
class LearnedShapingReward(RewardFunction):
    """A RewardFunction whose `shaping` potential comes from `process_model` (a scorer with `step_scores`).

    Use it where a RewardFunction goes (e.g. `datamodule.reward_fn`); only the per-episode path is supported, so
    tasks whose every character is a step (TargetTask's vectorised path) are refused.
    """

    process_model: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.tensor_path = "shaping" not in self.names  # the learned potential reads completions as text
        if "shaping" in self.names and not hasattr(self.process_model, "step_scores"):
            raise O1Error(
                "LearnedShapingReward needs process_model: a process reward model scorer with step_scores(), "
                f"e.g. RewardModelScorer(..., kind='process'); got {self.process_model!r}"
            )

    def potentials(self, task: Task, prompt: str, steps: list[str], checked: list[bool], num_actions: int):
        """Phi after each action: shaping_scale x the sum of the PRM's step probabilities written so far."""
        potentials = torch.zeros(num_actions + 1)
        if not steps:
            return potentials
        scores = self.process_model.step_scores([prompt], ["".join(steps)])[0]
        end, expected_correct = 0, 0.0
        for step, score in zip(steps, scores):
            end += len(step)
            expected_correct += score
            potentials[end:] = self.shaping_scale * expected_correct
        return potentials

    def fixed_length_batch(self, correct: torch.Tensor):
        if "shaping" in self.names:
            raise O1Error(
                "learned shaping reads completions as text; it has no vectorised path for tasks whose every "
                "character is a step (TargetTask): use the oracle 'shaping' there"
            )
        return super().fixed_length_batch(correct)
