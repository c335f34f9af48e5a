"""Guards against faults: a non-finite step never reaches the weights; a checkpoint of another task is refused."""

from __future__ import annotations

import inspect
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn

from o1_lightning.errors import O1Error
from o1_lightning.tasks import Task

PLAIN = (str, int, float, bool, type(None))


def task_identity(task: Task) -> dict[str, Any]:
    """The task's class and init arguments as plain types, saved in checkpoints to recognise the task on resume.

    An init argument is recorded when the task keeps it as an attribute of the same name (all our tasks do).
    """
    names = [name for name in inspect.signature(type(task).__init__).parameters if name != "self"]
    init_args = {name: getattr(task, name) for name in names if isinstance(getattr(task, name, ...), PLAIN)}
    return {
        "class_path": f"{type(task).__module__}.{type(task).__qualname__}",
        "init_args": init_args,
        "vocab": task.vocab,
        "max_length": task.max_length,
    }


def describe(identity: dict[str, Any]) -> str:
    arguments = ", ".join(f"{name}={value!r}" for name, value in identity["init_args"].items())
    return f"{identity['class_path'].rsplit('.', 1)[-1]}({arguments})"


def check_same_task(saved: dict[str, Any], task: Task, checkpoint: str) -> None:
    """Refuse to resume a checkpoint made for another task; warn about the changes that are allowed.

    Refused: another task class, vocab or max_length (the policy's shapes, the meaning of its tokens and the
    per-position baselines depend on them). Allowed, with a warning: other init arguments of the same class
    (e.g. another TargetTask target of the same length, AdditionTask's min_digits), which continue the run
    as a fine-tune or a curriculum step on the changed task.
    """
    current = task_identity(task)
    for key in ("class_path", "vocab", "max_length"):
        if saved[key] != current[key]:
            raise O1Error(
                f"checkpoint {checkpoint!r} was made for task {describe(saved)} and cannot resume task "
                f"{describe(current)}: its {key} differs ({saved[key]!r} vs {current[key]!r})"
            )
    changed = [
        f"{name} {value!r} -> {current['init_args'].get(name)!r}"
        for name, value in saved["init_args"].items()
        if current["init_args"].get(name) != value
    ]
    if changed:
        rank_zero_warn(f"resuming checkpoint {checkpoint!r} on a changed task: {', '.join(changed)}")


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
