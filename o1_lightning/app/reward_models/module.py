"""The LightningModule that trains an outcome or a process reward model with binary cross-entropy."""

from __future__ import annotations

import lightning as L
import torch

from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.model import RewardModel, check_kind, reward_model_loss, targets


class RewardModelModule(L.LightningModule):
    """Fits P(correct) of whole completions (kind=outcome, an ORM) or P(on track) after each step (process, a PRM).

    Args:
        vocab: linked from the datamodule's task (not set by hand).
        kind: outcome or process.
        embedding_dim, hidden_size, num_layers: the reward model's GRU.
        attention_size: > 0 adds a causal attention over the GRU's earlier outputs, the prompt's included (0: none).
        lr: Adam learning rate.
        init_from_policy: start the GRU from the datamodule's policy (sizes must match), as reward models start
            from the SFT model; otherwise from random weights.

    Logs `train/rm_loss`; on validation (always against exact labels, whatever the training labels were)
    `val/rm_loss` and `val/rm_accuracy` (the model's 0.5-threshold verdict against the label's).
    """

    def __init__(
        self,
        vocab: str,
        kind: str = "process",
        embedding_dim: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        attention_size: int = 0,
        lr: float = 3e-3,
        init_from_policy: bool = True,
    ) -> None:
        super().__init__()
        check_kind(kind)
        self.save_hyperparameters()
        self.model = RewardModel(CharTokenizer(vocab).size, embedding_dim, hidden_size, num_layers, attention_size)

    def setup(self, stage: str) -> None:
        """Copy the policy's weights before fitting (a resumed fit then loads its checkpoint over them)."""
        datamodule = self.trainer.datamodule  # setup is called by the Trainer, so one is attached
        if stage == "fit" and self.hparams.init_from_policy and getattr(datamodule, "policy", None) is not None:
            self.model.init_from_policy(datamodule.policy)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        labels, mask = targets(batch, self.hparams.kind)
        loss = reward_model_loss(self.model(batch["tokens"]), labels, mask)
        self.log("train/rm_loss", loss, prog_bar=True, batch_size=batch["tokens"].shape[0])
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        labels, mask = targets(batch, self.hparams.kind)
        logits = self.model(batch["tokens"])
        batch_size = int(mask.sum())
        self.log("val/rm_loss", reward_model_loss(logits, labels, mask), batch_size=batch_size)
        hits = ((logits[mask] > 0) == (labels[mask] > 0.5)).float().mean()
        self.log("val/rm_accuracy", hits, prog_bar=True, batch_size=batch_size)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
