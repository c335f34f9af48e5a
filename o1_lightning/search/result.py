"""The per-problem outcome of a search method: what it chose, how it was scored and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SearchResult:
    """One problem's answer; `compute` is in policy token-steps (see `budget`), never above `budget`.

    `oracle` marks a scorer that reads the task's ground truth (verifier or step checker): search guided by it is
    puzzle-solving, not inference, and its numbers must not be compared with a non-oracle scorer's as such.
    """

    prompt: str
    completion: str
    score: float
    scorer: str
    oracle: bool
    compute: int
    budget: int
    method: str
    info: dict[str, float] = field(default_factory=dict)
