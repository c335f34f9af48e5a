"""Building the policy a config names: the plain GRU, or the GRU whose head attends over its earlier states."""

from __future__ import annotations

from torch import nn

from o1_lightning.policy.attention_gru import AttentionGRUPolicy
from o1_lightning.policy.gru import GRUPolicy


def build_policy(
    vocab_size: int,
    embedding_dim: int,
    hidden_size: int,
    num_layers: int,
    value_head: bool = False,
    can_stop: bool = True,
    attention: bool = False,
    max_length: int = 64,
) -> nn.Module:
    """GRUPolicy, or AttentionGRUPolicy (`attention`; its memory holds a prompt plus `max_length` tokens)."""
    if attention:
        return AttentionGRUPolicy(
            vocab_size, embedding_dim, hidden_size, num_layers, value_head, can_stop, max_length=max_length
        )
    return GRUPolicy(vocab_size, embedding_dim, hidden_size, num_layers, value_head, can_stop)
