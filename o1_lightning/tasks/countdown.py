"""Countdown: combine some of the given numbers with + - * / to reach a target, one checkable step at a time.

Prompt: the numbers, comma-separated, then ">" and the target, e.g. "3,5,7,11>24".
Completion: steps "a<op>b=c;" (each ends with ';'), op in + - * /, e.g. "7*5=35;35-11=24;". A step consumes a and
b from the pool (the numbers, then the results of earlier correct steps, each usable once) and adds c to it. A step
is correct iff it is well-formed (decimal, no leading zeros), a and b are in the pool and c is exact: subtraction
must not go below zero, division must be exact with a nonzero divisor. A wrong step leaves the pool as it was.
The verifier (`outcome`): every step is correct and the last step's result is the target. Using every number is not
required (as in TinyZero's Countdown and Game-of-24 variants); sampled targets always need at least two steps.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache

import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks.base import Task

NUMBER = r"(0|[1-9][0-9]*)"
PROMPT = re.compile(r"(0|[1-9][0-9]*(?:,(?:0|[1-9][0-9]*))*)>" + NUMBER)
STEP = re.compile(NUMBER + r"([-+*/])" + NUMBER + "=" + NUMBER + ";")
MAX_NUMBER = 100

Step = tuple[int, str, int, int]  # a, op, b, c


def apply(a: int, op: str, b: int) -> int | None:
    """The exact non-negative result of `a op b`, or None where the step is not allowed."""
    if op == "+":
        return a + b
    if op == "*":
        return a * b
    if op == "-":
        return a - b if a >= b else None
    return a // b if b and a % b == 0 else None


def moves(pool: tuple[int, ...]) -> Iterator[tuple[Step, tuple[int, ...]]]:
    """Each distinct valid step on a sorted pool (larger operand first), with the sorted pool it leaves."""
    seen = set()
    for i in range(len(pool)):
        for j in range(i + 1, len(pool)):
            if (pool[i], pool[j]) in seen:
                continue
            seen.add((pool[i], pool[j]))
            rest = pool[:i] + pool[i + 1 : j] + pool[j + 1 :]
            for op in "+-*/":
                c = apply(pool[j], op, pool[i])
                if c is not None:
                    yield (pool[j], op, pool[i], c), tuple(sorted((*rest, c)))


@lru_cache(maxsize=2**15)  # about 35 MB when full
def reachable(pool: tuple[int, ...], depth: int) -> frozenset[int]:
    """The results that 1..depth steps on a sorted pool can produce (memoised across instances)."""
    values: set[int] = set()
    if depth > 0:
        for step, rest in moves(pool):
            values.add(step[3])
            values |= reachable(rest, depth - 1)
    return frozenset(values)


def _path(pool: tuple[int, ...], target: int, depth: int) -> list[Step]:
    """Steps reaching `target` within `depth` steps, which `reachable` has said exist."""
    for step, rest in moves(pool):
        if step[3] == target:
            return [step]
        if depth > 1 and target in reachable(rest, depth - 1):
            return [step, *_path(rest, target, depth - 1)]
    raise AssertionError(f"no path to {target} from {pool}")


def solve(numbers: Sequence[int], target: int) -> str | None:
    """A shortest completion reaching `target` from `numbers` by exhaustive search, or None if there is none."""
    pool = tuple(sorted(numbers))
    for depth in range(1, len(pool)):
        if target in reachable(pool, depth):
            return "".join(f"{a}{op}{b}={c};" for a, op, b, c in _path(pool, target, depth))
    return None


def parse_step(piece: str) -> Step | None:
    """(a, op, b, c) of a step "a<op>b=c;", or None if it is malformed."""
    match = STEP.fullmatch(piece)
    if match is None:
        return None
    a, op, b, c = match.groups()
    return int(a), op, int(b), int(c)


def max_completion_length(num_numbers: int, max_number: int) -> int:
    """Longest possible correct completion: each step merges two groups of numbers; k numbers make at most M**k."""

    def cost(i: int, j: int) -> int:
        return len(str(max_number**i)) + len(str(max_number**j)) + len(str(max_number ** (i + j))) + 3

    tree = [0, 0]  # tree[k]: longest steps merging k numbers into one
    for k in range(2, num_numbers + 1):
        tree.append(max(tree[i] + tree[k - i] + cost(i, k - i) for i in range(1, k)))
    forest = [0]  # forest[n]: longest steps over groups using n numbers in all
    for n in range(1, num_numbers + 1):
        forest.append(max(tree[k] + forest[n - k] for k in range(1, n + 1)))
    return forest[num_numbers]


class CountdownTask(Task):
    """Reach a target from num_numbers numbers in 1..max_number; every sampled instance is solvable."""

    vocab = "0123456789+-*/=;,>"
    can_stop = True

    def __init__(self, num_numbers: int = 4, max_number: int = 13, max_target: int = 100) -> None:
        if not 3 <= num_numbers <= 5:
            raise O1Error(f"num_numbers={num_numbers} is out of range: allowed 3..5")
        if not 2 <= max_number <= MAX_NUMBER:
            raise O1Error(f"max_number={max_number} is out of range: allowed 2..{MAX_NUMBER}")
        if max_target < max(3, max_number):
            raise O1Error(
                f"max_target={max_target} is too small: allowed at least max(3, max_number) = {max(3, max_number)}"
            )
        self.num_numbers = num_numbers
        self.max_number = max_number
        self.max_target = max_target
        self.max_length = max_completion_length(num_numbers, max_number)

    def _draw(self, generator: torch.Generator) -> tuple[list[int], int]:
        """Numbers, and the result of combining all of them by random valid steps (so it is reachable)."""
        numbers = torch.randint(1, self.max_number + 1, (self.num_numbers,), generator=generator).tolist()
        pool = list(numbers)
        while len(pool) > 1:
            i, j = torch.randperm(len(pool), generator=generator)[:2].tolist()
            a, b = max(pool[i], pool[j]), min(pool[i], pool[j])
            ops = [op for op in "+-*/" if apply(a, op, b) is not None]
            op = ops[int(torch.randint(len(ops), (1,), generator=generator))]
            pool = [x for k, x in enumerate(pool) if k not in (i, j)] + [apply(a, op, b)]
        return numbers, pool[0]

    def draw_prompt(self, generator: torch.Generator) -> str:
        """Redraw until the target is in 1..max_target and needs two steps or more (all ones reach 3, so it ends)."""
        while True:
            numbers, target = self._draw(generator)
            trivial = target in numbers or target in reachable(tuple(sorted(numbers)), 1)
            if 1 <= target <= self.max_target and not trivial:
                return ",".join(map(str, numbers)) + f">{target}"

    def parse(self, prompt: str) -> tuple[list[int], int]:
        """The numbers and target of a prompt "n1,n2,...>target"; O1Error if it is not of that form."""
        self.check_prompt(prompt)
        numbers, target = PROMPT.fullmatch(prompt).groups()
        return [int(x) for x in numbers.split(",")], int(target)

    def check_prompt(self, prompt: str) -> None:
        match = PROMPT.fullmatch(prompt)
        numbers = [int(x) for x in match.group(1).split(",")] if match else []
        if not (
            2 <= len(numbers) <= self.num_numbers
            and all(1 <= x <= self.max_number for x in numbers)
            and 1 <= int(match.group(2)) <= self.max_target
        ):
            raise O1Error(
                f"countdown prompt {prompt!r} is not of the form 'n1,n2,...>target' with 2..{self.num_numbers} "
                f"numbers in 1..{self.max_number} and a target in 1..{self.max_target}, e.g. '3,5,7,11>24'"
            )

    def steps(self, completion: str) -> list[str]:
        """Pieces ending in ';', then an unterminated rest (a wrong step) if any."""
        pieces = completion.split(";")
        return [piece + ";" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])

    def process(self, prompt: str, completion: str) -> list[bool]:
        numbers, _ = self.parse(prompt)
        return [result is not None for result, _ in self._walk(numbers, completion)]

    def progress(self, prompt: str, completion: str) -> list[bool]:
        """Per step: correct, and the target is still reachable after it (it is the step's result, or further steps
        on the pool left can make it: the solver decides). A valid step that loses the target is a wrong turn."""
        numbers, target = self.parse(prompt)
        return [
            result is not None and (result == target or self._can_make(target, pool))  # the solver only if correct
            for result, pool in self._walk(numbers, completion)
        ]

    @staticmethod
    def _can_make(target: int, pool: Counter) -> bool:
        """Can further steps on the numbers left in `pool` make `target`?"""
        left = tuple(sorted(pool.elements()))
        return len(left) > 1 and target in reachable(left, len(left) - 1)

    def _walk(self, numbers: list[int], completion: str) -> Iterator[tuple[int | None, Counter]]:
        """Per step: its result if it is correct (else None), and the pool after it (a wrong step leaves it be)."""
        pool = Counter(numbers)
        for piece in self.steps(completion):
            step = parse_step(piece)
            result = step[3] if step is not None and self._valid(step, pool) else None
            if result is not None:
                pool.subtract(step[:3:2])  # a and b
                pool[result] += 1
            yield result, pool

    @staticmethod
    def _valid(step: Step, pool: Counter) -> bool:
        """Are both operands in the pool (twice if equal) and is the result exact?"""
        a, op, b, c = step
        available = pool[a] >= 2 if a == b else pool[a] >= 1 and pool[b] >= 1
        return available and apply(a, op, b) == c

    def answer(self, completion: str) -> str | None:
        """The result of the last step, or None if the completion does not end with a well-formed step."""
        pieces = self.steps(completion)
        step = parse_step(pieces[-1]) if pieces else None
        return None if step is None else str(step[3])

    def outcome(self, prompt: str, completion: str) -> bool:
        _, target = self.parse(prompt)
        checks = self.process(prompt, completion)
        return bool(checks) and all(checks) and self.answer(completion) == str(target)

    def mistakes(self, prompt: str, completion: str) -> int:
        """Wrong steps, plus one if the completion does not end at the target (so stopping early is not free)."""
        _, target = self.parse(prompt)
        return super().mistakes(prompt, completion) + (self.answer(completion) != str(target))

    def demonstrate(self, prompt: str) -> str:
        numbers, target = self.parse(prompt)
        solution = solve(numbers, target)
        if solution is None:
            raise O1Error(f"countdown prompt {prompt!r} has no solution: no steps on {numbers} reach {target}")
        return solution
