"""A rollout's prompts and completions as text, made only for the rows that are read (logged samples, probes)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import torch

from o1_lightning.policy.tokenizer import CharTokenizer


class PromptsByRow(Sequence):
    """Row i's prompt, `prompts[rows[i]]`: B episodes' prompts without a Python list of B strings."""

    def __init__(self, prompts: list[str], rows: torch.Tensor) -> None:
        self.prompts, self.rows = prompts, rows  # (B,) index into prompts

    def __len__(self) -> int:
        return self.rows.shape[0]

    @cached_property
    def row_list(self) -> list[int]:
        return self.rows.tolist()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.prompts[i] for i in self.rows[index].tolist()]
        return self.prompts[self.row_list[index]]


class DecodedCompletions(Sequence):
    """Row i's completion decoded from (B, L) tokens when it is read."""

    def __init__(self, tokenizer: CharTokenizer, tokens: torch.Tensor) -> None:
        self.tokenizer, self.tokens = tokenizer, tokens

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.tokenizer.decode(row) for row in self.tokens[index].tolist()]
        return self.tokenizer.decode(self.tokens[index].tolist())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented
