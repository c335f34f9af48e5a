"""The LightningModule: wires the policy, the chosen objective and baseline, validation and predict together."""

from __future__ import annotations

from functools import partial

import lightning as L
import torch
from torchmetrics import MeanMetric

from o1_lightning.errors import O1Error
from o1_lightning.learning import advantages as adv
from o1_lightning.learning.baselines import BaselineSettings, make_baseline
from o1_lightning.learning.initialization import frozen_copy
from o1_lightning.learning.lr_schedule import LR_SCHEDULES, lr_factor
from o1_lightning.learning.objectives import LossSettings, StepOutput, objective_class
from o1_lightning.learning.rollout import Rollout
from o1_lightning.policy.build import build_policy
from o1_lightning.policy.checkpoint import load_policy_weights
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search.records import SearchRequest
from o1_lightning.search.registry import run_search
from o1_lightning.tasks import Task


class PolicyModule(L.LightningModule):
    """REINFORCE with a choice of baseline, PPO-clip, or SFT, on batches the datamodule makes with this policy.

    REINFORCE and SFT take one optimizer step per batch (automatic optimisation). PPO takes
    ppo_epochs x num_minibatches steps per rollout batch (manual optimisation), and Lightning counts each in
    `global_step`: for PPO, `max_steps` and checkpoint intervals count optimizer steps, while the TensorBoard
    step and `val_check_interval` count rollout batches.

    Args:
        vocab, max_length, can_stop, gamma: linked from the datamodule's task and reward (not set by hand).
        embedding_dim, hidden_size, num_layers: the GRU policy.
        attention: the GRU's head also attends over its earlier outputs, prompt included (AttentionGRUPolicy).
        lr: Adam learning rate.
        lr_schedule: constant, or linear / cosine decay of lr to 0 over trainer.max_steps optimizer steps
            (needs trainer.max_steps).
        lr_warmup_steps: optimizer steps of a linear warmup from lr / lr_warmup_steps to lr before the schedule
            (a decay then spans the steps left); 0: none.
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
        compile: sample rollouts with a torch.compile'd GRU step (one-layer policies; see docs/ARCHITECTURE.md
            for when it pays).
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
        compile: bool = False,
        attention: bool = False,
        lr_schedule: str = "constant",
        lr_warmup_steps: int = 0,
    ) -> None:
        super().__init__()
        objective_type = objective_class(objective)
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
        if normalize not in adv.NORMALIZATIONS:
            raise O1Error(f"unknown normalize {normalize!r}; allowed: {', '.join(adv.NORMALIZATIONS)}")
        for name, size in (("embedding_dim", embedding_dim), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if size < 1:
                raise O1Error(f"model.{name} must be at least 1, got {size}")
        if not lr > 0:
            raise O1Error(f"model.lr must be positive, got {lr}")
        if lr_schedule not in LR_SCHEDULES:
            raise O1Error(f"unknown model.lr_schedule {lr_schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
        if lr_warmup_steps < 0:
            raise O1Error(f"model.lr_warmup_steps must be >= 0, got {lr_warmup_steps}")
        self.save_hyperparameters()
        settings = BaselineSettings(gamma, max_length, moving_average_momentum, gae_lambda)
        self.baseline = make_baseline(baseline, settings)
        self.tokenizer = CharTokenizer(vocab)
        shape = (self.tokenizer.size, embedding_dim, hidden_size, num_layers)
        extras = {"can_stop": can_stop, "attention": attention, "max_length": max_length}
        self.policy = build_policy(*shape, value_head=self.baseline.needs_values, **extras)
        self.policy.compile_steps = compile  # read by the datamodule's rollouts
        # The KL anchor lives in the module's state, so a resumed fit restores it exactly without init_from.
        self.reference = None
        if kl_coef > 0:
            self.reference = build_policy(*shape, **extras)
            frozen_copy(self.policy, self.reference)
        settings = LossSettings(
            normalize, entropy_coef, value_coef, kl_coef, ppo_epochs, num_minibatches, clip_range, uniform_kl_coef
        )
        self.objective = objective_type(settings, self.policy, self.baseline, self.reference)
        self.automatic_optimization = not self.objective.manual_optimization
        self.task: Task | None = None
        self.predict_search = SearchRequest(scorer="none")
        self.metrics = torch.nn.ModuleDict(
            {name: MeanMetric(dist_sync_on_step=True) for name in ("reward", "success", "entropy", "length")}
        )
        self.val_accuracy = MeanMetric()
        self.val_step_accuracy = MeanMetric()
        # Policy token-steps this run has sampled, rollouts and search refreshes together, summed over ranks: the
        # compute axis on which expert iteration and RL compare. Checkpoints carry it beside the weights.
        self.register_buffer("sampled_token_steps", torch.zeros((), dtype=torch.long), persistent=False)

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

    def training_step(self, batch: Rollout, batch_idx: int) -> torch.Tensor:
        logging = self.logging_this_step()  # decided before PPO's optimizer steps move global_step
        optimizer_step = self.optimizer_step_now if self.objective.manual_optimization else None
        output = self.objective.step(batch, optimizer_step, self.global_step)
        if output.sampling_entropy is not None:  # a sampled batch, not demonstrations
            self.add_sampled_token_steps(batch.lengths.sum())
        if logging:
            self.log_step(batch, output)
        return output.loss

    def add_sampled_token_steps(self, token_steps: torch.Tensor | int) -> None:
        """Add this rank's newly sampled policy token-steps, summed over ranks: every rank holds the run's total."""
        count = torch.as_tensor(token_steps, dtype=torch.long, device=self.sampled_token_steps.device)
        self.sampled_token_steps += self.trainer.strategy.reduce(count, reduce_op="sum")

    def optimizer_step_now(self, loss: torch.Tensor) -> None:
        """One manual optimizer step (PPO's minibatches): backward, optional clipping, step."""
        optimizer = self.optimizers()
        optimizer.zero_grad()
        self.manual_backward(loss)
        if self.hparams.max_grad_norm is not None:
            self.clip_gradients(optimizer, self.hparams.max_grad_norm, gradient_clip_algorithm="norm")
        optimizer.step()
        scheduler = self.lr_schedulers()
        if scheduler is not None:  # manual optimisation: Lightning does not step the scheduler
            scheduler.step()

    def logging_this_step(self) -> bool:
        """Whether Lightning writes this step's logs (every `trainer.log_every_n_steps` batches, and when the fit
        stops); each `self.log` call costs ~1 ms, most of Lightning's per-step overhead for a batch this small,
        so we log only when it is written. Batches are counted from `global_step`, which counts optimizer steps."""
        try:
            trainer = self.trainer
        except RuntimeError:  # not attached to a Trainer (a direct call)
            return False
        if trainer.log_every_n_steps == 0:
            return False
        batches = self.global_step // self.objective.optimizer_steps_per_batch
        return (batches + 1) % trainer.log_every_n_steps == 0 or trainer.should_stop

    def log_step(self, batch: Rollout, output: StepOutput) -> None:
        """The rollout's metrics and the loss terms; a batch of demonstrations (SFT) has no rollout metrics."""
        if output.sampling_entropy is not None:
            self.log_rollout(batch, output.sampling_entropy, output.loss.detach())
            self.log_terms(output.terms)
            return
        log = {"on_step": True, "on_epoch": False, "batch_size": 1, "sync_dist": True}
        self.log("train/loss", output.loss.detach(), prog_bar=True, **log)
        for name, value in output.terms.items():
            self.log(f"train/{name}", value, **log)

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
        steps = self.sampled_token_steps.float()  # the same on every rank: no sync
        self.log("train/sampled_token_steps", steps, on_step=True, on_epoch=False, batch_size=1)
        every = self.hparams.log_samples_every_n_steps
        # at the first written step of every `every` (metrics are written every log_every_n_steps; both must meet)
        if every and self.global_step % every < max(self.trainer.log_every_n_steps, 1):
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
        """Completions of `prompts` by the current policy: the search pillar's `greedy` method (the one greedy
        decoder of validation, test, the sweep, predict and the Python API) or, with greedy=False, one sample."""
        if self.task is None:
            raise O1Error("PolicyModule.generate needs the task: fit or load it with a datamodule, or use load_policy")
        method = "greedy" if greedy else "sampling"
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        results = run_search(
            method, self.policy, self.tokenizer, self.task, prompts, self.hparams.max_length, None, generator
        )
        return [result.completion for result in results]

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

    def use_search(self, request: SearchRequest) -> None:
        """Choose the search `predict` runs (the SearchPredictor callback passes the CLI's `search.*`)."""
        self.predict_search = request

    def predict_step(self, prompts: list[str], batch_idx: int) -> list[dict]:
        """One record per prompt (search/records.py), by the chosen search (greedy by default)."""
        return self.predict_search.solve(self.policy, self.tokenizer, self.task, prompts)

    def configure_optimizers(self) -> torch.optim.Optimizer | dict:
        """Adam; with a warmup or a decaying lr_schedule, a per-step LambdaLR over trainer.max_steps."""
        optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.hparams.lr)
        schedule = self.hparams.get("lr_schedule", "constant")  # checkpoints from before the options: constant
        warmup = self.hparams.get("lr_warmup_steps", 0)
        if schedule == "constant" and warmup == 0:
            return optimizer
        total = self.trainer.max_steps
        factor = partial(lr_factor, schedule, total_steps=total, warmup_steps=warmup)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # --- policy initialization, SFT and PPO -------------------------------------------------------------------

    def check_source(self, source: str) -> None:
        """Each objective learns from one kind of batch: SFT from demonstrations, the RL objectives from rollouts."""
        wanted = self.objective.source
        if source != wanted:
            raise O1Error(f"model.objective {self.hparams.objective} trains on data.source {wanted}, got {source!r}")

    @property
    def optimizer_steps_per_batch(self) -> int:
        """Optimizer steps (`global_step`) per training batch: 1, or PPO's ppo_epochs x num_minibatches."""
        return self.objective.optimizer_steps_per_batch

    def check_schedule(
        self, batch_size: int, checkpoint_intervals: list[int | None] = (), max_steps: int | None = None
    ) -> None:
        """The objective must split `batch_size`, each checkpoint's every_n_train_steps must fall on the
        steps it reaches (PPO jumps by several per batch), and a decaying lr_schedule needs max_steps > 0, else
        one O1Error line."""
        self.objective.check_batch_size(batch_size)
        schedule = self.hparams.get("lr_schedule", "constant")
        warmup = self.hparams.get("lr_warmup_steps", 0)
        if schedule != "constant" and max_steps is not None and max_steps <= warmup:
            raise O1Error(
                f"model.lr_schedule {schedule} decays lr over trainer.max_steps after {warmup} warmup steps: set "
                f"trainer.max_steps >= {warmup + 1}, got {max_steps}"
            )
        per_batch = self.optimizer_steps_per_batch
        for every in checkpoint_intervals:
            if every and every % per_batch:
                raise O1Error(
                    f"checkpoint every_n_train_steps={every} is not a multiple of the {per_batch} optimizer steps "
                    "PPO takes per rollout batch (ppo_epochs x num_minibatches): it would never save"
                )

    def on_fit_start(self) -> None:
        """Start from init_from's policy weights, unless resuming: then the checkpoint has restored everything."""
        if self.hparams.init_from and self.trainer.ckpt_path is None:
            load_policy_weights(self.hparams.init_from, self.hparams.vocab, self.policy)
            if self.reference is not None:
                frozen_copy(self.policy, self.reference)
        batch_size = getattr(self.trainer.datamodule, "batch_size", None)
        if batch_size is not None:
            self.check_schedule(batch_size)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["sampled_token_steps"] = int(self.sampled_token_steps)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Older checkpoints: from before baselines were classes (the moving average as `return_average`), and
        from before the sampled token-steps were counted."""
        self.sampled_token_steps.fill_(checkpoint.get("sampled_token_steps", 0))  # 0: not counted before
        state = checkpoint["state_dict"]
        if "return_average" in state:
            average = state.pop("return_average")
            if "baseline.average" in self.state_dict():
                state["baseline.average"] = average

    def log_terms(self, terms: dict[str, torch.Tensor]) -> None:
        for name, value in terms.items():
            self.log(f"train/{name}", value, on_step=True, on_epoch=False, batch_size=1)
