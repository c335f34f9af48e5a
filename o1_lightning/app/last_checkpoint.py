"""LastCheckpoint: `last.ckpt` always holds the final state of a fit, whatever ends it."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn

from o1_lightning.app.atomic_io import AtomicCheckpointIO
from o1_lightning.app.interrupts import StopRequests


class LastCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose `last.ckpt` holds the final state of a fit that ends: solved (early stopping),
    `max_steps`, Ctrl-C or SIGTERM; never half-written, and always named `last.ckpt` (no `last-v1.ckpt`).

    Lightning's own writes `last.ckpt` on the checkpoint interval only, so a fit that stops between two
    intervals would resume from an older step and repeat work, and Ctrl-C would lose every update since.
    Here the final state is saved at an update boundary, where Lightning's own periodic saves happen (at the
    end of the update, or after the validation that stopped the run), so a resumed fit continues the same
    TensorBoard steps. Ctrl-C and SIGTERM finish the update under way, save, and stop (`StopRequests`).
    Built on ModelCheckpoint's public hooks only; the atomic write is a CheckpointIO (`AtomicCheckpointIO`).

    Args: those of ModelCheckpoint, with `save_last=True`, `save_top_k=0` and `enable_version_counter=False` by
    default; `dirpath` defaults (under `train.py`) to `checkpoints/<run name>`.
    """

    def __init__(
        self,
        dirpath: str | None = None,
        filename: str | None = None,
        monitor: str | None = None,
        save_last: bool = True,
        save_top_k: int = 0,
        every_n_train_steps: int | None = None,
        every_n_epochs: int | None = None,
        mode: str = "min",
        save_weights_only: bool = False,
        enable_version_counter: bool = False,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            dirpath=dirpath,
            filename=filename,
            monitor=monitor,
            save_last=save_last,
            save_top_k=save_top_k,
            every_n_train_steps=every_n_train_steps,
            every_n_epochs=every_n_epochs,
            mode=mode,
            save_weights_only=save_weights_only,
            enable_version_counter=enable_version_counter,
            verbose=verbose,
        )
        self.stop_requests = StopRequests()
        self.saved_step: int | None = None
        self.interrupted_by: int | None = None  # the signal that stopped the fit, if one did

    @property
    def last_path(self) -> str:
        return os.path.join(str(self.dirpath), self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # leave a user's own CheckpointIO alone
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self.saved_step, self.interrupted_by = None, None
        self.stop_requests.install()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        reached_max_steps = 0 <= trainer.max_steps <= trainer.global_step
        if self.stop_if_requested(trainer) or reached_max_steps:
            self.save_final(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        if self.stop_if_requested(trainer) or trainer.should_stop:  # e.g. EarlyStopping: solved
            self.save_final(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.stop_requests.restore()
        self.save_final(trainer)  # any other ending (max_epochs, max_time); a no-op when saved at this step

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self.stop_requests.restore()
        super().on_exception(trainer, pl_module, exception)
        launcher = trainer.strategy.launcher
        if trainer.world_size > 1 and trainer.is_global_zero and hasattr(launcher, "kill"):
            launcher.kill(signal.SIGKILL)  # ranks it started must not outlive it (a frozen one would wait forever)
        if isinstance(exception, KeyboardInterrupt) and trainer.is_global_zero:
            kept = f"{self.last_path} keeps update {self.saved_step}" if self.saved_step else "no checkpoint written"
            print(f"stopped in the middle of an update, not saved: {kept}", file=sys.stderr)

    def stop_if_requested(self, trainer: L.Trainer) -> bool:
        """Whether any rank received Ctrl-C or SIGTERM; if so, tell the trainer to stop (every rank agrees)."""
        requested = self.stop_requests.requested
        if trainer.world_size > 1:
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested:
            trainer.should_stop = True
            self.interrupted_by = self.stop_requests.signum or 2
        return requested

    def save_final(self, trainer: L.Trainer) -> None:
        """Write last.ckpt now, unless this step is saved already. Collective under DDP: call it on every rank."""
        if not self.save_last or self.saved_step == trainer.global_step or trainer.global_step == 0:
            return
        trainer.save_checkpoint(self.last_path, self.save_weights_only)
        self.last_model_path = self.last_path
        self.saved_step = trainer.global_step
