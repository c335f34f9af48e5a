"""The reward vocabulary of configs: weighted terms joined by '+', each a built-in name, `rm:PATH` or a dotted path.

    outcome                                   one built-in
    outcome+process                           two, each of weight 1
    outcome+0.5*mypkg.rewards.length_penalty  a user function (prompts, completions) -> list[float], weight 0.5
    rm:checkpoints/reward_model/last.ckpt     a learned reward model (train_reward_model.py)

The same string chooses training rewards (`data.reward`), search scorers (`search.scorer`, `sweep.scorers`) and
the refresh's scorer (`SearchRefresh.scorer`); which built-ins each allows is listed by `parse_terms`.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from o1_lightning.errors import O1Error

WEIGHTED = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-]?\d+)?)\s*\*\s*(.+?)\s*$")
DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


@dataclass(frozen=True)
class Term:
    """One named reward and its weight in a sum."""

    weight: float
    name: str


def allowed_names(builtins: tuple[str, ...]) -> str:
    return f"{', '.join(builtins)}, rm:PATH or a dotted path module.function, joined with '+', each as WEIGHT*NAME"


def parse_terms(spec: str, builtins: tuple[str, ...], what: str = "reward") -> list[Term]:
    """'outcome+0.5*pkg.fn' -> [Term(1.0, 'outcome'), Term(0.5, 'pkg.fn')], each name checked (files, imports)."""
    terms = []
    for piece in str(spec).split("+") if str(spec).strip() else [""]:
        match = WEIGHTED.match(piece)
        weight, name = (float(match.group(1)), match.group(2)) if match else (1.0, piece.strip())
        check_term_name(name, spec, builtins, what)
        terms.append(Term(weight, name))
    return terms


def check_term_name(name: str, spec: str, builtins: tuple[str, ...], what: str) -> None:
    """A built-in, an existing reward-model checkpoint or an importable dotted path; else one O1Error line."""
    where = f" in {spec!r}" if spec != name else ""
    if name in builtins:
        return
    if name.startswith("rm:"):
        if not Path(name.removeprefix("rm:")).is_file():
            raise O1Error(f"reward model checkpoint {name.removeprefix('rm:')!r} in {what} {spec!r} does not exist")
        return
    if not DOTTED.match(name):
        raise O1Error(f"unknown {what} {name!r}{where}; allowed: {allowed_names(builtins)}")
    import_object(name, what)


def import_object(path: str, what: str = "reward") -> object:
    """The object a dotted path names (`mypkg.rewards.length_penalty`), or one O1Error line saying what is missing."""
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise O1Error(
                f"unknown {what} {path!r}: no module named {err.name!r} (is its folder on PYTHONPATH?)"
            ) from None
        raise O1Error(f"{what} {path!r}: importing {module_name!r} failed: {err}") from None
    except Exception as err:  # the user's module raised while importing
        raise O1Error(f"{what} {path!r}: importing {module_name!r} failed: {type(err).__name__}: {err}") from None
    if not hasattr(module, attribute):
        raise O1Error(f"unknown {what} {path!r}: module {module_name!r} has no {attribute!r}")
    found = getattr(module, attribute)
    if not callable(found):
        raise O1Error(f"{what} {path!r} is not callable; give a function (prompts, completions) -> list[float]")
    return found


def takes_task(cls: type) -> bool:
    """Whether a reward class is built with the task (`cls(task)`) rather than with no arguments."""
    return "task" in inspect.signature(cls).parameters
