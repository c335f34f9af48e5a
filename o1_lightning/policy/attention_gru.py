"""A GRU policy whose output attends over its own earlier states, the prompt's included.

Why: a plain GRU must carry every prompt character in one state until it is needed (8-digit addition keeps 16
digits and gives them back in reverse); here the head can look each one up. The recurrence is the plain GRU's,
so teacher-forced scoring stays one cuDNN/CPU GRU pass plus a causal attention; the model sees no prompt
boundary (the Rollout layout has none), so it attends over the whole prefix, prompt and completion so far.
Scores are Luong's multiplicative ones (query . key / sqrt(d)), not Bahdanau's additive ones: additive scoring
builds a (B, T, T, A) tensor, 128 MB per pass for 8-digit addition at batch 32, on a CPU.

The state of `encode`/`step` is one tensor (L + M + 1, B, H), so HiddenStepper's row indexing works unchanged:
rows 0..L-1 the GRU hidden, rows L..L+M-1 the memory of GRU outputs (M = longest prompt + 1 + max_length), and
the last row holding in [..., 0] how many memory slots each sequence has filled.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from o1_lightning.policy.tokenizer import BOS, EOS, PAD


def causal_attention(
    queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """(B, Q, A) queries, (B, M, A) keys, (B, M, H) values, (B, Q, M) bool mask -> (B, Q, H) contexts.

    Scaled dot-product weights; masked-out slots get none (every query must see at least one slot).
    """
    scores = queries @ keys.transpose(1, 2) / keys.shape[-1] ** 0.5  # (B, Q, M)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # (B, Q, M)
    return weights @ values  # (B, Q, H)


def causal_mask(tokens: torch.Tensor) -> torch.Tensor:
    """(B, T, T) bool mask for (B, T) tokens: position i sees positions <= i."""
    length = tokens.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).tril()  # (T, T)
    return causal.expand(tokens.shape[0], -1, -1)


def attention_features(
    outputs: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor, query: nn.Linear, key: nn.Linear
) -> torch.Tensor:
    """(B, Q, H) outputs attending over (B, M, H) memory under (B, Q, M) mask -> (B, Q, 2H) [outputs; context]."""
    context = causal_attention(query(outputs), key(memory), memory, mask)
    return torch.cat([outputs, context], dim=-1)


class AttentionGRUPolicy(nn.Module):
    """GRUPolicy's interface (forward, encode, step, state_value); the head reads [GRU output; attention context].

    Logits mask pad and begin (and end, for fixed-length tasks), as GRUPolicy's do.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        value_head: bool = False,
        can_stop: bool = True,
        max_length: int = 64,
        attention_size: int = 64,
    ) -> None:
        super().__init__()
        self.max_length = max_length
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.query = nn.Linear(hidden_size, attention_size, bias=False)
        self.key = nn.Linear(hidden_size, attention_size, bias=False)
        self.head = nn.Linear(2 * hidden_size, vocab_size)
        self.value = nn.Linear(2 * hidden_size, 1) if value_head else None
        bias = torch.zeros(vocab_size)
        bias[[PAD, BOS] if can_stop else [PAD, BOS, EOS]] = float("-inf")
        self.register_buffer("action_bias", bias, persistent=False)

    def _logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features) + self.action_bias

    def _features(self, outputs: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, Q, H) outputs attending over (B, M, H) memory under (B, Q, M) mask -> (B, Q, 2H) head features."""
        return attention_features(outputs, memory, mask, self.query, self.key)

    def forward(
        self, tokens: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced pass: (B, T) tokens -> (B, T, V) logits and (B, T) values (or None); causal attention."""
        if hidden is not None:
            raise ValueError("AttentionGRUPolicy.forward starts from the beginning of the sequence (hidden=None)")
        outputs, _ = self.gru(self.embedding(tokens))  # (B, T, H)
        features = self._features(outputs, outputs, causal_mask(tokens))  # (B, T, 2H)
        values = self.value(features).squeeze(-1) if self.value is not None else None
        return self._logits(features), values

    def encode(self, prompt_tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Read right-padded prompts: (B, V) logits of the first completion token and the (L + M + 1, B, H) state."""
        packed = pack_padded_sequence(
            self.embedding(prompt_tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        packed_outputs, hidden = self.gru(packed)  # hidden: (L, B, H)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True)  # (B, P, H)
        batch, prompt_length, size = outputs.shape
        memory = outputs.new_zeros(batch, prompt_length + 1 + self.max_length, size)  # (B, M, H)
        memory[:, :prompt_length] = outputs
        count = outputs.new_zeros(batch, size)
        count[:, 0] = lengths.to(outputs.device).float()
        state = torch.cat([hidden, memory.transpose(0, 1), count.unsqueeze(0)], dim=0)  # (L + M + 1, B, H)
        return self._logits(self._last_features(hidden[-1], state)), state

    def _last_features(self, output: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """(B, H) newest output attending over the state's filled memory -> (B, 2H)."""
        layers = self.gru.num_layers
        memory = state[layers:-1].transpose(0, 1)  # (B, M, H)
        count = state[-1, :, 0].long()  # (B,)
        mask = torch.arange(memory.shape[1], device=state.device) < count.unsqueeze(1)  # (B, M)
        return self._features(output.unsqueeze(1), memory, mask.unsqueeze(1)).squeeze(1)

    def step(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One token per row: (B,) tokens and the (L + M + 1, B, H) state -> (B, V) logits and the next state."""
        layers = self.gru.num_layers
        output, gru_hidden = self.gru(self.embedding(tokens).unsqueeze(1), hidden[:layers].contiguous())
        output = output.squeeze(1)  # (B, H)
        count = hidden[-1, :, 0].long()  # (B,)
        if int(count.max()) >= hidden.shape[0] - layers - 1:
            raise RuntimeError(
                f"AttentionGRUPolicy memory is full: sequences are limited to max_length {self.max_length}"
            )
        state = hidden.clone()
        state[:layers] = gru_hidden
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        state[layers + count, rows] = output
        state[-1, :, 0] += 1
        return self._logits(self._last_features(output, state)), state

    def state_value(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B,) value estimates of the states whose (L + M + 1, B, H) state is given (requires the value head)."""
        if self.value is None:
            raise RuntimeError("this policy has no value head")
        layers = self.gru.num_layers
        count = hidden[-1, :, 0].long()  # (B,)
        rows = torch.arange(hidden.shape[1], device=hidden.device)
        newest = hidden[layers + count - 1, rows]  # (B, H): the last output written
        return self.value(self._last_features(newest, hidden)).squeeze(-1)
