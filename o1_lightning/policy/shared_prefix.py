"""Teacher forcing over shared prefixes: rows that begin alike share one GRU state, computed once.

A batch of sampled episodes repeats its prefixes: every row starts with BOS, a group of `group_size` rows shares
its prompt, and a policy that has learnt something types the same first characters again and again. The hidden
state after a prefix depends only on that prefix, so the GRU runs once per distinct prefix (a trie, level by
level) and each row gathers its states from it. Gradients flow through the gathers, so they sum over the rows that
share a node, exactly as the separate rows' gradients would.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class PrefixLevel:
    """Depth t of the trie: U distinct prefixes of length t + 1, each a parent at depth t - 1 plus one token."""

    parent: torch.Tensor  # (U,) index of the node's prefix at depth t - 1 (0 at depth 0: the empty prefix)
    token: torch.Tensor  # (U,) the node's last token
    row_node: torch.Tensor  # (B,) each row's node at this depth


def prefix_levels(tokens: torch.Tensor) -> list[PrefixLevel]:
    """The trie of the rows' prefixes: (B, T) tokens -> T levels, one `torch.unique` over (B,) keys per level."""
    row_node = torch.zeros(tokens.shape[0], dtype=torch.long, device=tokens.device)  # (B,) all at the root
    width = int(tokens.max()) + 1 if tokens.numel() else 1
    levels = []
    for t in range(tokens.shape[1]):
        key = row_node * width + tokens[:, t]  # (B,) (parent, token) as one integer
        nodes, row_node = torch.unique(key, return_inverse=True)  # (U,), (B,)
        levels.append(PrefixLevel(nodes // width, nodes % width, row_node))
    return levels


def shared_prefix_features(
    gru: nn.GRU, inputs: nn.Embedding, tokens: torch.Tensor, levels: list[PrefixLevel] | None = None
) -> torch.Tensor:
    """The top layer's (B, T, H) outputs of `gru` over embedded `tokens`, from a zero state, one step per trie level
    (`levels`: the tokens' trie when the caller has built it already)."""
    layers = gru.num_layers
    weights = [
        [getattr(gru, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        for layer in range(layers)
    ]
    hidden = [tokens.new_zeros((1, gru.hidden_size), dtype=inputs.weight.dtype) for _ in range(layers)]  # (1, H)
    features = []
    for level in levels if levels is not None else prefix_levels(tokens):
        x = inputs(level.token)  # (U, E)
        for layer in range(layers):
            hidden[layer] = torch.gru_cell(x, hidden[layer][level.parent], *weights[layer])  # (U, H)
            x = hidden[layer]
        features.append(x[level.row_node])  # (B, H)
    return torch.stack(features, 1)  # (B, T, H)


def distinct_prefixes(levels: list[PrefixLevel]) -> int:
    """How many GRU steps the shared-prefix pass takes over a trie (B * T for rows that share nothing)."""
    return sum(len(level.token) for level in levels)
