"""Step boundaries of a (partial) completion, read from the task's own `steps()` split."""

from __future__ import annotations

from o1_lightning.tasks.base import Task


def char_steps(task: Task) -> bool:
    """True when the task keeps Task.steps: every character is a step (the fast path: no boundary checks)."""
    return type(task).steps is Task.steps


def ends_step(task: Task, completion: str) -> bool:
    """Does `completion` end on a step boundary? Yes when appending some vocab character starts a new step.

    `steps()` of a partial completion cannot tell whether its last piece is finished, but one more character can:
    it either joins that piece or opens a new one.
    """
    if char_steps(task):
        return True
    count = len(task.steps(completion))
    for char in task.vocab:
        pieces = task.steps(completion + char)
        if len(pieces) == count + 1 and pieces[-1] == char:
            return True
    return False
