"""One batch of experience: the typed value that flows from the datamodule to the training step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class Rollout:
    """One batch of episodes in a single right-padded layout.

    `tokens` is BOS + prompt + completion (+ EOS when emitted) + padding. Transition j predicts
    `tokens[:, j + 1]` from `tokens[:, : j + 1]`; every other tensor is indexed by transition (B, T - 1).
    """

    tokens: torch.Tensor  # (B, T) long
    action_mask: torch.Tensor  # (B, T-1) bool: transition j is a sampled completion token
    old_log_probs: torch.Tensor  # (B, T-1) log-prob of each action under the sampling policy
    rewards: torch.Tensor  # (B, T-1) outcome, process and shaping rewards on their actions
    outcome_reward: torch.Tensor  # (B,) the outcome part alone
    success: torch.Tensor  # (B,) float, 1.0 where the verifier accepts the completion
    lengths: torch.Tensor  # (B,) completion length in actions (EOS included when emitted)
    group_size: int
    prompts: Sequence[str]  # (B,) each episode's prompt (made into text when read)
    completions: Sequence[str]  # (B,) each episode's completion (decoded when read)
    demo_tokens: torch.Tensor | None = None  # (D, T') verified solutions to imitate (expert iteration), or None
    demo_mask: torch.Tensor | None = None  # (D, T'-1) their completion transitions
    demo_weight: float = 0.0
    temperature: float = 1.0  # the sampling temperature: old_log_probs are those of the policy's logits / T

    @property
    def episode_reward(self) -> torch.Tensor:
        """(B,) undiscounted sum of all rewards of each episode."""
        return self.rewards.sum(-1)
