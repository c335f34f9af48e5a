"""Test-only callback for the DDP timeout test: rank 1 stops responding at step 2 (as a hung rank would)."""

import time

import lightning as L


class FreezeRankOne(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_rank == 1 and trainer.global_step == 2:
            time.sleep(3600)
