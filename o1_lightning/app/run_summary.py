"""The end of a fit in one line (solved or not, the checkpoint, the logs), and a warning when the policy collapses."""

from __future__ import annotations

import signal
import sys

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.utilities import rank_zero_warn

from o1_lightning.app.last_checkpoint import LastCheckpoint
from o1_lightning.app.run_folder import shown
from o1_lightning.errors import O1Error


class RunSummary(Callback):
    """Prints one line when a fit ends and warns once when entropy nears 0 while success stays near 0.

    A collapsed policy samples one completion almost surely; if that completion is wrong the policy gradient has
    nothing left to compare it with, and the run stalls for good (raise model.entropy_coef, lower model.lr).

    Args:
        collapse_entropy: mean entropy (nats per action) below which the policy counts as collapsed.
        collapse_success: success rate below which a collapsed policy counts as failed.
        solved_accuracy: val/accuracy that counts as solved (EarlyStopping's stopping_threshold when there is one).
    """

    def __init__(self, collapse_entropy: float = 0.05, collapse_success: float = 0.05, solved_accuracy: float = 1.0):
        if not collapse_entropy >= 0 or not 0 <= collapse_success <= 1 or not 0 < solved_accuracy <= 1:
            raise O1Error(
                "summary.collapse_entropy must be >= 0, summary.collapse_success in [0, 1] and "
                f"summary.solved_accuracy in (0, 1], got {collapse_entropy}, {collapse_success}, {solved_accuracy}"
            )
        self.collapse_entropy, self.collapse_success = collapse_entropy, collapse_success
        self.solved_accuracy = solved_accuracy
        self.best_accuracy: float | None = None
        self.best_step = 0
        self.solved_step: int | None = None
        self.warned_collapse = False

    def state_dict(self) -> dict:
        return {"best_accuracy": self.best_accuracy, "best_step": self.best_step, "solved_step": self.solved_step}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_accuracy, self.best_step = state_dict["best_accuracy"], state_dict["best_step"]
        self.solved_step = state_dict["solved_step"]

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for callback in trainer.callbacks:
            if isinstance(callback, EarlyStopping) and callback.stopping_threshold is not None:
                if callback.monitor == "val/accuracy":
                    self.solved_accuracy = min(self.solved_accuracy, callback.stopping_threshold)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args, **kwargs) -> None:
        metrics = trainer.callback_metrics
        if self.warned_collapse or "train/entropy" not in metrics or "train/success" not in metrics:
            return
        entropy, success = float(metrics["train/entropy"]), float(metrics["train/success"])
        if entropy < self.collapse_entropy and success < self.collapse_success:
            self.warned_collapse = True
            rank_zero_warn(
                f"policy collapse at update {trainer.global_step}: train/entropy {entropy:.3f} nats while "
                f"train/success {success:.2f}: the policy samples one wrong answer and has stopped exploring; "
                "raise model.entropy_coef or lower model.lr"
            )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or "val/accuracy" not in trainer.callback_metrics:
            return
        accuracy = float(trainer.callback_metrics["val/accuracy"])
        if self.best_accuracy is None or accuracy > self.best_accuracy:
            self.best_accuracy, self.best_step = accuracy, trainer.global_step
        if self.solved_step is None and accuracy >= self.solved_accuracy:
            self.solved_step = trainer.global_step

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        line = self.summary(trainer)  # on every rank: trainer.log_dir is a collective under DDP
        if trainer.is_global_zero:
            print(line, file=sys.stderr, flush=True)

    def summary(self, trainer: L.Trainer) -> str:
        step = trainer.global_step
        last = next((c for c in trainer.checkpoint_callbacks if isinstance(c, LastCheckpoint)), None)
        if last is not None and last.interrupted_by:
            outcome = f"interrupted ({signal.Signals(last.interrupted_by).name}) after update {step}"
        elif self.solved_step is not None:
            outcome = f"solved at update {self.solved_step} (val/accuracy >= {self.solved_accuracy:g})"
        elif self.best_accuracy is not None:
            outcome = (
                f"not solved in {step} updates (best val/accuracy {self.best_accuracy:.3f} at update {self.best_step})"
            )
        else:
            outcome = f"stopped after {step} updates (no validation ran)"
        checkpoint = shown(last.last_model_path) if last is not None and last.last_model_path else "none written"
        logs = shown(trainer.log_dir) if trainer.logger is not None and trainer.log_dir else "none"
        resume = f"; resume: --ckpt_path {checkpoint}" if last is not None and last.interrupted_by else ""
        return f"run: {outcome} | checkpoint: {checkpoint} | logs: {logs}{resume}"
