"""Callbacks: checkpoints that always end with the final state."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose `last.ckpt` always holds the final state of a fit that ends.

    Lightning's own only writes `last.ckpt` on the checkpoint interval, so a fit that stops early (solved) or
    at `max_steps` between two intervals would resume from an older step and repeat work.
    """

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
