"""Rewards and scorers by name: one vocabulary (`spec.py`) for training rewards, search scorers and the refresh.

name            score of a completion (search)              oracle    training reward (data.reward)
outcome         the verifier: 1 or 0                        yes       x correct_reward on the last action; a
                                                                      failed one: -mistake_penalty per wrong step
process         fraction of steps the step checker accepts  yes       +-process_reward at the end of each step
shaping         (training only)                             yes       gamma Phi(s') - Phi(s), Phi = shaping_scale
                                                                      x leading correct steps (or a PRM's sum)
logprob         mean log-prob under the searching policy    no        (search only)
rm:PATH         an ORM's P(correct), a PRM's min step prob  no        its score on the last action
pkg.module.fn   fn(prompts, completions) -> list[float]     fn.oracle its score on the last action

A dotted path may also name a class: it is built with the task (`cls(task)`) when its __init__ takes `task`.
"""

from __future__ import annotations

import inspect

from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.functions import REWARD_NAMES, RewardFunction
from o1_lightning.rewards.learned.scorer import RewardModelScorer
from o1_lightning.rewards.learned.shaping import LearnedShapingReward
from o1_lightning.rewards.scorers import (
    BatchFunctionScorer,
    OutcomeScorer,
    PolicyLogProbScorer,
    ProcessScorer,
    Scorer,
    WeightedSumScorer,
)
from o1_lightning.rewards.spec import import_object, parse_terms, takes_task
from o1_lightning.tasks import Task

SEARCH_BUILTINS = ("outcome", "process", "logprob")
SCORER_NAMES = (*SEARCH_BUILTINS, "none", "rm:PATH", "pkg.module.function")


def check_scorer_name(spec: str) -> str:
    """`spec` if every term of it names a scorer (`none` alone: no scorer), else one O1Error line."""
    if spec != "none":
        parse_terms(spec, SEARCH_BUILTINS, "scorer")
    return spec


def make_scorer(spec: str, task: Task, policy: nn.Module | None, tokenizer: CharTokenizer) -> Scorer | None:
    """The scorer `spec` names (None for `none`); a sum of several terms is a WeightedSumScorer named `spec`."""
    if check_scorer_name(spec) == "none":
        return None
    terms = parse_terms(spec, SEARCH_BUILTINS, "scorer")
    scorers = [(term.weight, term_scorer(term.name, task, policy, tokenizer)) for term in terms]
    if len(scorers) == 1 and scorers[0][0] == 1.0:
        return scorers[0][1]
    return WeightedSumScorer(scorers, spec)


def logprob_scorer(task: Task, policy: nn.Module | None, tokenizer: CharTokenizer) -> Scorer:
    if policy is None:
        raise O1Error("scorer 'logprob' reads the searching policy; it is not a training reward")
    return PolicyLogProbScorer(policy, tokenizer, reduce="mean")


BUILTIN_SCORERS = {
    "outcome": lambda task, policy, tokenizer: OutcomeScorer(task),
    "process": lambda task, policy, tokenizer: ProcessScorer(task),
    "logprob": logprob_scorer,
}


def term_scorer(name: str, task: Task, policy: nn.Module | None, tokenizer: CharTokenizer) -> Scorer:
    """One term's scorer. `outcome` and `process` are ORACLES (the verifier, the step checker); `logprob` is the
    policy's own belief; `rm:PATH` a learned reward model (ORM, or PRM reduced by its minimum); else a dotted path."""
    if name in BUILTIN_SCORERS:
        return BUILTIN_SCORERS[name](task, policy, tokenizer)
    if name.startswith("rm:"):
        return RewardModelScorer.from_checkpoint(name.removeprefix("rm:"), task)
    return user_scorer(name, task)


def user_scorer(path: str, task: Task) -> Scorer:
    """A user's reward by dotted path: a function (prompts, completions) -> list[float], or a class built with the
    task (or with nothing) whose instances are such functions or Scorers."""
    found = import_object(path)
    if inspect.isclass(found):
        found = found(task) if takes_task(found) else found()
    if isinstance(found, Scorer):
        return found
    return BatchFunctionScorer(found, path)


def make_reward_function(reward: str, task: Task, shaping_model: str | None = None, **params: float) -> RewardFunction:
    """The training reward `reward` (built-ins, rm:PATH, dotted paths) for `task`; `shaping_model` (rm:PATH of a
    process reward model) replaces the step checker as the potential of `shaping`."""
    terms = parse_terms(reward, REWARD_NAMES, "reward")
    others = [
        (t.weight, term_scorer(t.name, task, None, CharTokenizer(task.vocab)))
        for t in terms
        if t.name not in REWARD_NAMES
    ]
    if shaping_model is None:
        return RewardFunction(reward, **params, term_scorers=others)
    if not shaping_model.startswith("rm:"):
        raise O1Error(f"data.shaping_model {shaping_model!r} must be rm:PATH, a process reward model checkpoint")
    parse_terms(shaping_model, (), "shaping model")
    model = RewardModelScorer.from_checkpoint(shaping_model.removeprefix("rm:"), task)
    if model.kind != "process":
        raise O1Error(
            f"data.shaping_model {shaping_model!r} is an {model.kind} reward model; shaping needs a process one"
        )
    if "shaping" not in {t.name for t in terms}:
        raise O1Error(f"data.shaping_model is the potential of 'shaping', which data.reward {reward!r} does not use")
    return LearnedShapingReward(reward, **params, term_scorers=others, process_model=model)
