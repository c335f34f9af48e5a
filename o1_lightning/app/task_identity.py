"""Task identity: recognising on resume the task a checkpoint was made for."""

from __future__ import annotations

import inspect
from typing import Any

from lightning.pytorch.utilities import rank_zero_warn

from o1_lightning.errors import O1Error
from o1_lightning.tasks import Task

PLAIN = (str, int, float, bool, type(None))


def task_identity(task: Task) -> dict[str, Any]:
    """The task's class and init arguments as plain types, saved in checkpoints to recognise the task on resume.

    An init argument is recorded when the task keeps it as an attribute of the same name (all our tasks do).
    """
    names = [name for name in inspect.signature(type(task).__init__).parameters if name != "self"]
    init_args = {name: getattr(task, name) for name in names if isinstance(getattr(task, name, ...), PLAIN)}
    return {
        "class_path": f"{type(task).__module__}.{type(task).__qualname__}",
        "init_args": init_args,
        "vocab": task.vocab,
        "max_length": task.max_length,
    }


def describe(identity: dict[str, Any]) -> str:
    arguments = ", ".join(f"{name}={value!r}" for name, value in identity["init_args"].items())
    return f"{identity['class_path'].rsplit('.', 1)[-1]}({arguments})"


def check_same_task(saved: dict[str, Any], task: Task, checkpoint: str) -> None:
    """Refuse to resume a checkpoint made for another task; warn about the changes that are allowed.

    Refused: another task class, vocab or max_length (the policy's shapes, the meaning of its tokens and the
    per-position baselines depend on them). Allowed, with a warning: other init arguments of the same class
    (e.g. another TargetTask target of the same length, AdditionTask's min_digits), which continue the run
    as a fine-tune or a curriculum step on the changed task.
    """
    current = task_identity(task)
    for key in ("class_path", "vocab", "max_length"):
        if saved[key] != current[key]:
            raise O1Error(
                f"checkpoint {checkpoint!r} was made for task {describe(saved)} and cannot resume task "
                f"{describe(current)}: its {key} differs ({saved[key]!r} vs {current[key]!r})"
            )
    changed = [
        f"{name} {value!r} -> {current['init_args'].get(name)!r}"
        for name, value in saved["init_args"].items()
        if current["init_args"].get(name) != value
    ]
    if changed:
        rank_zero_warn(f"resuming checkpoint {checkpoint!r} on a changed task: {', '.join(changed)}")
