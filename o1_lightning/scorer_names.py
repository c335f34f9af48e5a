"""Scorers chosen by name in configs: the task's oracles, the policy's own log-probability, or none."""

from __future__ import annotations

from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.search import OutcomeScorer, PolicyLogProbScorer, ProcessScorer, Scorer
from o1_lightning.tasks import Task
from o1_lightning.tokenizer import CharTokenizer

SCORER_NAMES = ("outcome", "process", "logprob", "none")


def make_scorer(name: str, task: Task, policy: nn.Module, tokenizer: CharTokenizer) -> Scorer | None:
    """`outcome` and `process` are ORACLES (the verifier, the step checker); `logprob` is the policy's own belief."""
    check_scorer_name(name)
    if name == "outcome":
        return OutcomeScorer(task)
    if name == "process":
        return ProcessScorer(task)
    if name == "logprob":
        return PolicyLogProbScorer(policy, tokenizer, reduce="mean")
    return None  # "none"


def check_scorer_name(name: str) -> str:
    if name not in SCORER_NAMES:
        raise O1Error(f"unknown scorer {name!r}; allowed: {', '.join(SCORER_NAMES)}")
    return name
