"""A batch of search problems: prompts, task, policy stepper, one random generator per problem, and results."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.search.result import SearchResult
from o1_lightning.search.stepper import HiddenStepper, Stepper
from o1_lightning.tasks.base import Task

Generators = torch.Generator | list[torch.Generator] | None


def problem_generators(generator: Generators, n: int) -> list[torch.Generator]:
    """One CPU generator per problem, so that a problem's draws never depend on the rest of its batch.

    A list is used as given (one per prompt: pass the same list's items one at a time to reproduce a batched run
    problem by problem). A single generator seeds problem i with one draw from it plus i; None draws that seed
    from torch's default generator.
    """
    if isinstance(generator, list | tuple):
        if len(generator) != n:
            raise O1Error(f"got {len(generator)} generators for {n} prompts; give one per prompt or a single one")
        return list(generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


@dataclass
class Problems:
    """Everything a method needs about its batch; row b of every per-problem tensor is prompt b."""

    tokenizer: CharTokenizer
    task: Task
    prompts: list[str]
    stepper: Stepper
    generators: list[torch.Generator]

    @property
    def size(self) -> int:
        return len(self.prompts)

    @property
    def device(self) -> torch.device:
        return self.stepper.device

    @property
    def max_length(self) -> int:
        return self.task.max_length

    @cached_property
    def chars(self) -> list[str]:
        """The text of every token id (empty for the specials), for appending one token to a string cheaply."""
        return [self.tokenizer.decode([i]) for i in range(self.tokenizer.size)]

    def decode(self, tokens: torch.Tensor, counts: torch.Tensor) -> list[str]:
        """(R, T) appended tokens with (R,) counts -> R strings (end token and padding dropped)."""
        return [self.tokenizer.decode(row[:n]) for row, n in zip(tokens.tolist(), counts.tolist())]

    def results(
        self,
        method: str,
        budget: int,
        completions: list[str],
        scores: list[float],
        scorer: Scorer | None,
        compute: list[int],
        info: list[dict[str, float]] | None = None,
    ) -> list[SearchResult]:
        """One SearchResult per problem, naming the scorer (or 'none') and whether it is an oracle."""
        name, oracle = (scorer.name, scorer.oracle) if scorer is not None else ("none", False)
        info = info or [{} for _ in self.prompts]
        return [
            SearchResult(p, c, float(s), name, oracle, int(k), budget, method, i)
            for p, c, s, k, i in zip(self.prompts, completions, scores, compute, info)
        ]


def make_problems(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    generator: Generators = None,
    stepper: Stepper | None = None,
) -> Problems:
    """Check the prompts against the task and bundle them with a stepper (cached hidden states by default)."""
    if not prompts:
        raise O1Error("search got no prompts; give a non-empty list of prompt strings")
    for prompt in prompts:
        task.check_prompt(prompt)
        tokenizer.encode(prompt)  # raises O1Error on characters outside the vocab
    stepper = stepper if stepper is not None else HiddenStepper(policy, tokenizer)
    return Problems(tokenizer, task, list(prompts), stepper, problem_generators(generator, len(prompts)))
