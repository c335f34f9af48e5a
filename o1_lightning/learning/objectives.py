"""Training objectives as small classes chosen by `model.objective`: each owns its loss and says what it needs
from a batch (`source`) and from the optimiser (`manual_optimization`, `optimizer_steps_per_batch`).

The LightningModule builds one with the policy, the KL reference and the baseline, and only wires it in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch

from o1_lightning.errors import O1Error
from o1_lightning.learning import advantages as adv
from o1_lightning.learning.baselines import Baseline
from o1_lightning.learning.losses import (
    clip_fraction,
    entropy_bonus,
    k3_kl,
    ppo_clip_loss,
    reinforce_loss,
    sft_loss,
    uniform_kl,
    value_loss,
)
from o1_lightning.learning.rollout import Rollout
from o1_lightning.policy.gru import GRUPolicy, log_probs_and_entropy

OptimizerStep = Callable[[torch.Tensor], None]  # backward, clip, step: manual optimisation's one step


def teacher_forced(
    policy: GRUPolicy,
    tokens: torch.Tensor,
    mask: torch.Tensor,
    with_uniform_kl: bool = False,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Teacher-forced (B, T-1) log-probs of the taken tokens, entropies, values (None without a value head) and
    KL(uniform || policy) at each position (None unless `with_uniform_kl`), all of the policy's logits /
    `temperature` (the distribution rollouts sampled at that temperature were drawn from).

    Log-probs are zeroed off the action mask: a padding target's is -inf, which would turn into NaN gradients
    through the KL and PPO ratios.
    """
    logits, values = policy(tokens[:, :-1])  # (B, T-1, V), (B, T-1) or None
    if temperature != 1.0:
        logits = logits / temperature
    log_probs, entropy = log_probs_and_entropy(logits, tokens[:, 1:])
    kl_uniform = uniform_kl(logits) if with_uniform_kl else None  # (B, T-1)
    return torch.where(mask, log_probs, torch.zeros_like(log_probs)), entropy, values, kl_uniform


@dataclass(frozen=True)
class LossSettings:
    """The loss weights and PPO's schedule, from the module's config."""

    normalize: str = "none"
    entropy_coef: float = 0.0
    value_coef: float = 0.5
    kl_coef: float = 0.0
    ppo_epochs: int = 4
    num_minibatches: int = 4
    clip_range: float = 0.2
    uniform_kl_coef: float = 0.0


