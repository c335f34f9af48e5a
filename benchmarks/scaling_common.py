"""Shared pieces of the test-time compute benchmarks: method specs, accuracy runs, JSON lines and tables."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import torch

from o1_lightning.search import Scorer, run_search


@dataclass
class Spec:
    """One search configuration: a label for tables, the method, its scorer (or None) and options."""

    label: str
    method: str
    scorer: Scorer | None = None
    options: dict = field(default_factory=dict)
    budgets: list[int] | None = None  # multipliers this spec runs at (None: all)

    @property
    def oracle(self) -> bool:
        return bool(self.scorer is not None and self.scorer.oracle)


def with_width(spec: Spec, multiplier: int) -> Spec:
    """Beam search with width multiplier // 4 (at least 1) and 2 expansions.

    The beam's default width, budget // (expansions * max_length), lets its worst-case guard afford about one
    iteration on tasks with multi-character steps (it assumes every step may run to max_length), after which the
    beams are finished greedily; a quarter of that leaves room for the several steps a solution takes.
    """
    if spec.method != "beam" or "width" in spec.options:
        return spec
    return Spec(spec.label, spec.method, spec.scorer, {**spec.options, "width": max(1, multiplier // 4)}, spec.budgets)


def emit(name: str, value: float, unit: str, goal: str | None = None) -> None:
    line = {"name": name, "value": value, "unit": unit}
    if goal is not None:
        line["goal"] = goal
    print(json.dumps(line), flush=True)


def accuracy(spec: Spec, policy, tokenizer, task, prompts: list[str], budget: int, seed: int = 0) -> dict:
    """Run one spec at one budget (token-steps per problem) on every prompt; the verifier grades the answers."""
    start = time.perf_counter()
    results = run_search(
        spec.method,
        policy,
        tokenizer,
        task,
        prompts,
        budget,
        spec.scorer,
        torch.Generator().manual_seed(seed),
        **spec.options,
    )
    correct = [task.outcome(r.prompt, r.completion) for r in results]
    assert all(r.compute <= budget for r in results), "a method overspent its budget"
    return {
        "accuracy": sum(correct) / len(correct),
        "compute": sum(r.compute for r in results) / len(results),
        "seconds": time.perf_counter() - start,
        "scorer": results[0].scorer,
        "oracle": results[0].oracle,
    }


def table(rows: dict[tuple[str, int], dict], specs: list[Spec], multipliers: list[int]) -> str:
    """Markdown: one row per spec (its scorer, oracle or not), one column per budget multiplier."""
    lines = [
        "| method | scorer | " + " | ".join(f"{m}x" for m in multipliers) + " |",
        "|---|---|" + "---|" * len(multipliers),
    ]
    for spec in specs:
        mine = {m: rows[(spec.label, m)] for m in multipliers if (spec.label, m) in rows}
        if not mine:
            continue
        first = next(iter(mine.values()))
        scorer = first["scorer"] + (" (oracle)" if first["oracle"] else "")
        cells = [f"{mine[m]['accuracy']:.3f}" if m in mine else "" for m in multipliers]
        lines.append(f"| {spec.label} | {scorer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
