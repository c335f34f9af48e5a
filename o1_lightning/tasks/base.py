"""The task interface: prompts, a verifier, a step checker and demonstrations."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks.split import check_split, prompt_split
from o1_lightning.tasks.verdicts import StepVerdicts

# Draws in a row that miss the wanted split before sampling gives up: 0.9**10_000 is nil for any space with an eval
# slice, so this only ends a space too small to have one (reached in well under a second).
MAX_MISSES = 10_000


class Task(ABC):
    """A verifiable text task: the policy reads a prompt, then writes a completion of steps.

    `vocab` holds every character that can appear in a prompt or a completion; the policy adds its own
    special tokens (pad, begin, end). `max_length` bounds a completion in characters (the end token excluded).
    """

    vocab: str
    max_length: int
    can_stop: bool = True  # False: every completion is exactly max_length characters (no end token)

    @abstractmethod
    def draw_prompt(self, generator: torch.Generator) -> str:
        """One prompt from the whole prompt space, drawn with `generator` (the only source of randomness)."""

    def sample_prompts(self, n: int, generator: torch.Generator, split: str = "train") -> list[str]:
        """Draw `n` prompts of one split of the prompt space (tasks/split.py): "train" to learn, "eval" to measure.

        Draws from the whole space and keeps those of `split` (rejection), so each split keeps the task's own
        distribution restricted to it. O1Error if the space seems to have no prompt of `split` at all.
        """
        check_split(split)
        prompts, misses = [], 0
        while len(prompts) < n:
            prompt = self.draw_prompt(generator)
            if prompt_split(prompt) == split:
                prompts.append(prompt)
                misses = 0
                continue
            misses += 1
            if misses >= MAX_MISSES:
                raise O1Error(
                    f"{type(self).__name__} drew {MAX_MISSES} prompts in a row outside the {split!r} split: its "
                    "prompt space is too small to hold out an evaluation slice; use a larger space"
                )
        return prompts

    @abstractmethod
    def outcome(self, prompt: str, completion: str) -> bool:
        """The verifier: is `completion` a correct solution of `prompt`?"""

    def steps(self, completion: str) -> list[str]:
        """Split a completion into reasoning steps; the pieces concatenate back to `completion`."""
        return list(completion)

    @abstractmethod
    def process(self, prompt: str, completion: str) -> list[bool]:
        """The step checker: one bool per element of `steps(completion)`, is that step correct?"""

    def progress(self, prompt: str, completion: str) -> list[bool]:
        """One bool per step: is it correct and can a correct completion still be finished after it? Where every
        correct step keeps the goal in reach (addition, a target string) that is the step checker itself."""
        return self.process(prompt, completion)

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
