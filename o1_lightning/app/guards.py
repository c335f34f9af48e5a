"""Guards against faults: a non-finite step never reaches the weights; a checkpoint of another task is refused."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from o1_lightning.errors import O1Error


class NonFiniteGuard(L.Callback):
    """Skips every optimizer step whose rewards, loss or gradients hold a NaN or an inf, and counts it.

    A skipped step changes nothing: the gradients are dropped before the optimizer sees them (torch optimizers
    skip parameters without a gradient, so Adam's moments and step count do not move either), and the
    module's buffers (e.g. the moving-average baseline) are put back as they were before the step. Advantages
    are checked through the loss: it is a masked mean of their products, so any non-finite advantage makes it
    non-finite. Under DDP the decision is reduced over ranks, so all ranks skip together. `train/skipped_steps`
    counts the skipped steps of the run; after `max_skipped_steps_in_a_row` in a row the run stops with an
    O1Error (one line on the command line).
    """

    def __init__(self, max_skipped_steps_in_a_row: int = 10) -> None:
        if max_skipped_steps_in_a_row < 1:
            raise O1Error(f"guard.max_skipped_steps_in_a_row must be at least 1, got {max_skipped_steps_in_a_row}")
        self.max_skipped_steps_in_a_row = max_skipped_steps_in_a_row
        self.skipped_steps = 0
        self.in_a_row = 0
        self._rewards_non_finite = False
        self._loss_non_finite = False
        self._buffers: dict[str, torch.Tensor] = {}

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        rewards = getattr(batch, "rewards", None)
        self._rewards_non_finite = rewards is not None and not bool(torch.isfinite(rewards).all())
        self._buffers = {name: buffer.clone() for name, buffer in pl_module.named_buffers()}

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        self._loss_non_finite = not bool(torch.isfinite(loss).all())

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        gradients = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        non_finite = self._rewards_non_finite or self._loss_non_finite
        non_finite = non_finite or not all(bool(torch.isfinite(g).all()) for g in gradients)
        if trainer.strategy.reduce_boolean_decision(non_finite, all=False):
            self.skip(pl_module, optimizer)
        else:
            self.in_a_row = 0
        pl_module.log("train/skipped_steps", float(self.skipped_steps), on_step=True, on_epoch=False, batch_size=1)
        if self.in_a_row >= self.max_skipped_steps_in_a_row:
            raise O1Error(
                f"{self.in_a_row} training steps in a row (up to step {trainer.global_step}) had non-finite "
                "rewards, loss or gradients and were skipped "
                f"(guard.max_skipped_steps_in_a_row={self.max_skipped_steps_in_a_row}); "
                "stopped: check the task's rewards or lower model.lr"
            )

    def skip(self, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer) -> None:
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                parameter.grad = None
        buffers = dict(pl_module.named_buffers())
        for name, saved in self._buffers.items():
            buffers[name].copy_(saved)
        self.skipped_steps += 1
        self.in_a_row += 1

    def state_dict(self) -> dict[str, int]:
        return {"skipped_steps": self.skipped_steps, "in_a_row": self.in_a_row}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.skipped_steps, self.in_a_row = state_dict["skipped_steps"], state_dict["in_a_row"]