@dataclass
class StepOutput:
    """A training step's loss, its terms by name (logged as train/<name>) and the sampling policy's mean entropy
    over the batch's actions (None: the batch was not sampled by the policy, e.g. SFT's demonstrations)."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]
    sampling_entropy: torch.Tensor | None


class Objective:
    """What a training step optimises; subclasses own their loss."""

    source: ClassVar[str] = "rollouts"  # what a batch holds: the policy's rollouts or the task's demonstrations
    manual_optimization: ClassVar[bool] = False

    def __init__(
        self, settings: LossSettings, policy: GRUPolicy, baseline: Baseline, reference: GRUPolicy | None
    ) -> None:
        self.settings, self.policy, self.baseline, self.reference = settings, policy, baseline, reference

    @property
    def optimizer_steps_per_batch(self) -> int:
        return 1

    def check_batch_size(self, batch_size: int) -> None:
        """Refuse a batch size the objective cannot split (one O1Error line)."""

    def step(self, batch: Rollout, optimizer_step: OptimizerStep | None, step: int) -> StepOutput:
        raise NotImplementedError


class PolicyGradient(Objective):
    """The shared part of REINFORCE and PPO: advantages from the baseline, and the regularisers."""

    def advantages(self, rollout: Rollout, values: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(advantages, returns) of a rollout batch; the returns are the value head's targets under gae."""
        mask = rollout.action_mask
        advantages, returns = self.baseline.estimate(rollout.rewards, values, mask, rollout.group_size)
        return adv.normalize(advantages, mask, self.settings.normalize), returns

    def regularized(
        self,
        policy_loss: torch.Tensor,
        tokens: torch.Tensor,
        mask: torch.Tensor,
        log_probs: torch.Tensor,
        entropy: torch.Tensor,
        values: torch.Tensor | None,
        returns: torch.Tensor,
        kl_uniform: torch.Tensor | None = None,
        temperature: float = 1.0,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """policy loss - entropy bonus (+ KL(uniform || policy)) (+ value loss) (+ KL to the reference), and each
        term by name."""
        terms = {"policy_loss": policy_loss.detach(), "entropy": entropy_bonus(entropy, mask)}
        loss = policy_loss - self.settings.entropy_coef * terms["entropy"]
        if kl_uniform is not None:
            terms["uniform_kl"] = adv.masked_mean(kl_uniform, mask)
            loss = loss + self.settings.uniform_kl_coef * terms["uniform_kl"]
        if values is not None:
            terms["value_loss"] = value_loss(values, returns, mask)
            loss = loss + self.settings.value_coef * terms["value_loss"]
        if self.reference is not None:
            with torch.no_grad():
                ref_log_probs, *_ = teacher_forced(self.reference, tokens, mask, temperature=temperature)
            terms["kl"] = adv.masked_mean(k3_kl(log_probs, ref_log_probs), mask)
            loss = loss + self.settings.kl_coef * terms["kl"]
        return loss, terms


class Reinforce(PolicyGradient):
    """REINFORCE with the chosen baseline, plus imitation of search-found solutions when the batch carries them."""

    def step(self, batch: Rollout, optimizer_step: OptimizerStep | None, step: int) -> StepOutput:
        mask = batch.action_mask
        explore = self.settings.uniform_kl_coef > 0
        log_probs, entropy, values, kl_uniform = teacher_forced(
            self.policy, batch.tokens, mask, explore, batch.temperature
        )
        advantages, returns = self.advantages(batch, values)
        policy_loss = reinforce_loss(log_probs, advantages, mask)
        loss, terms = self.regularized(
            policy_loss, batch.tokens, mask, log_probs, entropy, values, returns, kl_uniform, batch.temperature
        )
        if batch.demo_tokens is not None:  # expert iteration: imitate verified solutions found by search
            demo_log_probs, *_ = teacher_forced(self.policy, batch.demo_tokens, batch.demo_mask)
            terms["imitation_loss"] = sft_loss(demo_log_probs, batch.demo_mask)
            loss = loss + batch.demo_weight * terms["imitation_loss"]
        sampling_entropy = terms.pop("entropy").detach()
        return StepOutput(loss, {name: value.detach() for name, value in terms.items()}, sampling_entropy)


class PPO(PolicyGradient):
    """PPO-clip: ppo_epochs passes over one rollout batch in num_minibatches shuffled minibatches, one optimizer
    step each. Advantages and value targets are computed once, before the first step; the ratio's denominator is
    the sampling policy's log-probs stored in the rollout."""

    manual_optimization = True

    @property
    def optimizer_steps_per_batch(self) -> int:
        return self.settings.ppo_epochs * self.settings.num_minibatches

    def check_batch_size(self, batch_size: int) -> None:
        if batch_size % self.settings.num_minibatches:
            raise O1Error(
                f"data.batch_size {batch_size} is not a multiple of model.num_minibatches "
                f"{self.settings.num_minibatches}"
            )

    def step(self, batch: Rollout, optimizer_step: OptimizerStep | None, step: int) -> StepOutput:
        mask = batch.action_mask
        with torch.no_grad():
            _, entropy, values, _ = teacher_forced(self.policy, batch.tokens, mask, temperature=batch.temperature)
            advantages, returns = self.advantages(batch, values)
            sampling_entropy = entropy_bonus(entropy, mask)
        # The shuffle is drawn from the step number, so a resumed fit replays exactly the uninterrupted one.
        generator = torch.Generator().manual_seed(step)
        size, clip = batch.tokens.shape[0], self.settings.clip_range
        totals: dict[str, list[torch.Tensor]] = defaultdict(list)
        for _ in range(self.settings.ppo_epochs):
            order = torch.randperm(size, generator=generator).to(batch.tokens.device)
            for rows in order.split(size // self.settings.num_minibatches):
                tokens, minibatch_mask = batch.tokens[rows], mask[rows]
                explore = self.settings.uniform_kl_coef > 0
                log_probs, entropy, minibatch_values, kl_uniform = teacher_forced(
                    self.policy, tokens, minibatch_mask, explore, batch.temperature
                )
                old_log_probs = batch.old_log_probs[rows]
                policy_loss = ppo_clip_loss(log_probs, old_log_probs, advantages[rows], minibatch_mask, clip)
                loss, terms = self.regularized(
                    policy_loss, tokens, minibatch_mask, log_probs, entropy, minibatch_values, returns[rows],
                    kl_uniform, batch.temperature,
                )  # fmt: skip
                optimizer_step(loss)
                terms.pop("entropy")
                terms["clip_fraction"] = clip_fraction(log_probs.detach(), old_log_probs, minibatch_mask, clip)
                for name, value in {"loss": loss, **terms}.items():
                    totals[name].append(value.detach())
        means = {name: torch.stack(values).mean() for name, values in totals.items()}
        return StepOutput(means.pop("loss"), means, sampling_entropy)


class SFT(Objective):
    """Cross-entropy of the demonstrated completions (end token included), teacher-forced in one GRU call."""

    source = "demonstrations"

    def step(self, batch: Rollout, optimizer_step: OptimizerStep | None, step: int) -> StepOutput:
        mask = batch.action_mask
        log_probs, entropy, *_ = teacher_forced(self.policy, batch.tokens, mask)
        terms = {"entropy": entropy_bonus(entropy, mask).detach(), "length": batch.lengths.float().mean()}
        return StepOutput(sft_loss(log_probs, mask), terms, None)


OBJECTIVES: dict[str, type[Objective]] = {"reinforce": Reinforce, "ppo": PPO, "sft": SFT}


def objective_class(name: str) -> type[Objective]:
    """The objective class `name`, or one O1Error line naming the choices."""
    if name not in OBJECTIVES:
        raise O1Error(f"unknown objective {name!r}; allowed: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]
