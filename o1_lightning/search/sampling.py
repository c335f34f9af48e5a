"""Whole completions from the policy: the greedy and sampling methods, and the N samples best-of-N and voting use."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.scorers import Scorer, as_scorer, score_completions
from o1_lightning.search.budget import check_budget
from o1_lightning.search.extend import UniformSource, extend
from o1_lightning.search.problems import Generators, Problems, make_problems
from o1_lightning.search.result import SearchResult
from o1_lightning.search.stepper import Stepper
from o1_lightning.tasks.base import Task


def check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise O1Error(f"temperature must be > 0, got {temperature!r}; use the greedy method for argmax decoding")


@dataclass
class Candidates:
    """n completions per problem, problem-major (row b * n + i is candidate i of problem b)."""

    texts: list[str]
    counts: torch.Tensor  # (B*n,) token-steps charged
    log_probs: torch.Tensor  # (B*n,) summed character log-probs under the policy
    chars: torch.Tensor  # (B*n,) characters
    n: int


@torch.no_grad()
def sample_candidates(problems: Problems, n: int, greedy: bool = False, temperature: float = 1.0) -> Candidates:
    """Draw n full completions per problem from one shared prompt encoding, each problem from its own generator."""
    check_temperature(temperature)
    logits, state = problems.stepper.start(problems.prompts)  # (B, V), B states
    rows = torch.arange(problems.size, device=problems.device).repeat_interleave(n)  # (B*n,) problem of each row
    limits = torch.full_like(rows, problems.max_length)
    uniforms = None if greedy else UniformSource(rows, problems.generators)
    out = extend(
        problems.stepper, logits[rows], problems.stepper.take(state, rows), limits, greedy, temperature, uniforms
    )
    return Candidates(problems.decode(out.tokens, out.counts), out.counts, out.log_probs, out.chars, n)


def single_completion(
    problems: Problems, budget: int, scorer: Scorer | None, method: str, greedy: bool, temperature: float
) -> list[SearchResult]:
    """One completion per problem, scored when a scorer is given (NaN otherwise)."""
    check_budget(method, budget, problems.max_length)
    cands = sample_candidates(problems, 1, greedy, temperature)
    if scorer is None:
        scores = [float("nan")] * problems.size
    else:
        scores = score_completions(
            scorer, problems.stepper.policy, problems.prompts, cands.texts, cands.log_probs, cands.chars
        ).tolist()
    return problems.results(method, budget, cands.texts, scores, scorer, cands.counts.tolist())


@torch.no_grad()
def greedy(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer | None = None,
    generator: Generators = None,
    *,
    stepper: Stepper | None = None,
) -> list[SearchResult]:
    """The argmax completion of each prompt (costs its length); the scorer, if any, only reports its score."""
    problems = make_problems(policy, tokenizer, task, prompts, generator, stepper)
    return single_completion(problems, budget, as_scorer(scorer), "greedy", True, 1.0)


@torch.no_grad()
def sampling(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer | None = None,
    generator: Generators = None,
    *,
    temperature: float = 1.0,
    stepper: Stepper | None = None,
) -> list[SearchResult]:
    """One completion per prompt sampled at `temperature` (costs its length)."""
    problems = make_problems(policy, tokenizer, task, prompts, generator, stepper)
    return single_completion(problems, budget, as_scorer(scorer), "sampling", False, temperature)
