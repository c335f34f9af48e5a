"""The method registry and `run_search`, the one entry point the CLI and callbacks use."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.search.beam import beam_search
from o1_lightning.search.best_of_n import best_of_n
from o1_lightning.search.majority import majority_vote
from o1_lightning.search.mcts import mcts
from o1_lightning.search.problems import Generators
from o1_lightning.search.result import SearchResult
from o1_lightning.search.sampling import greedy, sampling
from o1_lightning.tasks.base import Task

SEARCH_METHODS: dict[str, Callable[..., list[SearchResult]]] = {
    "greedy": greedy,
    "sampling": sampling,
    "best_of_n": best_of_n,
    "majority": majority_vote,
    "beam": beam_search,
    "mcts": mcts,
}


def check_method(method: str, where: str = "") -> str:
    """`method` if it is a search method, else a one-line error; `where` names the config key (' in sweep.methods')."""
    if method not in SEARCH_METHODS:
        raise O1Error(f"unknown search method {method!r}{where}; allowed: {', '.join(SEARCH_METHODS)}")
    return method


def is_deterministic(method: str, options: dict | None = None) -> bool:
    """Does `method` give the same answer whatever the generator? Then repeating it on a prompt repeats one draw.

    greedy never draws; beam search draws only when it samples its steps (`sample_steps: true`); MCTS only with
    sampled rollouts (`rollout: sample`).
    """
    check_method(method)
    if method == "mcts":
        return (options or {}).get("rollout", "greedy") == "greedy"
    if method == "beam":
        return not (options or {}).get("sample_steps", False)
    return method == "greedy"


def method_options(method: str) -> list[str]:
    """The keyword options a method takes beyond the shared arguments."""
    signature = inspect.signature(SEARCH_METHODS[method])
    return [name for name, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def run_search(
    method: str,
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer | Callable[[str, str], float] | None = None,
    generator: Generators = None,
    **options,
) -> list[SearchResult]:
    """Run search method `method` on every prompt within `budget` token-steps per problem; one result per prompt."""
    check_method(method)
    allowed = method_options(method)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise O1Error(f"search method {method!r} has no option {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return SEARCH_METHODS[method](policy, tokenizer, task, prompts, budget, scorer, generator, **options)
