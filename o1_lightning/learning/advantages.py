"""Returns and advantage estimators of the REINFORCE family, as pure tensor functions.

All take (B, T) tensors indexed by transition with a (B, T) bool `mask` of real actions; rows of a group
(`group_size` completions of one prompt) are consecutive.
"""

from __future__ import annotations

import torch

from o1_lightning.errors import O1Error

NORMALIZATIONS = ("none", "episode", "batch")


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = sum_k gamma^(k-t) r_k for k >= t, as one (T, T) matmul instead of a Python loop over time."""
    steps = torch.arange(rewards.shape[-1], device=rewards.device)
    power = (steps.unsqueeze(0) - steps.unsqueeze(1)).to(rewards.dtype)  # (T, T): k - t
    discount = torch.where(power >= 0, gamma**power, torch.zeros_like(power))
    return rewards @ discount.T


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the mask; entries off it are dropped, not multiplied by 0 (a padding log-prob is -inf)."""
    return torch.where(mask, values, torch.zeros_like(values)).sum() / mask.sum().clamp(min=1)


def leave_one_out_baseline(returns: torch.Tensor, group_size: int) -> torch.Tensor:
    """RLOO: each sample's baseline is the mean return of the other samples of its group, per position."""
    if group_size < 2:
        raise O1Error(f"the rloo baseline needs data.group_size >= 2, got {group_size}")
    grouped = returns.view(-1, group_size, returns.shape[-1])  # (G, K, T)
    others = (grouped.sum(1, keepdim=True) - grouped) / (group_size - 1)
    return (grouped - others).view_as(returns)


def group_normalized(returns: torch.Tensor, group_size: int, eps: float = 1e-6) -> torch.Tensor:
    """GRPO: (G - group mean) / (group std + eps) per position; a group whose returns are equal gets zeros."""
    if group_size < 2:
        raise O1Error(f"the group baseline needs data.group_size >= 2, got {group_size}")
    grouped = returns.view(-1, group_size, returns.shape[-1])  # (G, K, T)
    mean = grouped.mean(1, keepdim=True)
    std = grouped.std(1, keepdim=True, unbiased=False)
    return ((grouped - mean) / (std + eps)).view_as(returns)


def normalize(advantages: torch.Tensor, mask: torch.Tensor, over: str, eps: float = 1e-6) -> torch.Tensor:
    """Standardise advantages over each episode's actions (the seed), over the whole batch, or not at all."""
    if over == "none":
        return advantages
    dims = -1 if over == "episode" else None
    count = mask.sum(dim=dims, keepdim=dims is not None).clamp(min=1)
    mean = (advantages * mask).sum(dim=dims, keepdim=dims is not None) / count
    var = (((advantages - mean) * mask) ** 2).sum(dim=dims, keepdim=dims is not None) / count
    return (advantages - mean) / (var.sqrt() + eps) * mask


def completion_positions(mask: torch.Tensor) -> torch.Tensor:
    """Index of each action within its completion (0 for the first action), -1 off the mask."""
    return torch.where(mask, mask.long().cumsum(-1) - 1, torch.full_like(mask, -1, dtype=torch.long))


def per_position_mean(returns: torch.Tensor, mask: torch.Tensor, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean return at each completion position over the batch (max_length,), and which positions occurred."""
    positions = completion_positions(mask)[mask]
    sums = torch.zeros(max_length, device=returns.device).index_add_(0, positions, returns[mask])
    counts = torch.zeros(max_length, device=returns.device).index_add_(0, positions, torch.ones_like(returns[mask]))
    return sums / counts.clamp(min=1), counts > 0


def moving_average_update(
    average: torch.Tensor, batch_mean: torch.Tensor, present: torch.Tensor, momentum: float
) -> torch.Tensor:
    """Exponential moving average, updated only at positions seen in this batch."""
    updated = momentum * average + (1 - momentum) * batch_mean
    return torch.where(present, updated, average)


def moving_average_advantages(returns: torch.Tensor, mask: torch.Tensor, average: torch.Tensor) -> torch.Tensor:
    """G_t minus the running average return at the same completion position."""
    positions = completion_positions(mask).clamp(min=0)
    return (returns - average[positions]) * mask


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016): (advantages, returns = advantages + values).

    Over each row's contiguous span of actions: delta_t = r_t + gamma * V_{t+1} - V_t, with V = 0 after an
    episode's last action (every episode terminates: end token or max_length), and
    A_t = sum_k (gamma * lam)^k delta_{t+k}, as one matmul (`discounted_returns`) instead of a loop over time.
    Both are zero off the mask.
    """
    values = torch.where(mask, values, torch.zeros_like(values))  # (B, T)
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], dim=1)  # V_{t+1}, 0 after the end
    deltas = torch.where(mask, rewards + gamma * next_values - values, torch.zeros_like(values))
    advantages = discounted_returns(deltas, gamma * lam) * mask
    return advantages, advantages + values
