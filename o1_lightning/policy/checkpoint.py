"""Reading checkpoints safely (weights only, one-line errors) and loading a policy from one."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy.build import build_policy
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint with weights_only=True, refusing a missing, corrupt or unsafe file in one line."""
    path = Path(path)
    if not path.is_file():
        raise O1Error(f"checkpoint {str(path)!r} does not exist or is not a file")
    if not zipfile.is_zipfile(path):
        raise O1Error(f"checkpoint {str(path)!r} is not a PyTorch checkpoint (corrupt, truncated or another format)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise O1Error(
            f"checkpoint {str(path)!r} carries objects beyond tensors and plain types; refused without running them"
        ) from None
    except Exception as err:  # a damaged archive surfaces as RuntimeError, EOFError, KeyError...
        raise O1Error(f"checkpoint {str(path)!r} is corrupt: {type(err).__name__}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise O1Error(f"checkpoint {str(path)!r} is not a Lightning checkpoint (no state_dict)")
    return checkpoint


PREFIX = "policy."


def read_policy_weights(path: str | Path, vocab: str, policy: GRUPolicy) -> dict[str, torch.Tensor]:
    """The `policy.*` weights of a Lightning checkpoint, checked to fit `policy`; O1Error in one line if not.

    The checkpoint must be of the same vocab and architecture. A value head is optional on either side: one
    the checkpoint lacks starts fresh, one this policy lacks is dropped.
    """
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


def load_policy(checkpoint: str | Path) -> tuple[GRUPolicy, str]:
    """The GRU policy of a `train.py` checkpoint and its vocab (weights only, read with the CLI's checks)."""
    saved = read_checkpoint(checkpoint)
    hparams = saved.get("hyper_parameters", {})
    if "vocab" not in hparams:
        raise O1Error(f"checkpoint {str(checkpoint)!r} has no policy hyperparameters (is it a train.py checkpoint?)")
    tokenizer = CharTokenizer(hparams["vocab"])
    policy = build_policy(
        tokenizer.size,
        hparams.get("embedding_dim", 32),
        hparams.get("hidden_size", 128),
        hparams.get("num_layers", 1),
        can_stop=hparams.get("can_stop", True),
        attention=hparams.get("attention", False),
        max_length=hparams.get("max_length", 64),
    )
    state = {k.removeprefix("policy."): v for k, v in saved["state_dict"].items() if k.startswith("policy.")}
    policy.load_state_dict(state)
    return policy.eval(), hparams["vocab"]
