"""The Python API: a trained policy from a checkpoint, to generate and search with from Python.

from o1_lightning import load_policy
policy = load_policy("checkpoints/hello/last.ckpt")
policy.generate([""])                                    # ['hello']
policy.search([""], method="mcts", budget=40, scorer="outcome")  # the records `train.py predict` writes
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy.checkpoint import policy_from_checkpoint
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.search.records import DEFAULT_SCORERS, search_records
from o1_lightning.tasks.base import Task


class Policy:
    """A policy with its task: `generate` completions, or `search` with any method within a budget.

    Args:
        model: the GRU policy (its weights).
        task: the task it was trained on (prompts are checked by it, answers verified by it).
    """

    def __init__(self, model: GRUPolicy, task: Task) -> None:
        self.model, self.task, self.tokenizer = model.eval(), task, CharTokenizer(task.vocab)

    def to(self, device: str | torch.device) -> Policy:
        self.model.to(device)
        return self

    def generate(self, prompts: list[str], greedy: bool = True, seed: int = 0) -> list[str]:
        """One completion per prompt: the greedy one, or (greedy=False) one sample drawn with `seed`."""
        method = "greedy" if greedy else "sampling"
        records = search_records(
            self.model, self.tokenizer, self.task, prompts, method, self.task.max_length, None, seed
        )
        return [record["completion"] for record in records]

    def search(
        self,
        prompts: list[str],
        method: str = "best_of_n",
        budget: int | None = None,
        scorer: str | Scorer | None = "default",
        seed: int = 0,
        **options: Any,
    ) -> list[dict]:
        """One record per prompt, as `train.py predict` writes them: prompt, completion, score, scorer, oracle,
        method, compute (policy token-steps spent), correct (the task's verifier).

        budget: token-steps per prompt (default: one answer, the task's max_length); scorer: a name of the reward
        vocabulary (outcome, process, logprob, rm:PATH, a dotted path, a weighted sum), a Scorer, or None;
        "default" is the test sweep's choice for the method. options: the method's own (e.g. beam `width`).
        """
        budget = self.task.max_length if budget is None else budget
        scorer = DEFAULT_SCORERS.get(method, "none") if scorer == "default" else scorer
        return search_records(self.model, self.tokenizer, self.task, prompts, method, budget, scorer, seed, **options)


def load_policy(checkpoint: str | Path, task: Task | None = None) -> Policy:
    """The policy of a `train.py` checkpoint (read weights-only, checked), with the task recorded in it (or `task`,
    which must have the checkpoint's vocab)."""
    model, saved = policy_from_checkpoint(checkpoint)
    task = task if task is not None else saved_task(saved, str(checkpoint))
    vocab = saved["hyper_parameters"]["vocab"]
    if task.vocab != vocab:
        raise O1Error(f"checkpoint {str(checkpoint)!r} has vocab {vocab!r}, the task's is {task.vocab!r}")
    return Policy(model, task)


def saved_task(saved: dict, checkpoint: str) -> Task:
    """The task a `train.py` checkpoint records (its class path and init arguments), built again."""
    identities = [
        state["task"] for state in saved.values() if isinstance(state, dict) and "class_path" in state.get("task", {})
    ]
    if not identities:
        raise O1Error(f"checkpoint {checkpoint!r} records no task; pass one: load_policy(path, task=TargetTask(...))")
    class_path, init_args = identities[0]["class_path"], identities[0]["init_args"]
    module_name, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise O1Error(f"checkpoint {checkpoint!r} names task class {class_path!r}, which cannot be imported") from None
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise O1Error(f"checkpoint {checkpoint!r} names {class_path!r} as its task, which is not a Task")
    return cls(**init_args)
