"""The LightningModule: wires the policy, the advantage estimators and the losses together."""

from __future__ import annotations

import lightning as L
import torch
from torchmetrics import MeanMetric

from o1_lightning import advantages as adv
from o1_lightning.errors import O1Error
from o1_lightning.losses import entropy_bonus, imitation_loss, reinforce_loss
from o1_lightning.policy import GRUPolicy, log_probs_and_entropy
from o1_lightning.rollout import Rollout, decode_completions, sample
from o1_lightning.tasks import Task
from o1_lightning.tokenizer import CharTokenizer


class PolicyModule(L.LightningModule):
    """REINFORCE with a choice of baseline, on rollouts sampled by the datamodule with this module's policy.

    Args:
        vocab, max_length, can_stop, gamma: linked from the datamodule's task and reward (not set by hand).
        embedding_dim, hidden_size, num_layers: the GRU policy.
        lr: Adam learning rate.
        baseline: none (the seed), moving_average (per position), rloo (leave-one-out) or group (GRPO).
        normalize: standardise advantages per episode (the seed), per batch, or none.
        entropy_coef: weight of the entropy bonus.
        moving_average_momentum: momentum of the moving-average baseline.
        log_samples_every_n_steps: how often a few decoded samples go to TensorBoard as text (0: never).
    """

    def __init__(
        self,
        vocab: str,
        max_length: int,
        can_stop: bool = True,
        gamma: float = 0.99,
        embedding_dim: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        lr: float = 1e-2,
        baseline: str = "group",
        normalize: str = "none",
        entropy_coef: float = 0.0,
        moving_average_momentum: float = 0.9,
        log_samples_every_n_steps: int = 50,
    ) -> None:
        super().__init__()
        if baseline not in adv.BASELINES:
            raise O1Error(f"unknown baseline {baseline!r}; allowed: {', '.join(adv.BASELINES)}")
        if normalize not in adv.NORMALIZATIONS:
            raise O1Error(f"unknown normalize {normalize!r}; allowed: {', '.join(adv.NORMALIZATIONS)}")
        for name, size in (("embedding_dim", embedding_dim), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if size < 1:
                raise O1Error(f"model.{name} must be at least 1, got {size}")
        if not lr > 0:
            raise O1Error(f"model.lr must be positive, got {lr}")
        self.save_hyperparameters()
        self.tokenizer = CharTokenizer(vocab)
        self.policy = GRUPolicy(self.tokenizer.size, embedding_dim, hidden_size, num_layers, can_stop=can_stop)
        self.register_buffer("return_average", torch.zeros(max_length))
        self.task: Task | None = None
        self.metrics = torch.nn.ModuleDict(
            {name: MeanMetric(dist_sync_on_step=True) for name in ("reward", "success", "entropy", "length")}
        )
        self.val_accuracy = MeanMetric()
        self.val_step_accuracy = MeanMetric()

    def transfer_batch_to_device(self, batch, device: torch.device, dataloader_idx: int):
        """A Rollout is sampled on the policy's device already; Lightning's generic transfer would deep-copy it."""
        if isinstance(batch, Rollout):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def setup(self, stage: str) -> None:
        datamodule = self.trainer.datamodule
        if datamodule is not None:
            self.task = datamodule.task
            if hasattr(datamodule, "attach_policy"):
                datamodule.attach_policy(self.policy, self.global_rank)

    def advantages(self, returns: torch.Tensor, mask: torch.Tensor, group_size: int) -> torch.Tensor:
        baseline = self.hparams.baseline
        if baseline == "none":
            advantages = returns * mask
        elif baseline == "moving_average":
            advantages = adv.moving_average_advantages(returns, mask, self.return_average)
            batch_mean, present = adv.per_position_mean(returns, mask, self.hparams.max_length)
            self.return_average = adv.moving_average_update(
                self.return_average, batch_mean, present, self.hparams.moving_average_momentum
            )
        elif baseline == "rloo":
            advantages = adv.leave_one_out_baseline(returns, group_size) * mask
        else:
            advantages = adv.group_normalized(returns, group_size) * mask
        return adv.normalize(advantages, mask, self.hparams.normalize)

    def training_step(self, rollout: Rollout, batch_idx: int) -> torch.Tensor:
        logits, _ = self.policy(rollout.tokens[:, :-1])  # (B, T-1, V)
        log_probs, entropy = log_probs_and_entropy(logits, rollout.tokens[:, 1:])
        mask = rollout.action_mask
        returns = adv.discounted_returns(rollout.rewards, self.hparams.gamma)
        advantages = self.advantages(returns, mask, rollout.group_size)
        mean_entropy = entropy_bonus(entropy, mask)
        loss = reinforce_loss(log_probs, advantages, mask) - self.hparams.entropy_coef * mean_entropy
        if rollout.demo_tokens is not None:
            demo_logits, _ = self.policy(rollout.demo_tokens[:, :-1])
            demo_log_probs, _ = log_probs_and_entropy(demo_logits, rollout.demo_tokens[:, 1:])
            demo_loss = imitation_loss(demo_log_probs, rollout.demo_mask)
            loss = loss + rollout.demo_weight * demo_loss
            if self.logging_this_step():
                self.log("train/imitation_loss", demo_loss.detach(), on_step=True, on_epoch=False, batch_size=1)
        if self.logging_this_step():
            self.log_rollout(rollout, mean_entropy.detach(), loss.detach())
        return loss

    def logging_this_step(self) -> bool:
        """Whether Lightning writes this step's logs (every `log_every_n_steps`); each `self.log` call costs ~1 ms,
        which is most of Lightning's per-step overhead for a batch this small, so we log only when it is written."""
        if self._trainer is None:
            return False
        return self.trainer._logger_connector.should_update_logs

    def log_rollout(self, rollout: Rollout, mean_entropy: torch.Tensor, loss: torch.Tensor) -> None:
        values = {
            "reward": rollout.episode_reward.mean(),
            "success": rollout.success.mean(),
            "entropy": mean_entropy,
            "length": rollout.lengths.float().mean(),
        }
        for name, value in values.items():
            self.metrics[name](value)
            self.log(
                f"train/{name}",
                self.metrics[name],
                prog_bar=name in ("reward", "success"),
                on_step=True,
                on_epoch=False,
                batch_size=1,  # given, so that Lightning does not search the batch for its size
            )
        self.log("train/loss", loss, on_step=True, on_epoch=False, sync_dist=True, batch_size=1)  # mean over ranks
        every = self.hparams.log_samples_every_n_steps
        if every and self.global_step % every == 0:
            self.log_samples(rollout)

    def log_samples(self, rollout: Rollout, count: int = 4) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_text") or self.global_rank != 0:
            return
        rows = [
            f"| `{p}` | `{c}` | {float(r):.2f} |"
            for p, c, r in zip(rollout.prompts[:count], rollout.completions[:count], rollout.episode_reward[:count])
        ]
        experiment.add_text(
            "train/samples", "\n".join(["| prompt | completion | reward |", "|---|---|---|", *rows]), self.global_step
        )

    def generate(self, prompts: list[str], greedy: bool = True, generator: torch.Generator | None = None) -> list[str]:
        """Decode completions of `prompts` with the current policy (greedy by default)."""
        prompt_tokens, lengths = self.tokenizer.encode_prompts(prompts, self.device)
        samples = sample(self.policy, prompt_tokens, lengths, self.hparams.max_length, generator, greedy=greedy)
        return decode_completions(self.tokenizer, samples)

    def validation_step(self, prompts: list[str], batch_idx: int) -> None:
        completions = self.generate(prompts)
        correct = torch.tensor(
            [float(self.task.outcome(p, c)) for p, c in zip(prompts, completions)], device=self.device
        )
        self.val_accuracy.update(correct)
        self.log("val/accuracy", self.val_accuracy, prog_bar=True, batch_size=len(prompts))
        steps = [self.task.process(p, c) for p, c in zip(prompts, completions)]
        self.val_step_accuracy.update(torch.tensor([sum(s) / max(len(s), 1) for s in steps], device=self.device))
        self.log("val/step_accuracy", self.val_step_accuracy, batch_size=len(prompts))

    def test_step(self, prompts: list[str], batch_idx: int) -> None:
        """Greedy accuracy on the test prompts; the SearchSweep callback runs the search methods on them."""
        completions = self.generate(prompts)
        correct = torch.tensor([float(self.task.outcome(p, c)) for p, c in zip(prompts, completions)])
        self.log("test/greedy_accuracy", correct.mean(), batch_size=len(prompts))

    def predict_step(self, prompts: list[str], batch_idx: int) -> list[dict]:
        """Solutions of `prompts` by the search the SearchPredictor callback configures (greedy without it)."""
        settings = getattr(self, "search_settings", None)
        if settings is None:
            return [{"prompt": p, "completion": c} for p, c in zip(prompts, self.generate(prompts))]
        return settings.solve(self.policy, self.tokenizer, self.task, prompts)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.policy.parameters(), lr=self.hparams.lr)
