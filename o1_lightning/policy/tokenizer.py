"""Character tokenizer with the policy's special tokens."""

from __future__ import annotations

import torch

from o1_lightning.errors import O1Error

PAD, BOS, EOS = 0, 1, 2
SPECIALS = 3


class CharTokenizer:
    """Maps characters to ids after three specials: pad (0), begin (1), end (2)."""

    def __init__(self, vocab: str) -> None:
        self.vocab = vocab
        self.ids = {char: SPECIALS + i for i, char in enumerate(vocab)}

    @property
    def size(self) -> int:
        return SPECIALS + len(self.vocab)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.ids[char] for char in text]
        except KeyError as err:
            raise O1Error(f"text {text!r} has character {err.args[0]!r} outside the vocab {self.vocab!r}") from None

    def decode(self, ids: list[int]) -> str:
        """Characters up to the first end token; pad and begin are skipped."""
        chars = []
        for i in ids:
            if i == EOS:
                break
            if i >= SPECIALS:
                chars.append(self.vocab[i - SPECIALS])
        return "".join(chars)

    def encode_prompts(
        self, prompts: list[str], device: torch.device | str = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded (B, P) ids of BOS + prompt, and the (B,) lengths."""
        encoded = [[BOS, *self.encode(p)] for p in prompts]
        lengths = torch.tensor([len(e) for e in encoded])
        padded = torch.full((len(prompts), int(lengths.max())), PAD, dtype=torch.long)
        for row, ids in enumerate(encoded):
            padded[row, : len(ids)] = torch.tensor(ids)
        return padded.to(device), lengths
