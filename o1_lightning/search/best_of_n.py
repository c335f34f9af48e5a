"""Best-of-N: sample N completions per prompt and keep the one the scorer ranks highest."""

from __future__ import annotations

import torch
from torch import nn

from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.scorers import Scorer, require_scorer, score_completions
from o1_lightning.search.budget import completions_in_budget
from o1_lightning.search.problems import Generators, make_problems
from o1_lightning.search.result import SearchResult
from o1_lightning.search.sampling import sample_candidates
from o1_lightning.search.stepper import Stepper
from o1_lightning.tasks.base import Task


@torch.no_grad()
def best_of_n(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer,
    generator: Generators = None,
    *,
    n: int | None = None,
    temperature: float = 1.0,
    stepper: Stepper | None = None,
) -> list[SearchResult]:
    """N = budget // max_length samples (or `n`); the first highest-scored one wins. Costs the sum of their lengths."""
    scorer = require_scorer(scorer, "best_of_n")
    problems = make_problems(policy, tokenizer, task, prompts, generator, stepper)
    n = completions_in_budget("best_of_n", budget, problems.max_length, n)
    cands = sample_candidates(problems, n, temperature=temperature)
    prompts = [p for p in problems.prompts for _ in range(n)]
    policy = problems.stepper.policy
    scores = score_completions(scorer, policy, prompts, cands.texts, cands.log_probs, cands.chars)
    scores = scores.view(problems.size, n)  # (B, n)
    best = scores.argmax(-1)  # (B,) first maximum
    picks = (torch.arange(problems.size, device=best.device) * n + best).tolist()
    compute = cands.counts.view(problems.size, n).sum(-1).tolist()
    info = [{"n": n} for _ in problems.prompts]
    return problems.results(
        "best_of_n", budget, [cands.texts[i] for i in picks], scores.max(-1).values.tolist(), scorer, compute, info
    )
