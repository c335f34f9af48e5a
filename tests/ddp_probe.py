"""Test-only callback for the DDP test: each rank records what it trained on in its own JSON-lines file."""

import hashlib
import json

import lightning as L
import torch


def fingerprint(state: torch.Tensor) -> str:
    return hashlib.sha256(state.numpy().tobytes()).hexdigest()


class RolloutProbe(L.Callback):
    """Appends to `probe_rank<R>.jsonl` in the working folder: this rank's rollout generator when training starts
    (after any checkpoint is restored), then per step its completions, mean reward and loss."""

    def write(self, trainer: L.Trainer, record: dict) -> None:
        with open(f"probe_rank{trainer.global_rank}.jsonl", "a") as file:
            file.write(json.dumps(record) + "\n")

    def on_train_start(self, trainer, pl_module):
        self.write(
            trainer, {"start": trainer.global_step, "generator": fingerprint(trainer.datamodule.generator.get_state())}
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step - 1  # the step whose metrics were just logged
        reward, loss = float(batch.episode_reward.mean()), float(outputs["loss"])
        self.write(trainer, {"step": step, "completions": list(batch.completions), "reward": reward, "loss": loss})
