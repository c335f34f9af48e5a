"""Scorers chosen by name in configs: the task's oracles, the policy's own log-probability, a learned reward model."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.scorer import RewardModelScorer
from o1_lightning.rewards.scorers import OutcomeScorer, PolicyLogProbScorer, ProcessScorer, Scorer
from o1_lightning.tasks import Task

SCORER_NAMES = ("outcome", "process", "logprob", "none", "rm:PATH")


def make_scorer(name: str, task: Task, policy: nn.Module, tokenizer: CharTokenizer) -> Scorer | None:
    """`outcome` and `process` are ORACLES (the verifier, the step checker); `logprob` is the policy's own belief;
    `rm:PATH` is a learned reward model saved by train_reward_model.py (an ORM, or a PRM reduced by its minimum)."""
    check_scorer_name(name)
    if name.startswith("rm:"):
        return RewardModelScorer.from_checkpoint(name.removeprefix("rm:"), task)
    if name == "outcome":
        return OutcomeScorer(task)
    if name == "process":
        return ProcessScorer(task)
    if name == "logprob":
        return PolicyLogProbScorer(policy, tokenizer, reduce="mean")
    return None  # "none"


def check_scorer_name(name: str) -> str:
    if name.startswith("rm:"):
        if not Path(name.removeprefix("rm:")).is_file():
            raise O1Error(f"reward model checkpoint {name.removeprefix('rm:')!r} in scorer {name!r} does not exist")
        return name
    if name not in SCORER_NAMES:
        raise O1Error(f"unknown scorer {name!r}; allowed: {', '.join(SCORER_NAMES)}")
    return name
