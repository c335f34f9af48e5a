"""Baselines as small classes chosen by name: each turns a batch's rewards into (advantages, returns).

The maths is in `advantages.py` (pure functions, hand-checked); these classes only pick it and hold the state
one of them keeps (the moving average, a buffer, so checkpoints carry it and the NaN guard can put it back).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.learning import advantages as adv


@dataclass(frozen=True)
class BaselineSettings:
    """What the baselines are built from; each reads the fields it needs."""

    gamma: float
    max_length: int
    momentum: float = 0.9
    gae_lambda: float = 0.95


class Baseline(nn.Module):
    """Advantages of (B, T) returns at the same transitions; subclasses say what is subtracted (here: nothing)."""

    needs_values = False  # True: the policy carries a value head whose (B, T) values `estimate` reads

    def __init__(self, settings: BaselineSettings) -> None:
        super().__init__()
        self.gamma = settings.gamma

    def centre(self, returns: torch.Tensor, mask: torch.Tensor, group_size: int) -> torch.Tensor:
        return returns * mask

    def estimate(
        self, rewards: torch.Tensor, values: torch.Tensor | None, mask: torch.Tensor, group_size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(advantages, returns), both (B, T): discounted returns minus this baseline."""
        returns = adv.discounted_returns(rewards, self.gamma)
        return self.centre(returns, mask, group_size), returns


class MovingAverageBaseline(Baseline):
    """The running mean return at each completion position, updated after use."""

    def __init__(self, settings: BaselineSettings) -> None:
        super().__init__(settings)
        self.momentum = settings.momentum
        self.register_buffer("average", torch.zeros(settings.max_length))

    def centre(self, returns: torch.Tensor, mask: torch.Tensor, group_size: int) -> torch.Tensor:
        advantages = adv.moving_average_advantages(returns, mask, self.average)
        batch_mean, present = adv.per_position_mean(returns, mask, self.average.shape[0])
        self.average.copy_(adv.moving_average_update(self.average, batch_mean, present, self.momentum))
        return advantages


class LeaveOneOutBaseline(Baseline):
    """RLOO: the mean return of the other completions of the same prompt."""

    def centre(self, returns: torch.Tensor, mask: torch.Tensor, group_size: int) -> torch.Tensor:
        return adv.leave_one_out_baseline(returns, group_size) * mask


class GroupBaseline(Baseline):
    """GRPO: returns standardised within each prompt's group."""

    def centre(self, returns: torch.Tensor, mask: torch.Tensor, group_size: int) -> torch.Tensor:
        return adv.group_normalized(returns, group_size) * mask


class GAEBaseline(Baseline):
    """A learned value head and generalised advantage estimation; the returns are the value head's targets."""

    needs_values = True

    def __init__(self, settings: BaselineSettings) -> None:
        super().__init__(settings)
        self.lam = settings.gae_lambda

    def estimate(self, rewards, values, mask, group_size):
        return adv.gae(rewards, values.detach(), mask, self.gamma, self.lam)


BASELINES: dict[str, type[Baseline]] = {
    "none": Baseline,
    "moving_average": MovingAverageBaseline,
    "rloo": LeaveOneOutBaseline,
    "group": GroupBaseline,
    "gae": GAEBaseline,
}


def make_baseline(name: str, settings: BaselineSettings) -> Baseline:
    """The baseline `name`, or one O1Error line naming the choices."""
    if name not in BASELINES:
        raise O1Error(f"unknown baseline {name!r}; allowed: {', '.join(BASELINES)}")
    return BASELINES[name](settings)
