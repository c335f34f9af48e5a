"""The task interface: prompts, a verifier, a step checker and demonstrations."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from o1_lightning.tasks.verdicts import StepVerdicts


class Task(ABC):
    """A verifiable text task: the policy reads a prompt, then writes a completion of steps.

    `vocab` holds every character that can appear in a prompt or a completion; the policy adds its own
    special tokens (pad, begin, end). `max_length` bounds a completion in characters (the end token excluded).
    """

    vocab: str
    max_length: int
    can_stop: bool = True  # False: every completion is exactly max_length characters (no end token)

    @abstractmethod
    def sample_prompts(self, n: int, generator: torch.Generator) -> list[str]:
        """Draw `n` prompts with the given generator (the only source of randomness)."""

    @abstractmethod
    def outcome(self, prompt: str, completion: str) -> bool:
        """The verifier: is `completion` a correct solution of `prompt`?"""

    def steps(self, completion: str) -> list[str]:
        """Split a completion into reasoning steps; the pieces concatenate back to `completion`."""
        return list(completion)

    @abstractmethod
    def process(self, prompt: str, completion: str) -> list[bool]:
        """The step checker: one bool per element of `steps(completion)`, is that step correct?"""

    def mistakes(self, prompt: str, completion: str) -> int:
        """How many steps are wrong (the seed's outcome penalty counts these)."""
        return sum(not ok for ok in self.process(prompt, completion))

    def answer(self, completion: str) -> str | None:
        """The final answer a completion commits to (majority vote groups by it); None if there is none."""
        return completion

    @abstractmethod
    def demonstrate(self, prompt: str) -> str:
        """A correct completion of `prompt`, for supervised warm starts."""

    def character_correctness(self, char_ids: torch.Tensor) -> torch.Tensor | None:
        """Vectorised step checker for fixed-length tasks whose every character is a step.

        (B, L) vocab indices of whole completions -> (B, L) bool, or None when the task has no such fast path
        (then rewards are computed one episode at a time from `process`).
        """
        return None

    def verify_tokens(
        self, prompts: list[str], rows: torch.Tensor, char_ids: torch.Tensor, num_chars: torch.Tensor
    ) -> StepVerdicts | None:
        """The verifier and step checker on tensors, on `char_ids`' device, with no Python loop over completions.

        `prompts` are the distinct prompts, `rows` (B,) the prompt of each completion, `char_ids` (B, L) vocab
        indices of the completions (negative past their end) and `num_chars` (B,) their lengths in characters.
        None: this task verifies strings only (rewards then go one episode at a time through `process`).
        """
        return None

    def check_prompt(self, prompt: str) -> None:
        """Raise O1Error if this task cannot parse `prompt` (every prompt is accepted by default)."""
        return None
