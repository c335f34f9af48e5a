"""Compute accounting in one unit, policy token-steps per problem, and the budget checks every method shares.

Rule: every token a method appends to any sequence it explores costs 1 token-step: each token of a sampled
completion, of a beam candidate (kept or discarded), of a rollout, and each MCTS tree node's own token; an end
token counts when emitted. Producing a token takes at most one GRU step on its sequence because hidden states are
carried (a sequence's first token reuses the prompt's encoding). The prompt encoding (BOS + prompt, once per
problem, shared by every candidate and the same for every method) is not charged. So one completion of n tokens
costs n, and best-of-N costs the sum of its N lengths (N * max_length on fixed-length tasks).
"""

from __future__ import annotations

from o1_lightning.errors import O1Error


def check_budget(method: str, budget: int, max_length: int) -> None:
    """Every method must be able to afford one full completion (max_length token-steps)."""
    if not isinstance(budget, int) or budget < max_length:
        raise O1Error(
            f"budget {budget!r} token-steps is below one completion ({max_length}) for search method {method!r}; "
            f"give an integer budget >= {max_length}"
        )


def completions_in_budget(method: str, budget: int, max_length: int, n: int | None) -> int:
    """N for sampling methods: `n` if given (it must fit: n * max_length <= budget), else budget // max_length."""
    check_budget(method, budget, max_length)
    if n is None:
        return budget // max_length
    if n < 1 or n * max_length > budget:
        raise O1Error(
            f"{method} with n={n} needs up to {n} * {max_length} token-steps, above budget {budget}; "
            f"give 1 <= n <= {budget // max_length} or leave n unset"
        )
    return n
