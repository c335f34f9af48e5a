"""Reward model data: the policy's own rollouts, labelled exactly or by Monte Carlo completions."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from o1_lightning.errors import O1Error
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.checkpoint import policy_from_checkpoint
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.model import RewardExamples
from o1_lightning.rewards.learned.rollouts import LABELS, label_rollouts, policy_rollouts
from o1_lightning.tasks.base import Task


class RewardDataModule(L.LightningDataModule):
    """Samples the policy's rollouts once at setup, labels them and serves them in shuffled batches.

    Args:
        task: the task whose completions are judged.
        policy_checkpoint: a `train.py` checkpoint whose policy writes the rollouts; if unset, a policy is trained
            here by imitation of `imitation_steps` batches of demonstrations (cached in `cache_dir`).
        imitation_steps: how far to imitate: few enough that the policy still makes mistakes to learn from.
        cache_dir: where imitated policies are cached (git-ignored checkpoints/ by default; null: no cache).
        num_prompts, val_prompts: training and validation prompts (drawn from separate seeds).
        samples_per_prompt: rollouts per prompt.
        temperature: the rollouts' sampling temperature.
        labels: step labels for training: exact (step checker, and the solver on Countdown), mc_soft or mc_hard
            (Math-Shepherd: `mc_samples` policy completions of each step's prefix). Validation is always exact.
        mc_samples: N, completions per prefix for Monte Carlo labels.
        batch_size: completions per batch.
        seed: seeds prompts, rollouts and Monte Carlo draws.
    """

    def __init__(
        self,
        task: Task,
        policy_checkpoint: str | None = None,
        imitation_steps: int = 4000,
        cache_dir: str | None = "checkpoints/policies",
        num_prompts: int = 512,
        val_prompts: int = 128,
        samples_per_prompt: int = 4,
        temperature: float = 1.0,
        labels: str = "exact",
        mc_samples: int = 4,
        batch_size: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if labels not in LABELS:
            raise O1Error(f"unknown reward model labels {labels!r}; allowed: {', '.join(LABELS)}")
        for name, value in [("num_prompts", num_prompts), ("val_prompts", val_prompts), ("batch_size", batch_size)]:
            if value < 1:
                raise O1Error(f"data.{name} must be >= 1, got {value}")
        if samples_per_prompt < 1 or mc_samples < 1:
            raise O1Error(f"samples_per_prompt and mc_samples must be >= 1, got {samples_per_prompt}, {mc_samples}")
        self.task, self.policy_checkpoint, self.imitation_steps = task, policy_checkpoint, imitation_steps
        self.cache_dir, self.num_prompts, self.val_prompts = cache_dir, num_prompts, val_prompts
        self.samples_per_prompt, self.temperature = samples_per_prompt, temperature
        self.labels, self.mc_samples, self.batch_size, self.seed = labels, mc_samples, batch_size, seed
        self.tokenizer = CharTokenizer(task.vocab)
        self.policy: nn.Module | None = None
        # in-process only (fit_reward_models): more train-split (prompts, completions) labelled with the rollouts,
        # e.g. the answers a search guided by an earlier reward model picked (search_data.search_proposals)
        self.extra_train: tuple[list[str], list[str]] | None = None
        self.train_examples: RewardExamples | None = None
        self.val_examples: RewardExamples | None = None

    @property
    def vocab(self) -> str:
        return self.task.vocab

    def load_policy(self) -> nn.Module:
        if self.policy_checkpoint is None:
            return cached_imitation(self.task, self.imitation_steps, self.cache_dir, seed=self.seed)
        policy, saved = policy_from_checkpoint(self.policy_checkpoint)
        vocab = saved["hyper_parameters"]["vocab"]
        if vocab != self.task.vocab:
            raise O1Error(f"policy checkpoint vocab {vocab!r} does not match this task's vocab {self.task.vocab!r}")
        return policy

    def setup(self, stage: str) -> None:
        if self.train_examples is not None:
            return
        if self.policy is None:  # a policy may also be handed in directly (benchmarks train one in-process)
            self.policy = self.load_policy()
        # The reward model learns on train-split prompts and is validated on eval-split ones (tasks/split.py).
        for split, count, offset in [("train", self.num_prompts, 1), ("val", self.val_prompts, 2)]:
            generator = torch.Generator().manual_seed(self.seed * 1000 + offset)
            prompts = self.task.sample_prompts(count, generator, "train" if split == "train" else "eval")
            prompts, completions = policy_rollouts(
                self.policy, self.tokenizer, self.task, prompts, self.samples_per_prompt, generator, self.temperature
            )
            if split == "train" and self.extra_train is not None:
                prompts, completions = prompts + list(self.extra_train[0]), completions + list(self.extra_train[1])
            labels = self.labels if split == "train" else "exact"
            examples = label_rollouts(
                self.policy, self.tokenizer, self.task, prompts, completions, labels, self.mc_samples, generator
            )
            setattr(self, f"{split}_examples", examples)

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.train_examples, batch_size=self.batch_size, shuffle=True, generator=generator)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_examples, batch_size=256)
