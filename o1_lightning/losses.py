"""Policy-gradient losses as pure functions of log-probs, advantages and masks."""

from __future__ import annotations

import torch

from o1_lightning.advantages import masked_mean


def reinforce_loss(log_probs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-E[A * log pi(a|s)] averaged over real actions; advantages are treated as constants."""
    return -masked_mean(log_probs * advantages.detach(), mask)


def entropy_bonus(entropy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the action distributions over real actions (subtracted from the loss, scaled)."""
    return masked_mean(entropy, mask)


def imitation_loss(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of given solutions' tokens, averaged over their tokens (SFT, expert iteration)."""
    return -masked_mean(log_probs, mask)
