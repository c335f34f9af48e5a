"""The LightningModule: wires the policy, the advantage estimators and the losses together."""

from __future__ import annotations

from collections import defaultdict

import lightning as L
import torch
from torchmetrics import MeanMetric

from o1_lightning.errors import O1Error
from o1_lightning.learning import advantages as adv
from o1_lightning.learning.initialization import frozen_copy
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
from o1_lightning.policy.checkpoint import load_policy_weights
from o1_lightning.policy.gru import GRUPolicy, log_probs_and_entropy
from o1_lightning.policy.sampler import sample
from o1_lightning.policy.sequences import decode_completions
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks import Task

OBJECTIVES = ("reinforce", "ppo", "sft")


class PolicyModule(L.LightningModule):
    """REINFORCE with a choice of baseline, PPO-clip, or SFT, on batches the datamodule makes with this policy.

    REINFORCE and SFT take one optimizer step per batch (automatic optimisation). PPO takes
    ppo_epochs x num_minibatches steps per rollout batch (manual optimisation), and Lightning counts each in
    `global_step`: for PPO, `max_steps` and checkpoint intervals count optimizer steps, while the TensorBoard
    step and `val_check_interval` count rollout batches.

    Args:
        vocab, max_length, can_stop, gamma: linked from the datamodule's task and reward (not set by hand).
        embedding_dim, hidden_size, num_layers: the GRU policy.
        lr: Adam learning rate.
        objective: reinforce (policy gradient), ppo (clipped ratio, several passes per batch) or sft
            (cross-entropy on demonstrations; set data.source demonstrations).
        baseline: none (the seed), moving_average (per position), rloo (leave-one-out), group (GRPO) or gae
            (a value head on the GRU and generalised advantage estimation, as in PPO).
        normalize: standardise advantages per episode (the seed), per batch, or none.
        entropy_coef: weight of the entropy bonus.
        uniform_kl_coef: weight of the KL(uniform || policy) penalty at each action: it keeps every action's
            probability off zero, so a position collapsed onto a wrong action still samples the right one (the
            entropy bonus's gradient vanishes there). configs/long_target.yaml learns by RL alone with it.
        moving_average_momentum: momentum of the moving-average baseline.
        log_samples_every_n_steps: how often a few decoded samples go to TensorBoard as text (0: never).
        init_from: a checkpoint whose policy weights start the fit (e.g. an SFT run's last.ckpt); a resumed fit
            (--ckpt_path) keeps its own weights instead.
        kl_coef: weight of the KL penalty to the frozen policy the fit started from (k3 estimator; 0: none).
        gae_lambda, value_coef: lambda of GAE and the weight of the value loss (baseline gae).
        ppo_epochs, num_minibatches, clip_range: passes over each rollout batch, minibatches per pass, epsilon.
        max_grad_norm: gradient clipping for ppo, done by the module (the Trainer's gradient_clip_val is for
            automatic optimisation only); None: no clipping.
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
        uniform_kl_coef: float = 0.0,
        moving_average_momentum: float = 0.9,
        log_samples_every_n_steps: int = 50,
        objective: str = "reinforce",
        init_from: str | None = None,
        kl_coef: float = 0.0,
        gae_lambda: float = 0.95,
        value_coef: float = 0.5,
        ppo_epochs: int = 4,
        num_minibatches: int = 4,
        clip_range: float = 0.2,
        max_grad_norm: float | None = None,
    ) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise O1Error(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")
        if kl_coef < 0 or value_coef < 0 or not 0 <= gae_lambda <= 1:
            raise O1Error(
                f"model.kl_coef and model.value_coef must be >= 0 and model.gae_lambda in [0, 1], "
                f"got {kl_coef}, {value_coef}, {gae_lambda}"
            )
        if uniform_kl_coef < 0:
            raise O1Error(f"model.uniform_kl_coef must be >= 0, got {uniform_kl_coef}")
        if ppo_epochs < 1 or num_minibatches < 1 or clip_range <= 0:
            raise O1Error(
                f"model.ppo_epochs and model.num_minibatches must be >= 1 and model.clip_range > 0, "
                f"got {ppo_epochs}, {num_minibatches}, {clip_range}"
            )
        if max_grad_norm is not None and objective != "ppo":
            raise O1Error("model.max_grad_norm is for objective ppo; use trainer.gradient_clip_val for the others")
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
        self.automatic_optimization = objective != "ppo"
        self.tokenizer = CharTokenizer(vocab)
        self.policy = GRUPolicy(
            self.tokenizer.size, embedding_dim, hidden_size, num_layers, value_head=baseline == "gae", can_stop=can_stop
        )
        # The KL anchor lives in the module's state, so a resumed fit restores it exactly without init_from.
        self.reference = None
        if kl_coef > 0:
            self.reference = GRUPolicy(self.tokenizer.size, embedding_dim, hidden_size, num_layers, can_stop=can_stop)
            frozen_copy(self.policy, self.reference)
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
            self.check_source(getattr(datamodule, "source", "rollouts"))
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
        if self.hparams.objective == "sft":
            return self.sft_step(rollout)
        if self.hparams.objective == "ppo":
            return self.ppo_step(rollout)
        mask = rollout.action_mask
        log_probs, entropy, values, kl_uniform = self.score(self.policy, rollout.tokens, mask)
        advantages, returns = self.estimate_advantages(rollout, values)
        policy_loss = reinforce_loss(log_probs, advantages, mask)
        loss, terms = self.add_regularizers(
            policy_loss, rollout.tokens, mask, log_probs, entropy, values, returns, kl_uniform
        )
        if rollout.demo_tokens is not None:  # expert iteration: imitate verified solutions found by search
            demo_log_probs, *_ = self.score(self.policy, rollout.demo_tokens, rollout.demo_mask)
            terms["imitation_loss"] = sft_loss(demo_log_probs, rollout.demo_mask)
            loss = loss + rollout.demo_weight * terms["imitation_loss"]
        if self.logging_this_step():
            self.log_rollout(rollout, terms.pop("entropy").detach(), loss.detach())
            self.log_terms({name: value.detach() for name, value in terms.items()})
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

    # --- policy initialization, SFT and PPO -------------------------------------------------------------------

    def check_source(self, source: str) -> None:
        """SFT learns from demonstrations, the RL objectives from the policy's own rollouts."""
        wanted = "demonstrations" if self.hparams.objective == "sft" else "rollouts"
        if source != wanted:
            raise O1Error(f"model.objective {self.hparams.objective} trains on data.source {wanted}, got {source!r}")

    def on_fit_start(self) -> None:
        """Start from init_from's policy weights, unless resuming: then the checkpoint has restored everything."""
        if self.hparams.init_from and self.trainer.ckpt_path is None:
            load_policy_weights(self.hparams.init_from, self.hparams.vocab, self.policy)
            if self.reference is not None:
                frozen_copy(self.policy, self.reference)
        if self.hparams.objective == "ppo":
            self.check_ppo_schedule()

    def check_ppo_schedule(self) -> None:
        """Minibatches must split the batch evenly, and periodic checkpoints must fall on PPO's step multiples."""
        batch_size = getattr(self.trainer.datamodule, "batch_size", None)
        if batch_size is not None and batch_size % self.hparams.num_minibatches:
            raise O1Error(
                f"data.batch_size {batch_size} is not a multiple of model.num_minibatches "
                f"{self.hparams.num_minibatches}"
            )
        per_rollout = self.hparams.ppo_epochs * self.hparams.num_minibatches
        for callback in self.trainer.checkpoint_callbacks:
            every = getattr(callback, "_every_n_train_steps", 0)
            if every and every % per_rollout:
                raise O1Error(
                    f"checkpoint every_n_train_steps={every} is not a multiple of the {per_rollout} optimizer steps "
                    "PPO takes per rollout batch (ppo_epochs x num_minibatches): it would never save"
                )

    def score(
        self, policy: GRUPolicy, tokens: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Teacher-forced (B, T-1) log-probs of the taken tokens, entropies, values (None without a value head)
        and KL(uniform || policy) (None when model.uniform_kl_coef is 0).

        Log-probs are zeroed off the action mask: a padding target's is -inf, which would turn into NaN
        gradients through the KL and PPO ratios.
        """
        logits, values = policy(tokens[:, :-1])  # (B, T-1, V), (B, T-1) or None
        log_probs, entropy = log_probs_and_entropy(logits, tokens[:, 1:])
        kl_uniform = uniform_kl(logits) if self.hparams.get("uniform_kl_coef") else None  # (B, T-1)
        return torch.where(mask, log_probs, torch.zeros_like(log_probs)), entropy, values, kl_uniform

    def estimate_advantages(self, rollout: Rollout, values: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(advantages, returns) of a rollout batch; the returns are the value head's targets under gae."""
        mask = rollout.action_mask
        if self.hparams.baseline == "gae":
            advantages, returns = adv.gae(
                rollout.rewards, values.detach(), mask, self.hparams.gamma, self.hparams.gae_lambda
            )
            return adv.normalize(advantages, mask, self.hparams.normalize), returns
        returns = adv.discounted_returns(rollout.rewards, self.hparams.gamma)
        return self.advantages(returns, mask, rollout.group_size), returns

    def add_regularizers(
        self,
        policy_loss: torch.Tensor,
        tokens: torch.Tensor,
        mask: torch.Tensor,
        log_probs: torch.Tensor,
        entropy: torch.Tensor,
        values: torch.Tensor | None,
        returns: torch.Tensor,
        kl_uniform: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """policy loss - entropy bonus (+ KL(uniform || policy)) (+ value loss) (+ KL to the reference), and
        each term by name."""
        terms = {"policy_loss": policy_loss.detach(), "entropy": entropy_bonus(entropy, mask)}
        loss = policy_loss - self.hparams.entropy_coef * terms["entropy"]
        if kl_uniform is not None:
            terms["uniform_kl"] = adv.masked_mean(kl_uniform, mask)
            loss = loss + self.hparams.uniform_kl_coef * terms["uniform_kl"]
        if values is not None:
            terms["value_loss"] = value_loss(values, returns, mask)
            loss = loss + self.hparams.value_coef * terms["value_loss"]
        if self.reference is not None:
            with torch.no_grad():
                ref_log_probs, *_ = self.score(self.reference, tokens, mask)
            terms["kl"] = adv.masked_mean(k3_kl(log_probs, ref_log_probs), mask)
            loss = loss + self.hparams.kl_coef * terms["kl"]
        return loss, terms

    def log_terms(self, terms: dict[str, torch.Tensor]) -> None:
        for name, value in terms.items():
            self.log(f"train/{name}", value, on_step=True, on_epoch=False, batch_size=1)

    def sft_step(self, batch: Rollout) -> torch.Tensor:
        """Cross-entropy of the demonstrated completions (end token included), teacher-forced in one GRU call."""
        mask = batch.action_mask
        log_probs, entropy, *_ = self.score(self.policy, batch.tokens, mask)
        loss = sft_loss(log_probs, mask)
        if self.logging_this_step():
            log = {"on_step": True, "on_epoch": False, "batch_size": 1, "sync_dist": True}
            self.log("train/loss", loss.detach(), prog_bar=True, **log)
            self.log("train/entropy", entropy_bonus(entropy, mask).detach(), **log)
            self.log("train/length", batch.lengths.float().mean(), **log)
        return loss

    def ppo_step(self, rollout: Rollout) -> torch.Tensor:
        """ppo_epochs passes over one rollout batch in num_minibatches shuffled minibatches, one step each.

        Advantages and value targets are computed once, before the first step; the ratio's denominator is the
        sampling policy's log-probs stored in the rollout.
        """
        optimizer = self.optimizers()
        mask = rollout.action_mask
        with torch.no_grad():
            _, entropy, values, _ = self.score(self.policy, rollout.tokens, mask)
            advantages, returns = self.estimate_advantages(rollout, values)
            sampling_entropy = entropy_bonus(entropy, mask)
        # The shuffle is drawn from the step number, so a resumed fit replays exactly the uninterrupted one.
        generator = torch.Generator().manual_seed(self.global_step)
        batch = rollout.tokens.shape[0]
        totals: dict[str, list[torch.Tensor]] = defaultdict(list)
        for _ in range(self.hparams.ppo_epochs):
            order = torch.randperm(batch, generator=generator).to(self.device)
            for rows in order.split(batch // self.hparams.num_minibatches):
                tokens, minibatch_mask = rollout.tokens[rows], mask[rows]
                log_probs, entropy, minibatch_values, kl_uniform = self.score(self.policy, tokens, minibatch_mask)
                old_log_probs = rollout.old_log_probs[rows]
                clip = self.hparams.clip_range
                policy_loss = ppo_clip_loss(log_probs, old_log_probs, advantages[rows], minibatch_mask, clip)
                loss, terms = self.add_regularizers(
                    policy_loss, tokens, minibatch_mask, log_probs, entropy, minibatch_values, returns[rows], kl_uniform
                )
                optimizer.zero_grad()
                self.manual_backward(loss)
                if self.hparams.max_grad_norm is not None:
                    self.clip_gradients(optimizer, self.hparams.max_grad_norm, gradient_clip_algorithm="norm")
                optimizer.step()
                terms.pop("entropy")
                terms["clip_fraction"] = clip_fraction(log_probs.detach(), old_log_probs, minibatch_mask, clip)
                for name, value in {"loss": loss, **terms}.items():
                    totals[name].append(value.detach())
        means = {name: torch.stack(values).mean() for name, values in totals.items()}
        loss = means.pop("loss")
        if self.logging_this_step():
            self.log_rollout(rollout, sampling_entropy, loss)
            self.log_terms(means)
        return loss
