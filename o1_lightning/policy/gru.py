"""GRU policy: prompt encoding, one-step sampling with a carried hidden state, teacher-forced scoring."""

from __future__ import annotations

from itertools import chain

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from o1_lightning.policy.shared_prefix import distinct_prefixes, prefix_levels, shared_prefix_features
from o1_lightning.policy.tokenizer import BOS, EOS, PAD


class GRUPolicy(nn.Module):
    """A character GRU with a token head and an optional value head.

    Every method returns action logits where pad and begin (and end, for fixed-length tasks) are masked out,
    so they are never sampled.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        value_head: bool = False,
        can_stop: bool = True,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.value = nn.Linear(hidden_size, 1) if value_head else None
        self.can_stop = can_stop
        self.register_buffer("action_bias", self._action_bias(vocab_size, can_stop), persistent=False)

    @staticmethod
    def _action_bias(vocab_size: int, can_stop: bool) -> torch.Tensor:
        bias = torch.zeros(vocab_size)
        bias[[PAD, BOS] if can_stop else [PAD, BOS, EOS]] = float("-inf")
        return bias

    def _logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features) + self.action_bias

    def forward(
        self, tokens: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced pass: (B, T) tokens -> (B, T, V) next-token logits and (B, T) values (or None).

        From a zero state the GRU runs once per distinct prefix (policy/shared_prefix.py): always on a CPU, where
        that step loop beats nn.GRU's even with nothing shared, and on an accelerator when it halves the steps
        (its fused nn.GRU is fast, so only sharing pays there). Same values, up to float rounding.
        """
        levels = prefix_levels(tokens) if hidden is None else None  # built once: to decide and to run
        if levels is not None and (tokens.device.type == "cpu" or distinct_prefixes(levels) <= tokens.numel() // 2):
            features = shared_prefix_features(self.gru, self.embedding, tokens, levels)  # (B, T, H)
        else:
            features, _ = self.gru(self.embedding(tokens), hidden)  # (B, T, H)
        values = self.value(features).squeeze(-1) if self.value is not None else None
        return self._logits(features), values

    def encode(self, prompt_tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Read right-padded prompts: (B, V) logits of the first completion token and the (L, B, H) hidden state."""
        packed = pack_padded_sequence(
            self.embedding(prompt_tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, hidden = self.gru(packed)  # (L, B, H), after each row's own last token
        return self._logits(hidden[-1]), hidden

    def step(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One token per row: (B,) tokens and (L, B, H) hidden -> (B, V) logits and the next hidden state."""
        features, hidden = self.gru(self.embedding(tokens).unsqueeze(1), hidden)
        return self._logits(features.squeeze(1)), hidden

    def state_value(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B,) value estimates of the states whose hidden is given (requires the value head)."""
        if self.value is None:
            raise RuntimeError("this policy has no value head")
        return self.value(hidden[-1]).squeeze(-1)


def log_probs_and_entropy(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of `actions` and entropies under `logits` (..., V), masked entries handled without NaN."""
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    probs = log_probs.exp()
    entropy = -(probs * log_probs.masked_fill(probs == 0, 0.0)).sum(-1)
    return chosen, entropy


def policy_device(policy: nn.Module) -> torch.device:
    """The device of the policy's first parameter or buffer (CPU for a module holding neither)."""
    tensor = next(chain(policy.parameters(), policy.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")
