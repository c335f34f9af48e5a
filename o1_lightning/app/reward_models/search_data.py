"""A second round of reward-model data: the answers a search guided by the first-round model picks.

Best-of-N, beam search and MCTS pick what the reward model scores highest; with many candidates that pick is
increasingly one of the model's errors (over-optimisation, Gao et al. 2023), and the policy's own rollouts hold
few of them. Labelled exactly and added to the training rollouts, they teach the next model those errors.
"""

from __future__ import annotations

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.labels import exact_step_labels
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.search.registry import check_method, run_search
from o1_lightning.tasks.base import Task

SearchSpec = tuple[str, dict]  # (method, options), e.g. ("best_of_n", {}) or ("beam", {"sample_steps": True})


def search_proposals(
    policy: nn.Module,
    task: Task,
    prompts: list[str],
    searches: list[SearchSpec],
    budget: int,
    scorer: Scorer,
    seed: int = 0,
) -> tuple[list[str], list[str]]:
    """(prompts, completions): the answer every search in `searches` picks for each prompt, guided by `scorer`
    within `budget` token-steps per problem (draws seeded by `seed`); each prompt appears once per search."""
    if not searches:
        raise O1Error("search_proposals needs at least one (method, options) search")
    tokenizer = CharTokenizer(task.vocab)
    out_prompts: list[str] = []
    out_completions: list[str] = []
    for index, (method, options) in enumerate(searches):
        check_method(method, " in searches")
        generator = torch.Generator().manual_seed(seed * 1000 + index)
        results = run_search(method, policy, tokenizer, task, prompts, budget, scorer, generator, **options)
        out_prompts += [r.prompt for r in results]
        out_completions += [r.completion for r in results]
    return out_prompts, out_completions


def proposal_label_counts(task: Task, prompts: list[str], completions: list[str]) -> dict[str, float]:
    """What the proposals teach: how many there are, the share the verifier accepts, and the share of their steps
    that the exact step labels call on track (a search misled by its reward model proposes many that are not)."""
    labels = [exact_step_labels(task, p, c) for p, c in zip(prompts, completions)]
    steps = [label for row in labels for label in row]
    verified = sum(task.outcome(p, c) for p, c in zip(prompts, completions))
    return {
        "proposals": float(len(completions)),
        "verified": verified / max(1, len(completions)),
        "steps_on_track": sum(steps) / max(1, len(steps)),
    }
