"""Policy initialization from another run: the policy weights of a checkpoint (e.g. an SFT run's last.ckpt)."""

from __future__ import annotations

from pathlib import Path

import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy import GRUPolicy

PREFIX = "policy."


def read_policy_weights(path: str | Path, vocab: str, policy: GRUPolicy) -> dict[str, torch.Tensor]:
    """The `policy.*` weights of a Lightning checkpoint, checked to fit `policy`; O1Error in one line if not.

    The checkpoint must be of the same vocab and architecture. A value head is optional on either side: one
    the checkpoint lacks starts fresh, one this policy lacks is dropped.
    """
    from o1_lightning.cli import read_checkpoint  # cli imports the module, which imports this file

    checkpoint = read_checkpoint(path)
    saved_vocab = checkpoint.get("hyper_parameters", {}).get("vocab")
    if saved_vocab != vocab:
        raise O1Error(f"init_from checkpoint {str(path)!r} has vocab {saved_vocab!r}, this task's is {vocab!r}")
    saved = {k[len(PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(PREFIX)}
    weights = {}
    for name, own in policy.state_dict().items():
        if name not in saved:
            if name.startswith("value."):
                continue
            raise O1Error(f"init_from checkpoint {str(path)!r} has no policy weight {name!r}")
        if saved[name].shape != own.shape:
            raise O1Error(
                f"init_from checkpoint {str(path)!r} has {name} of shape {tuple(saved[name].shape)}, this policy "
                f"{tuple(own.shape)}: embedding_dim, hidden_size and num_layers must match"
            )
        weights[name] = saved[name]
    return weights


def load_policy_weights(path: str | Path, vocab: str, policy: GRUPolicy) -> None:
    """Copy a checkpoint's policy weights into `policy` in place (its optimizer, if any, keeps its parameters)."""
    policy.load_state_dict(read_policy_weights(path, vocab, policy), strict=False)


def frozen_copy(policy: GRUPolicy, reference: GRUPolicy) -> None:
    """Make `reference` (no value head, no gradients) a copy of `policy`'s token model."""
    weights = {name: value for name, value in policy.state_dict().items() if not name.startswith("value.")}
    reference.load_state_dict(weights)
    reference.requires_grad_(False)
