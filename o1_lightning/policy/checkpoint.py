"""Reading checkpoints safely (weights only, one-line errors) and loading a policy from one."""

from __future__ import annotations

import contextlib
import os
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
    return policy_weights(read_checkpoint(path), str(path), vocab, policy)


def policy_weights(checkpoint: dict, path: str, vocab: str, policy: GRUPolicy) -> dict[str, torch.Tensor]:
    """`read_policy_weights` on a checkpoint already read."""
    saved_vocab = checkpoint.get("hyper_parameters", {}).get("vocab")
    if saved_vocab != vocab:
        raise O1Error(f"init_from checkpoint {path!r} has vocab {saved_vocab!r}, this task's is {vocab!r}")
    saved = {k[len(PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(PREFIX)}
    weights = {}
    for name, own in policy.state_dict().items():
        if name not in saved:
            if name.startswith("value."):
                continue
            raise O1Error(f"checkpoint {path!r} has no policy weight {name!r}")
        if saved[name].shape != own.shape:
            raise O1Error(
                f"checkpoint {path!r} has {name} of shape {tuple(saved[name].shape)}, this policy "
                f"{tuple(own.shape)}: embedding_dim, hidden_size and num_layers must match"
            )
        check_finite(saved[name], name, path)
        weights[name] = saved[name]
    return weights


def load_policy_weights(path: str | Path, vocab: str, policy: GRUPolicy) -> None:
    """Copy a checkpoint's policy weights into `policy` in place (its optimizer, if any, keeps its parameters)."""
    policy.load_state_dict(read_policy_weights(path, vocab, policy), strict=False)


def policy_from_checkpoint(path: str | Path) -> tuple[GRUPolicy, dict]:
    """The GRU policy of a `train.py` checkpoint (in eval mode) and its checkpoint, read weights-only and checked
    (`read_policy_weights`): the one checkpoint-to-policy loader of the CLI's init_from, reward-model data and
    the Python API (`o1_lightning.load_policy`)."""
    saved = read_checkpoint(path)
    hparams = saved.get("hyper_parameters", {})
    if "kind" in hparams:
        raise O1Error(f"checkpoint {str(path)!r} is a reward model ({hparams['kind']}), not a policy")
    if "vocab" not in hparams:
        raise O1Error(f"checkpoint {str(path)!r} has no policy hyperparameters (is it a train.py checkpoint?)")
    size = CharTokenizer(hparams["vocab"]).size
    shape = [hparams.get(name, default) for name, default in (("embedding_dim", 32), ("hidden_size", 128))]
    extras = {"attention": hparams.get("attention", False), "max_length": hparams.get("max_length", 64)}
    policy = build_policy(size, *shape, hparams.get("num_layers", 1), can_stop=hparams.get("can_stop", True), **extras)
    policy.load_state_dict(policy_weights(saved, str(path), hparams["vocab"], policy), strict=False)
    return policy.eval(), saved


def check_weights_fit(saved: dict[str, torch.Tensor], own: dict[str, torch.Tensor], path: str | Path) -> None:
    """A checkpoint's state_dict has exactly this module's keys and shapes, all finite; O1Error in one line if not."""
    missing, unexpected = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise O1Error(f"checkpoint {str(path)!r} does not fit this model: {detail} (made by another model or version)")
    for name, tensor in saved.items():
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise O1Error(
                f"checkpoint {str(path)!r} does not fit this model: {name} has shape {tuple(tensor.shape)}, "
                f"the model's is {tuple(own[name].shape)} (its hyperparameters do not match its weights)"
            )
        check_finite(tensor, name, path)


def check_finite(tensor: torch.Tensor, name: str, path: str | Path) -> None:
    """O1Error in one line when a checkpoint's floating-point tensor holds a NaN or an inf."""
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise O1Error(f"checkpoint {str(path)!r} has non-finite values in {name}: it cannot be resumed or used")


def save_atomically(value: object, path: str | Path) -> None:
    """torch.save to `path.<pid>.part`, fsync, then rename over `path`: a crash or a full disk never leaves a torn
    file; on failure the partial file is removed and O1Error names the path."""
    path = Path(path)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as file:
            torch.save(value, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except OSError as err:
        with contextlib.suppress(OSError):  # the folder itself may be what failed
            partial.unlink(missing_ok=True)
        raise O1Error(f"could not write {str(path)!r}: {err.strerror or err}") from None


def read_saved(path: str | Path, what: str) -> dict:
    """A file written by `save_atomically` (a cache), read with weights_only=True; O1Error in one line if unsafe or
    damaged, naming the file to delete."""
    path = Path(path)
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise O1Error(
            f"{what} {str(path)!r} carries objects beyond tensors and plain types; refused (delete it)"
        ) from None
    except Exception as err:  # truncated or corrupt: RuntimeError, EOFError, ...
        raise O1Error(f"{what} {str(path)!r} is corrupt ({type(err).__name__}); delete it to rebuild it") from None
    if not isinstance(value, dict):
        raise O1Error(f"{what} {str(path)!r} is not one this program wrote; delete it to rebuild it")
    return value
