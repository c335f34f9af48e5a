"""Callbacks: checkpoints that always end with the final state."""

from __future__ import annotations

import os
from weakref import proxy

import lightning as L
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose `last.ckpt` always holds the final state of a fit that ends, and is never half-written.

    Lightning's own only writes `last.ckpt` on the checkpoint interval, so a fit that stops early (solved) or
    at `max_steps` between two intervals would resume from an older step and repeat work.

    Lightning writes a local file through fsspec, which stages it in the system temp folder and then moves it
    into place: a rename only when that folder is on the same filesystem, otherwise a copy that a kill can cut
    short. So a local checkpoint is written beside its final name (`NAME.part`) and renamed over it, which is
    atomic on POSIX: a process killed at any moment leaves the previous complete checkpoint.
    """

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        if not _is_local_file_protocol(filepath):
            return super()._save_checkpoint(trainer, filepath)
        partial = f"{filepath}.part"
        trainer.save_checkpoint(partial, self.save_weights_only)  # every rank; rank 0 writes, then a barrier
        if trainer.is_global_zero:
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
            os.replace(partial, filepath)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))
