"""The policy as search sees it: a state per sequence, advanced by one GRU step per appended token."""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from o1_lightning.policy.gru import policy_device
from o1_lightning.policy.gru_step import full_precision, step_function
from o1_lightning.policy.tokenizer import CharTokenizer


class Stepper(Protocol):
    """What search needs from a policy; states are opaque row-indexed batches (one row per sequence)."""

    policy: nn.Module
    device: torch.device

    def start(self, prompts: list[str]) -> tuple[torch.Tensor, Any]: ...

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]: ...

    def take(self, state: Any, rows: torch.Tensor) -> Any: ...

    def put(self, table: Any, rows: torch.Tensor, state: Any) -> None: ...

    def table(self, state: Any, size: int) -> Any: ...


class HiddenStepper:
    """States are GRU hidden tensors (L, R, H): appending a token is one `policy.step`, the prefix is never re-run.

    Algorithms touch states only through these five methods, so a baseline with another state (the benchmark's
    prefix re-running one) runs the very same search code.
    """

    def __init__(self, policy: nn.Module, tokenizer: CharTokenizer) -> None:
        self.policy = policy
        self.tokenizer = tokenizer
        self.device = policy_device(policy)
        self.step_tokens = policy.step

    def start(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, V) logits of each prompt's first completion token and the (L, B, H) state after BOS + prompt."""
        tokens, lengths = self.tokenizer.encode_prompts(prompts, self.device)
        self.step_tokens = step_function(self.policy)  # the weights as they are now: a search does not train
        with full_precision(self.device):
            return self.policy.encode(tokens, lengths)

    def step(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append (R,) tokens: (R, V) next logits and the (L, R, H) state after them."""
        with full_precision(self.device):
            return self.step_tokens(tokens, state)

    def take(self, state: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """A new state holding `rows` (repeats allowed) of `state`."""
        return state[:, rows]  # (L, len(rows), H)

    def put(self, table: torch.Tensor, rows: torch.Tensor, state: torch.Tensor) -> None:
        """Write `state`'s rows into `table` at `rows`, in place."""
        table[:, rows] = state

    def table(self, state: torch.Tensor, size: int) -> torch.Tensor:
        """Empty storage for `size` states shaped like `state`'s rows."""
        return state.new_zeros(state.shape[0], size, *state.shape[2:])  # (L, size, H)
