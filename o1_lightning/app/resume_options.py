"""Resuming with model options that differ from the checkpoint's: refuse what cannot apply, apply the rest, say so."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from o1_lightning.errors import O1Error

# Options the weights' shapes or the module's parts depend on: a checkpoint cannot be loaded with others.
SHAPE_OPTIONS = ("embedding_dim", "hidden_size", "num_layers", "objective", "vocab", "max_length", "can_stop")
IGNORED_ON_RESUME = {"init_from": "a resumed fit keeps its own weights"}
LINKED = ("gamma",)  # set through data.gamma
PLAIN = (str, int, float, bool, type(None))


def module_parts(options: dict[str, Any]) -> tuple[bool, bool]:
    """(value head, KL reference): parts of the module that exist only for some option values."""
    return options.get("baseline") == "gae", (options.get("kl_coef") or 0) > 0


def resolve_resume_options(requested: dict[str, Any], saved: dict[str, Any], checkpoint: str) -> dict[str, Any]:
    """The requested model options that differ from the checkpoint's and can apply; O1Error for one that cannot."""
    changed = {
        name: value
        for name, value in requested.items()
        if name in saved and name not in LINKED and saved[name] != value and not name.startswith("_")
    }
    for name in SHAPE_OPTIONS:
        if name in changed:
            raise O1Error(
                f"cannot resume {checkpoint!r} with model.{name} {changed[name]!r}: the checkpoint was trained with "
                f"{saved[name]!r} and its weights depend on it; drop the option, or start a new run (--run_name)"
            )
    if module_parts(requested) != module_parts(saved):
        raise O1Error(
            f"cannot resume {checkpoint!r} with model.baseline {requested.get('baseline')!r} and model.kl_coef "
            f"{requested.get('kl_coef')!r}: the checkpoint (baseline {saved.get('baseline')!r}, kl_coef "
            f"{saved.get('kl_coef')!r}) has other parts (a value head or a KL reference); start a new run instead"
        )
    return changed


def describe_changes(changed: dict[str, Any], saved: dict[str, Any]) -> str:
    applied = [f"model.{n} {saved[n]!r} -> {v!r}" for n, v in changed.items() if n not in IGNORED_ON_RESUME]
    ignored = [f"model.{n} ({IGNORED_ON_RESUME[n]})" for n in changed if n in IGNORED_ON_RESUME]
    parts = ([f"applied: {', '.join(applied)}"] if applied else []) + (
        [f"ignored: {', '.join(ignored)}"] if ignored else []
    )
    return "; ".join(parts)


class ResumedLearningRate(Callback):
    """Sets the optimizer's learning rate after a resume has restored the checkpoint's (which would win otherwise).

    Under a decaying `model.lr_schedule` the new rate is the schedule's base: the scheduler's restored base rates
    would otherwise bring the old one back at the next step, and the rate now is the new base times the factor
    the schedule has reached.
    """

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self.lr
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            scheduler.base_lrs = [self.lr] * len(scheduler.base_lrs)
            for group, factor in zip(scheduler.optimizer.param_groups, getattr(scheduler, "lr_lambdas", [])):
                group["initial_lr"] = self.lr
                group["lr"] = self.lr * factor(scheduler.last_epoch)


class RecordedOptions(Callback):
    """Keeps the run's data options in its checkpoints, so that a resume can name those it changes.

    (The model's options are saved by Lightning as hyper_parameters; the datamodule's are not.)
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = {name: value for name, value in data.items() if isinstance(value, PLAIN) or is_plain_list(value)}

    def state_dict(self) -> dict[str, Any]:
        return {"data": self.data}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass  # the options given now are the ones that run; `changed_data_options` compares them with the saved ones


def is_plain_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, PLAIN) for item in value)


def changed_data_options(checkpoint: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """`data.NAME old -> new` for each data option the checkpoint recorded with another value."""
    saved = checkpoint.get("callbacks", {}).get(RecordedOptions.__qualname__, {}).get("data", {})
    if not isinstance(saved, dict):
        return []
    return [
        f"data.{name} {saved[name]!r} -> {value!r}"
        for name, value in data.items()
        if name in saved and saved[name] != value
    ]
