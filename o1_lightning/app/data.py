"""Rollouts as data: an IterableDataset that samples with the live policy, and the DataModule that owns it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset

from o1_lightning.app.device_generator import DeviceGenerator
from o1_lightning.app.distributed import (
    gather_generator_states,
    gather_objects,
    rank_and_world_size,
    rank_seed,
    restore_generator_state,
)
from o1_lightning.app.task_identity import task_identity
from o1_lightning.errors import O1Error
from o1_lightning.learning.buffer import SolutionBuffer
from o1_lightning.learning.demonstrations import make_demonstrations
from o1_lightning.learning.rollout import Rollout
from o1_lightning.learning.sample_rollout import make_rollout
from o1_lightning.policy.gru import GRUPolicy, policy_device
from o1_lightning.policy.sequences import encode_demonstrations
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.names import make_reward_function
from o1_lightning.tasks import Task

SOURCES = ("rollouts", "demonstrations")
DEVICE_STREAM_OFFSET = 3  # an accelerator's sampling stream: seed + 3 (seed + 1 and + 2 draw the held-out prompts)


class RolloutDataset(IterableDataset):
    """Yields one `Rollout` per item, sampled with the live policy when the item is asked for.

    Its length (`steps_per_epoch`) keeps Lightning from prefetching a batch, so every batch is sampled by
    the policy being trained (on-policy) and a checkpoint's generator state is exactly the trained position.
    """

    def __init__(self, datamodule: RolloutDataModule, steps_per_epoch: int) -> None:
        self.datamodule = datamodule
        self.steps_per_epoch = steps_per_epoch

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __iter__(self) -> Iterator[Rollout]:
        for _ in range(self.steps_per_epoch):
            yield self.datamodule.next_rollout()

    # Resumable as far as Lightning asks: the stream's position is the datamodule's generator (in its state_dict).
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass


class RolloutDataModule(L.LightningDataModule):
    """Owns the task, the reward function and the rollout generator (whose state goes into checkpoints).

    Args:
        task: the task to learn (e.g. `o1_lightning.tasks.TargetTask`).
        batch_size: episodes per update (a multiple of `group_size`).
        group_size: completions sampled per prompt (for leave-one-out and group baselines).
        reward: the training reward: terms joined by '+', each WEIGHT*NAME or NAME, from outcome, process, progress,
            shaping, rm:PATH (a learned reward model) and dotted paths to user functions (prompts, completions) ->
            list[float], e.g. `outcome+0.5*mypkg.rewards.length_penalty` (README, "Rewards").
        shaping_model: rm:PATH of a process reward model whose step probabilities are the potential of `shaping`
            (null: the task's step checker, an oracle).
        gamma: discount of returns (shared with shaping).
        seed: seeds the rollout generator; DDP rank r > 0 uses `distributed.rank_seed(seed, r)`.
        val_prompts: held-out prompts for greedy validation, drawn once from `seed` + 1 out of the task's eval
            split (tasks/split.py), which training never draws from.
        steps_per_epoch: length of the train loader (an epoch is a bookkeeping unit here).
        test_prompts: held-out prompts for `test` (the search sweep), drawn once from `seed` + 2 (eval split).
        predict_prompts, predict_file: prompts for `predict`, given inline or one per line in a file.
        buffer_size: capacity of the buffer of verified search solutions (filled by SearchRefresh).
        buffer_batch_size: solutions from the buffer imitated in each update (0: none).
        buffer_weight: weight of their log-likelihood term in the loss (expert iteration).
        temperature: the rollouts' sampling temperature. RL then trains the tempered policy (its logits / T): the
            PPO ratio, the KL to the reference and the entropy are taken at T too, so they match the samples.
            Below 1 the samples stay nearer the greedy path, which is what greedy accuracy measures.
        source: what a train batch holds: `rollouts` sampled by the live policy (REINFORCE, PPO) or the task's
            `demonstrations` (SFT: batch_size prompts each, group_size 1), both in the `Rollout` layout.
    """

    def __init__(
        self,
        task: Task,
        batch_size: int = 64,
        group_size: int = 1,
        reward: str = "outcome",
        correct_reward: float = 1.0,
        mistake_penalty: float = 0.1,
        process_reward: float = 0.1,
        shaping_scale: float = 0.1,
        gamma: float = 0.99,
        seed: int = 0,
        val_prompts: int = 64,
        steps_per_epoch: int = 1000,
        test_prompts: int = 64,
        predict_prompts: list[str] | None = None,
        predict_file: str | None = None,
        buffer_size: int = 1024,
        buffer_batch_size: int = 0,
        buffer_weight: float = 1.0,
        source: str = "rollouts",
        shaping_model: str | None = None,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise O1Error(f"data.batch_size must be at least 1, got {batch_size}")
        if group_size < 1:
            raise O1Error(f"data.group_size must be at least 1, got {group_size}")
        if batch_size % group_size:
            raise O1Error(f"data.batch_size {batch_size} is not a multiple of data.group_size {group_size}")
        if val_prompts < 1 or steps_per_epoch < 1:
            raise O1Error(
                f"data.val_prompts and data.steps_per_epoch must be at least 1, got {val_prompts}, {steps_per_epoch}"
            )
        if buffer_size < 1 or buffer_batch_size < 0:
            raise O1Error(
                f"data.buffer_size must be >= 1 and data.buffer_batch_size >= 0, got {buffer_size}, {buffer_batch_size}"
            )
        if not (isinstance(temperature, int | float) and 0 < temperature < float("inf")):
            raise O1Error(f"data.temperature must be a finite number > 0, got {temperature!r}")
        if source not in SOURCES:
            raise O1Error(f"unknown data.source {source!r}; allowed: {', '.join(SOURCES)}")
        if source == "demonstrations" and group_size != 1:
            raise O1Error(f"data.source demonstrations takes data.group_size 1 (one per prompt), got {group_size}")
        self.task = task
        self.source = source
        self.num_test_prompts = test_prompts
        self.predict_prompts = self.read_predict_prompts(task, predict_prompts, predict_file)
        self.buffer = SolutionBuffer(buffer_size)
        self.buffer_batch_size, self.buffer_weight = buffer_batch_size, buffer_weight
        self.tokenizer = CharTokenizer(task.vocab)
        self.reward_fn = make_reward_function(
            reward, task, shaping_model, correct_reward=correct_reward, mistake_penalty=mistake_penalty,
            process_reward=process_reward, shaping_scale=shaping_scale, gamma=gamma,
        )  # fmt: skip
        self.batch_size, self.group_size, self.gamma = batch_size, group_size, gamma
        self.temperature = float(temperature)
        self.seed, self.num_val_prompts, self.steps_per_epoch = seed, val_prompts, steps_per_epoch
        self.generator = torch.Generator().manual_seed(seed)  # prompts and buffer draws (CPU)
        self.device_generator = DeviceGenerator(seed + DEVICE_STREAM_OFFSET)  # sampling on an accelerator
        self.policy: GRUPolicy | None = None

    @property
    def vocab(self) -> str:
        return self.task.vocab

    @property
    def max_length(self) -> int:
        return self.task.max_length

    @property
    def can_stop(self) -> bool:
        return self.task.can_stop

    def attach_policy(self, policy: GRUPolicy, rank: int = 0) -> None:
        """Hand over the live policy; each rank samples its own rollouts from `rank_seed(seed, rank)`."""
        self.policy = policy
        if rank:
            self.generator.manual_seed(rank_seed(self.seed, rank))
            self.device_generator.reseed(rank_seed(self.seed, rank) + DEVICE_STREAM_OFFSET)

    @staticmethod
    def read_predict_prompts(task: Task, prompts: list[str] | None, path: str | None) -> list[str]:
        """Prompts for `predict`, each checked by the task, so a bad one fails before anything runs."""
        prompts = list(prompts or [])
        if path is not None:
            try:
                prompts += Path(path).read_text().splitlines()
            except OSError as err:
                raise O1Error(f"data.predict_file {path!r} cannot be read: {err.strerror}") from None
        for prompt in prompts:
            task.check_prompt(prompt)
        return prompts

    def next_rollout(self) -> Rollout:
        if self.source == "demonstrations":
            device = next(self.policy.parameters()).device if self.policy is not None else "cpu"
            return make_demonstrations(
                self.task, self.tokenizer, self.task.sample_prompts(self.batch_size, self.generator, "train"), device
            )
        if self.policy is None:
            raise RuntimeError("attach_policy() must be called before sampling rollouts")
        prompts = self.task.sample_prompts(self.batch_size // self.group_size, self.generator, "train")
        generator = self.rollout_generator(policy_device(self.policy))
        compiled = getattr(self.policy, "compile_steps", False)
        rollout = make_rollout(
            self.policy, self.task, self.tokenizer, self.reward_fn, prompts, self.group_size, generator, compiled,
            temperature=self.temperature,
        )  # fmt: skip
        if self.buffer_batch_size and len(self.buffer):
            demo_prompts, demo_completions = zip(*self.buffer.sample(self.buffer_batch_size, self.generator))
            device = rollout.tokens.device
            rollout.demo_tokens, rollout.demo_mask = encode_demonstrations(
                self.tokenizer, list(demo_prompts), list(demo_completions), self.task.can_stop, device
            )
            rollout.demo_weight = self.buffer_weight
        return rollout

    def rollout_generator(self, device: torch.device) -> torch.Generator:
        """Where the sampling uniforms come from: the CPU stream on a CPU (as one stream always did, so CPU runs
        keep their curves), a generator on the device itself on an accelerator (no copy per step)."""
        return self.generator if device.type == "cpu" else self.device_generator.on(device)

    def held_out_prompts(self, count: int, seed_offset: int) -> list[str]:
        """A fixed set of eval-split prompts (never trained on) drawn from `seed + seed_offset`, duplicates dropped."""
        prompts = self.task.sample_prompts(count, torch.Generator().manual_seed(self.seed + seed_offset), "eval")
        return list(dict.fromkeys(prompts))

    def val_prompts(self) -> list[str]:
        return self.held_out_prompts(self.num_val_prompts, 1)

    def test_prompts(self) -> list[str]:
        return self.held_out_prompts(self.num_test_prompts, 2)

    def train_dataloader(self) -> RolloutDataset:
        # A bare sized iterable: each item is already a batch, and Lightning fetches nothing ahead of it.
        return RolloutDataset(self, self.steps_per_epoch)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_prompts(), batch_size=256, collate_fn=list)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_prompts(), batch_size=256, collate_fn=list)

    def predict_dataloader(self) -> DataLoader:
        if not self.predict_prompts:
            raise O1Error("predict needs prompts: give data.predict_prompts or data.predict_file")
        return DataLoader(self.predict_prompts, batch_size=256, collate_fn=list)

    def state_dict(self) -> dict[str, Any]:
        # Every rank's generator (a collective: Lightning dumps checkpoints on all ranks), the task's identity and
        # the search buffer (equal on every rank: SearchRefresh adds every rank's solutions everywhere).
        return {
            "generators": gather_generator_states(self.generator),
            "device_generators": gather_objects(self.device_generator.state_dict()),
            "task": task_identity(self.task),
            "buffer": self.buffer.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        states = state_dict["generators"] if "generators" in state_dict else [state_dict["generator"]]
        restore_generator_state(self.generator, states, self.seed)
        device_states = state_dict.get("device_generators")
        if device_states is not None:
            rank = rank_and_world_size()[0]
            self.device_generator.load_state_dict(device_states[rank] if rank < len(device_states) else None)
        if "buffer" in state_dict:
            self.buffer.load_state_dict(state_dict["buffer"])
