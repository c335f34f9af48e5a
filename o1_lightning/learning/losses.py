"""Losses as pure functions of log-probs, advantages, values and masks: REINFORCE, SFT, KL, PPO-clip, value."""

from __future__ import annotations

import torch

from o1_lightning.learning.advantages import masked_mean


def reinforce_loss(log_probs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-E[A * log pi(a|s)] averaged over real actions; advantages are treated as constants."""
    return -masked_mean(log_probs * advantages.detach(), mask)


def entropy_bonus(entropy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the action distributions over real actions (subtracted from the loss, scaled)."""
    return masked_mean(entropy, mask)


def uniform_kl(logits: torch.Tensor) -> torch.Tensor:
    """KL(uniform || pi) per position over the actions the logits allow (finite ones): (..., V) -> (...).

    An exploration penalty: unlike the entropy bonus, whose gradient vanishes as pi becomes deterministic, its
    gradient on the logits is pi - uniform, so a position that collapsed onto a wrong action keeps sampling the
    others (0 for a uniform policy, log(n) - mean log pi over the n allowed actions in general).
    """
    allowed = torch.isfinite(logits)
    log_probs = torch.log_softmax(logits, dim=-1)
    count = allowed.sum(-1).clamp(min=1)
    mean_log_prob = torch.where(allowed, log_probs, torch.zeros_like(log_probs)).sum(-1) / count
    return -torch.log(count.to(logits.dtype)) - mean_log_prob


def sft_loss(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Teacher-forced cross-entropy: -mean log pi(demonstrated token) over the completion's tokens (end included).

    Used for SFT on demonstrations and for expert iteration on search-found solutions.
    """
    return -masked_mean(log_probs, mask)


def k3_kl(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) on actions sampled from pi: r - log r - 1 with r = pi_ref / pi.

    Schulman's k3 estimator (used by GRPO): unbiased, never negative, lower variance than -log r.
    """
    log_ratio = ref_log_probs - log_probs
    return torch.exp(log_ratio) - log_ratio - 1


def ppo_clip_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
) -> torch.Tensor:
    """PPO-clip: -E[min(rho * A, clip(rho, 1 - eps, 1 + eps) * A)], rho = pi / pi_old, per token over real actions."""
    ratio = torch.exp(log_probs - old_log_probs)
    advantages = advantages.detach()
    clipped = torch.clamp(ratio, 1 - clip_range, 1 + clip_range) * advantages
    return -masked_mean(torch.min(ratio * advantages, clipped), mask)


def clip_fraction(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, mask: torch.Tensor, clip_range: float
) -> torch.Tensor:
    """Share of real actions whose ratio left [1 - eps, 1 + eps] (a health signal of PPO's step size)."""
    outside = (torch.exp(log_probs - old_log_probs) - 1).abs() > clip_range
    return masked_mean(outside.float(), mask)


def value_loss(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """0.5 * mean squared error of the value head against the (constant) return targets, over real actions."""
    return 0.5 * masked_mean((values - returns.detach()) ** 2, mask)
