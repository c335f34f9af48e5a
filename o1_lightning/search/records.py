"""Search as records: what `train.py predict` prints and writes and what the Python API's `Policy.search` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.names import check_scorer_name, make_scorer
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.search.registry import check_method, run_search
from o1_lightning.search.result import SearchResult
from o1_lightning.tasks.base import Task

# The scorer each method uses unless told otherwise (sweep.scorers, Policy.search's scorer).
DEFAULT_SCORERS = {"greedy": "none", "sampling": "none", "best_of_n": "outcome", "majority": "none"}
DEFAULT_SCORERS |= {"beam": "process", "mcts": "outcome"}


def result_record(result: SearchResult, task: Task) -> dict[str, Any]:
    """One solution as a plain dict: the answer, its score and scorer, whether that is an oracle, the compute
    spent, and whether the task's verifier accepts it."""
    return {
        "prompt": result.prompt,
        "completion": result.completion,
        "score": result.score,
        "scorer": result.scorer,
        "oracle": result.oracle,
        "method": result.method,
        "compute": result.compute,
        "correct": task.outcome(result.prompt, result.completion),
    }


@dataclass
class SearchRequest:
    """A search to run on prompts: method, budget as a multiple of one full answer, scorer (a name of the reward
    vocabulary, or a Scorer), the method's own options and a seed for its random draws."""

    method: str = "greedy"
    budget_multiplier: int = 1
    scorer: str | Scorer | None = "logprob"
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        check_method(self.method)
        if self.budget_multiplier < 1:
            raise O1Error(f"search budget_multiplier must be >= 1, got {self.budget_multiplier}")
        if isinstance(self.scorer, str):
            check_scorer_name(self.scorer)

    def solve(self, policy: nn.Module, tokenizer: CharTokenizer, task: Task, prompts: list[str]) -> list[dict]:
        """One record per prompt (`result_record`), the budget being budget_multiplier x task.max_length."""
        budget = self.budget_multiplier * task.max_length
        return search_records(
            policy, tokenizer, task, prompts, self.method, budget, self.scorer, self.seed, **self.options
        )


def search_records(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    method: str,
    budget: int,
    scorer: str | Scorer | None,
    seed: int = 0,
    **options: Any,
) -> list[dict]:
    """Run `method` within `budget` token-steps per prompt, scored by `scorer` (a name of the reward vocabulary,
    a Scorer or None), its draws seeded by `seed`; one `result_record` per prompt."""
    if isinstance(scorer, str):
        scorer = make_scorer(scorer, task, policy, tokenizer)
    generator = torch.Generator().manual_seed(seed)
    results = run_search(method, policy, tokenizer, task, prompts, budget, scorer, generator, **options)
    return [result_record(result, task) for result in results]
