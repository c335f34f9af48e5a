"""(Weighted) majority vote: sample N completions, group them by the task's final answer, return the heaviest group."""

from __future__ import annotations

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.scorers import Scorer, as_scorer, require_scorer, score_completions
from o1_lightning.search.budget import completions_in_budget
from o1_lightning.search.problems import Generators, make_problems
from o1_lightning.search.result import SearchResult
from o1_lightning.search.sampling import sample_candidates
from o1_lightning.search.stepper import Stepper
from o1_lightning.tasks.base import Task


class _Vote(Scorer):
    """The unweighted vote's label in results: not a scorer anyone calls, and not an oracle."""

    name = "vote"
    oracle = False


VOTE = _Vote()


def vote(answers: list[str | None], weights: list[float]) -> tuple[int, float]:
    """Index of the representative of the heaviest answer (its heaviest member) and that answer's vote share.

    Completions without an answer (None) do not vote; ties go to the answer seen first. With no answer at all the
    first completion is returned with share 0.
    """
    totals: dict[str, float] = {}
    for answer, weight in zip(answers, weights):
        if answer is not None:
            totals[answer] = totals.get(answer, 0.0) + weight
    if not totals:
        return 0, 0.0
    winner = max(totals, key=lambda a: totals[a])  # max keeps the first of equal totals, in insertion order
    members = [i for i, a in enumerate(answers) if a == winner]
    representative = max(members, key=lambda i: weights[i])  # first of equal weights
    total = sum(totals.values())
    return representative, totals[winner] / total if total > 0 else 0.0


@torch.no_grad()
def majority_vote(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer | None = None,
    generator: Generators = None,
    *,
    n: int | None = None,
    temperature: float = 1.0,
    weighted: bool = False,
    stepper: Stepper | None = None,
) -> list[SearchResult]:
    """N = budget // max_length samples vote with `task.answer`; one vote each, or the scorer's score if `weighted`.

    The result's score is the winning answer's vote share; its scorer is the weighting scorer, or 'vote'.
    """
    scorer = require_scorer(scorer, "majority (weighted)") if weighted else as_scorer(scorer)
    problems = make_problems(policy, tokenizer, task, prompts, generator, stepper)
    n = completions_in_budget("majority", budget, problems.max_length, n)
    cands = sample_candidates(problems, n, temperature=temperature)
    if weighted:
        prompts_n = [p for p in problems.prompts for _ in range(n)]
        weights = score_completions(
            scorer, problems.stepper.policy, prompts_n, cands.texts, cands.log_probs, cands.chars
        ).tolist()
        if min(weights) < 0:
            raise O1Error(f"weighted majority needs scores >= 0, but scorer {scorer.name!r} gave {min(weights):.3g}")
    else:
        weights = [1.0] * len(cands.texts)
    completions, shares, info = [], [], []
    for b in range(problems.size):
        rows = slice(b * n, (b + 1) * n)
        texts = cands.texts[rows]
        pick, share = vote([task.answer(t) for t in texts], weights[rows])
        completions.append(texts[pick])
        shares.append(share)
        info.append({"n": n, "answers": len({task.answer(t) for t in texts} - {None})})
    compute = cands.counts.view(problems.size, n).sum(-1).tolist()
    return problems.results("majority", budget, completions, shares, scorer if weighted else VOTE, compute, info)
