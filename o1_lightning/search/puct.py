"""The pure tensor pieces of MCTS: PUCT scores, action selection, value backup and the most-visited path."""

from __future__ import annotations

import torch


def puct_scores(
    log_priors: torch.Tensor,
    visits: torch.Tensor,
    value_sums: torch.Tensor,
    node_visits: torch.Tensor,
    c_puct: float,
    fpu: float = 0.0,
) -> torch.Tensor:
    """(R, V) Q(s, a) + c_puct * P(s, a) * sqrt(max(N(s), 1)) / (1 + N(s, a)); -inf where the policy masks a.

    Q = W / N, or `fpu` (first-play urgency) for an unvisited action. N(s) is floored at 1 so that the priors
    order a node's first descent.
    """
    q = torch.where(visits > 0, value_sums / visits.clamp(min=1), torch.full_like(value_sums, fpu))  # (R, V)
    u = c_puct * log_priors.exp() * node_visits.clamp(min=1).sqrt().unsqueeze(-1) / (1 + visits)  # (R, V)
    return (q + u).masked_fill(torch.isneginf(log_priors), float("-inf"))


def select_actions(scores: torch.Tensor) -> torch.Tensor:
    """(R, V) scores -> (R,) argmax actions, ties to the lowest token id."""
    return scores.argmax(-1)


def backup(
    visits: torch.Tensor,
    value_sums: torch.Tensor,
    node_visits: torch.Tensor,
    problems: torch.Tensor,
    path_nodes: torch.Tensor,
    path_actions: torch.Tensor,
    path_lengths: torch.Tensor,
    leaves: torch.Tensor,
    values: torch.Tensor,
) -> None:
    """Add one visit and the (R,) `values` to every edge of each row's path, in place.

    visits, value_sums: (B, M, V); node_visits: (B, M); problems: (R,) tree of each row; path_nodes and
    path_actions: (R, D) edges from the root, the first path_lengths (R,) valid; leaves: (R,) node reached.
    """
    on_path = torch.arange(path_nodes.shape[1], device=path_nodes.device) < path_lengths.unsqueeze(1)  # (R, D)
    b = problems.unsqueeze(1).expand_as(path_nodes)[on_path]  # (E,)
    nodes, actions = path_nodes[on_path], path_actions[on_path]  # (E,)
    edge_values = values.unsqueeze(1).expand(path_nodes.shape)[on_path].to(value_sums.dtype)  # (E,)
    visits.index_put_((b, nodes, actions), torch.ones_like(edge_values), accumulate=True)
    value_sums.index_put_((b, nodes, actions), edge_values, accumulate=True)
    node_visits.index_put_((b, nodes), torch.ones_like(edge_values), accumulate=True)
    node_visits.index_put_((problems, leaves), torch.ones_like(values, dtype=node_visits.dtype), accumulate=True)


def most_visited_path(children: torch.Tensor, visits: torch.Tensor, max_depth: int) -> torch.Tensor:
    """(B,) last node of each tree's most-visited path from the root (ties to the lowest token id).

    children: (B, M, V) child node or -1; visits: (B, M, V). The walk stops at a node with no visited child.
    """
    batch = torch.arange(children.shape[0], device=children.device)
    node = torch.zeros_like(batch)
    for _ in range(max_depth):
        counts = visits[batch, node]  # (B, V)
        best = counts.argmax(-1)  # (B,)
        child = children[batch, node, best]
        move = (counts.gather(1, best.unsqueeze(1)).squeeze(1) > 0) & (child >= 0)
        if not bool(move.any()):
            break
        node = torch.where(move, child, node)
    return node
