"""Multi-digit addition with a column-by-column scratchpad, so each carry can be checked as a step.

Prompt: "a+b=", e.g. "47+85=" (decimal, no leading zeros except the number 0).
Completion: one step per column, least significant first, then the answer step:
  column step  "<digit of a><digit of b><carry in>=<carry out><sum digit>;"  (7 characters; a digit beyond
               the shorter operand is 0), i.e. "a + b + carry = column total" in two digits;
  answer step  "=" followed by a+b.
Example: "47+85=" -> "750=12;481=13;=132" (7+5+0=12, 4+8+1=13, answer 132).
The verifier (`outcome`) is an outcome verifier: it checks only the answer step, not the scratchpad.
"""

from __future__ import annotations

import re

import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks.base import Task
from o1_lightning.tasks.scratchpad_verdicts import COLUMN_WIDTH, scratchpad_verdicts
from o1_lightning.tasks.verdicts import StepVerdicts

MAX_DIGITS = 12
NUMBER = r"(0|[1-9][0-9]*)"
PROMPT = re.compile(NUMBER + r"\+" + NUMBER + "=")
ANSWER = re.compile(r"=" + NUMBER)


def column_steps(a: int, b: int) -> list[str]:
    """The true scratchpad of a+b: one "<a><b><carry in>=<carry out><sum digit>;" step per column."""
    steps, carry = [], 0
    for column in range(max(len(str(a)), len(str(b)))):
        da, db = a // 10**column % 10, b // 10**column % 10
        total = da + db + carry
        steps.append(f"{da}{db}{carry}={total // 10}{total % 10};")
        carry = total // 10
    return steps


class AdditionTask(Task):
    """Add two numbers of min_digits..max_digits digits each, writing the carries column by column."""

    vocab = "0123456789+=;"
    can_stop = True

    def __init__(self, min_digits: int = 1, max_digits: int = 3) -> None:
        if not 1 <= max_digits <= MAX_DIGITS:
            raise O1Error(f"max_digits={max_digits} is out of range: allowed 1..{MAX_DIGITS}")
        if not 1 <= min_digits <= max_digits:
            raise O1Error(f"min_digits={min_digits} is out of range: allowed 1..max_digits ({max_digits})")
        self.min_digits = min_digits
        self.max_digits = max_digits
        # max_digits column steps of 7 characters, then "=" and an answer of up to max_digits + 1 digits.
        self.max_length = 7 * max_digits + 1 + max_digits + 1

    def _operand(self, generator: torch.Generator) -> int:
        """A number whose digit count is uniform in [min_digits, max_digits], without leading zeros."""
        digits = int(torch.randint(self.min_digits, self.max_digits + 1, (1,), generator=generator))
        low = 0 if digits == 1 else 10 ** (digits - 1)
        return int(torch.randint(low, 10**digits, (1,), generator=generator))

    def draw_prompt(self, generator: torch.Generator) -> str:
        a = self._operand(generator)
        return f"{a}+{self._operand(generator)}="

    def parse(self, prompt: str) -> tuple[int, int]:
        """The operands of a prompt "a+b="; O1Error if it is not of that form."""
        self.check_prompt(prompt)
        a, b = PROMPT.fullmatch(prompt).groups()
        return int(a), int(b)

    def check_prompt(self, prompt: str) -> None:
        match = PROMPT.fullmatch(prompt)
        if match is None or any(len(number) > self.max_digits for number in match.groups()):
            raise O1Error(
                f"addition prompt {prompt!r} is not of the form 'a+b=' with a and b of 1..{self.max_digits} digits "
                "(no leading zeros), e.g. '47+85='"
            )

    def steps(self, completion: str) -> list[str]:
        """Pieces ending in ';' (column steps), then the rest (the answer step) if any."""
        pieces = completion.split(";")
        return [piece + ";" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])

    def answer(self, completion: str) -> str | None:
        """The digits of the final answer step "=<sum>", or None if the completion does not end with one."""
        pieces = self.steps(completion)
        match = ANSWER.fullmatch(pieces[-1]) if pieces else None
        return match.group(1) if match else None

    def outcome(self, prompt: str, completion: str) -> bool:
        a, b = self.parse(prompt)
        return self.answer(completion) == str(a + b)

    def process(self, prompt: str, completion: str) -> list[bool]:
        """Column step k is right iff it equals the true column k; the last piece, if unterminated, is the answer."""
        a, b = self.parse(prompt)
        truth = column_steps(a, b)
        pieces = self.steps(completion)
        checks = [k < len(truth) and piece == truth[k] for k, piece in enumerate(pieces)]
        if pieces and not pieces[-1].endswith(";"):
            checks[-1] = pieces[-1] == f"={a + b}"
        return checks

    def mistakes(self, prompt: str, completion: str) -> int:
        """Wrong steps plus missing ones (columns not written, no answer), so stopping early is not free."""
        a, b = self.parse(prompt)
        pieces = self.steps(completion)
        columns = sum(piece.endswith(";") for piece in pieces)
        has_answer = bool(pieces) and not pieces[-1].endswith(";")
        missing = max(0, len(column_steps(a, b)) - columns) + (not has_answer)
        return super().mistakes(prompt, completion) + missing

    def verify_tokens(
        self, prompts: list[str], rows: torch.Tensor, char_ids: torch.Tensor, num_chars: torch.Tensor
    ) -> StepVerdicts:
        """`outcome`, `process` and `mistakes` on tensors; the truth is built once per distinct prompt."""
        truths = [self.parse(prompt) for prompt in prompts]
        columns = [[[self.vocab.index(c) for c in step] for step in column_steps(a, b)] for a, b in truths]
        answers = [[self.vocab.index(c) for c in f"={a + b}"] for a, b in truths]
        column_table = torch.full((len(prompts), self.max_digits, COLUMN_WIDTH), -9, dtype=torch.long)
        answer_table = torch.full((len(prompts), self.max_digits + 2), -9, dtype=torch.long)
        for index, (steps, answer) in enumerate(zip(columns, answers)):
            column_table[index, : len(steps)] = torch.tensor(steps, dtype=torch.long)
            answer_table[index, : len(answer)] = torch.tensor(answer, dtype=torch.long)
        counts = torch.tensor([[len(steps), len(answer)] for steps, answer in zip(columns, answers)])  # (P, 2)
        device = char_ids.device
        column_table, answer_table, counts = column_table.to(device), answer_table.to(device), counts.to(device)
        return scratchpad_verdicts(
            char_ids,
            num_chars,
            self.vocab.index(";"),
            column_table[rows],
            counts[rows, 0],
            answer_table[rows],
            counts[rows, 1],
        )

    def demonstrate(self, prompt: str) -> str:
        a, b = self.parse(prompt)
        return "".join(column_steps(a, b)) + f"={a + b}"
