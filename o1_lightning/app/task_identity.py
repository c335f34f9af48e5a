"""Task identity: recognising on resume the task a checkpoint was made for."""

from __future__ import annotations

import ast
import importlib.util
import inspect
from pathlib import Path
from typing import Any

import yaml
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


def check_task_class_path(class_path: str) -> None:
    """Refuse a task class_path whose module does not define that class, without importing (running) the module.

    jsonargparse imports a class_path's module to look the class up, which runs any module a typo names (`this`
    prints the Zen of Python). Here the module's source is read, not run: it must exist and define or import the
    class; jsonargparse then imports it and checks that it is a Task.
    """
    if "." not in class_path:
        return  # a bare class name: jsonargparse resolves it among the Task subclasses already imported
    module_name, _, class_name = class_path.rpartition(".")
    allowed = "a subclass of o1_lightning.tasks.Task, e.g. o1_lightning.tasks.TargetTask"
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise O1Error(f"data.task class_path {class_path!r}: no module named {module_name!r}; give {allowed}")
    source = None
    if spec.origin and spec.origin.endswith(".py"):
        try:
            source = Path(spec.origin).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = None
    if source is not None and class_name not in names_bound_in(source) and "*" not in names_bound_in(source):
        raise O1Error(
            f"data.task class_path {class_path!r}: module {module_name!r} defines no {class_name!r} "
            f"(not imported); give {allowed}"
        )


def names_bound_in(source: str) -> set[str]:
    """Top-level names a module's source defines or imports (classes, functions, assignments, imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    if any(isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) for node in tree.body):
        names.add("*")
    return names


def task_class_paths(args: list[str]) -> list[str]:
    """The data.task class_paths given on a command line and in its --config files (those that can be read)."""
    found = []
    for index, arg in enumerate(args):
        key, equals, value = arg.partition("=")
        if not equals and index + 1 < len(args):
            value = args[index + 1]
        if key in ("--data.task", "--data.task.class_path") and value and not value.lstrip().startswith("{"):
            found.append(value)
        if key == "--config" and value:
            found.extend(class_paths_in_config(value))
    return found


def class_paths_in_config(path: str) -> list[str]:
    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # the parser reports an unreadable config itself
    task = (
        config.get("data", {}).get("task")
        if isinstance(config, dict) and isinstance(config.get("data"), dict)
        else None
    )
    if isinstance(task, str):
        return [task]
    if isinstance(task, dict) and isinstance(task.get("class_path"), str):
        return [task["class_path"]]
    return []
