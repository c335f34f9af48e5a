"""The seed's task: with an empty prompt, type a fixed target string."""

from __future__ import annotations

import string

import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks.base import Task
from o1_lightning.tasks.split import check_split
from o1_lightning.tasks.verdicts import StepVerdicts

DEFAULT_VOCAB = string.ascii_lowercase + " "


class TargetTask(Task):
    """Emit `target` exactly. Every character is a step; an episode lasts `len(target)` characters, as in the seed."""

    can_stop = False

    def __init__(self, target: str = "hello", vocab: str = DEFAULT_VOCAB) -> None:
        if not vocab:
            raise O1Error("task vocab is empty: give at least one character")
        if len(set(vocab)) != len(vocab):
            raise O1Error(f"task vocab {vocab!r} repeats a character: each character must appear once")
        if not target:
            raise O1Error("target is empty: give a string of at least one character from the vocab")
        outside = sorted(set(target) - set(vocab))
        if outside:
            raise O1Error(
                f"target {target!r} has characters outside the vocab: {''.join(outside)!r}; allowed: {vocab!r}"
            )
        self.target = target
        self.vocab = vocab
        self.max_length = len(target)

    def draw_prompt(self, generator: torch.Generator) -> str:
        return ""

    def sample_prompts(self, n: int, generator: torch.Generator, split: str = "train") -> list[str]:
        """The empty prompt, for either split: this task's space is that one prompt, so nothing can be held out.

        Training and evaluation both measure the one thing the task asks (type the target); an "eval" figure here
        is how reliably the policy types it, not how it generalises to unseen prompts.
        """
        check_split(split)
        return [""] * n

    def outcome(self, prompt: str, completion: str) -> bool:
        return completion == self.target

    def process(self, prompt: str, completion: str) -> list[bool]:
        return [i < len(self.target) and char == self.target[i] for i, char in enumerate(completion)]

    def mistakes(self, prompt: str, completion: str) -> int:
        # Missing characters count as wrong, as in the seed's per-character comparison.
        return super().mistakes(prompt, completion) + max(0, len(self.target) - len(completion))

    def character_correctness(self, char_ids: torch.Tensor) -> torch.Tensor:
        target_ids = torch.tensor([self.vocab.index(char) for char in self.target], device=char_ids.device)
        return char_ids == target_ids

    def verify_tokens(
        self, prompts: list[str], rows: torch.Tensor, char_ids: torch.Tensor, num_chars: torch.Tensor
    ) -> StepVerdicts:
        """Every character is a step, right where it equals the target's; every completion is full length."""
        correct = self.character_correctness(char_ids)  # (B, L)
        return StepVerdicts(torch.ones_like(correct), correct, correct.all(-1), (~correct).sum(-1))

    def demonstrate(self, prompt: str) -> str:
        return self.target

    def check_prompt(self, prompt: str) -> None:
        if prompt:
            raise O1Error(f"TargetTask takes an empty prompt, got {prompt!r}")
