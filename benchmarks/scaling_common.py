"""Shared pieces of the test-time compute benchmarks: method specs, runs over seeds, JSON lines and tables.

Every figure is measured once per seed (policy, reward models and search draws all seeded by it) on eval-split
prompts, and reported with its mean, 95% interval and the token-steps each method really spent.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from common import emit, format_ci, summarise
from stats import gap_closed, intervals_apart

from o1_lightning.app.reward_models.fit import fit_reward_models, scorers_of
from o1_lightning.app.reward_models.search_data import proposal_label_counts, search_proposals
from o1_lightning.search import Scorer, is_deterministic, run_search


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

    @property
    def deterministic(self) -> bool:
        """Its answer does not depend on the search's draws (greedy, beam, MCTS with greedy rollouts)."""
        return is_deterministic(self.method, self.options)


def with_width(spec: Spec, multiplier: int) -> Spec:
    """Beam search with width multiplier // 4 (at least 1) and 2 expansions.

    The beam's default width, budget // (expansions * max_length), lets its worst-case guard afford about one
    iteration on tasks with multi-character steps (it assumes every step may run to max_length), after which the
    beams are finished greedily; a quarter of that leaves room for the several steps a solution takes. A beam that
    samples its steps (`sample_steps`) then draws N = 2 x width = multiplier // 2 whole steps per iteration.
    """
    if spec.method != "beam" or "width" in spec.options:
        return spec
    return Spec(spec.label, spec.method, spec.scorer, {**spec.options, "width": max(1, multiplier // 4)}, spec.budgets)


def run_spec(spec: Spec, policy, tokenizer, task, prompts: list[str], budget: int, seed: int) -> dict:
    """One spec at one budget (token-steps per problem) on every prompt; the verifier grades the answers."""
    start = time.perf_counter()
    results = run_search(
        spec.method, policy, tokenizer, task, prompts, budget, spec.scorer, torch.Generator().manual_seed(seed),
        **spec.options,
    )  # fmt: skip
    assert all(r.compute <= budget for r in results), "a method overspent its budget"
    return {
        "accuracy": sum(task.outcome(r.prompt, r.completion) for r in results) / len(results),
        "token_steps": sum(r.compute for r in results) / len(results),
        "seconds": time.perf_counter() - start,
        "scorer": results[0].scorer,
        "oracle": results[0].oracle,
    }


class PhaseTimer:
    """Wall and CPU seconds per named phase of one seed (policy, reward models, search), summed over its uses."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            for kind, spent in [("wall", time.perf_counter() - wall), ("cpu", time.process_time() - cpu)]:
                key = f"{phase}_{kind}_seconds"
                self.seconds[key] = self.seconds.get(key, 0.0) + spent


def learned_search_verdict(prefix: str, specs: list[Spec], runs: list[dict], seeds: list[int], top: int) -> None:
    """Issue 10 item 3's test at budget `top`x: does the best search guided only by learned models beat greedy and
    majority vote with non-overlapping intervals, and close >= 50% of the greedy-to-oracle-best-of-N gap?

    `runs` holds one {(label, multiplier): run} per seed. For every learned-scorer spec, the per-seed fraction of
    the gap it closes, (acc - greedy) / (oracle best-of-N - greedy), is printed; then one verdict line for the spec
    with the best mean accuracy (chosen over seeds, not per seed, so the choice does not ride on one seed's noise).
    """

    def values(label: str, key: str = "accuracy") -> list[float]:
        return [seed_runs[(label, 1 if label == "greedy" else top)][key] for seed_runs in runs]

    greedy, majority = values("greedy"), values(next(s.label for s in specs if s.method == "majority" and not s.scorer))
    oracle_label = next(s.label for s in specs if s.method == "best_of_n" and s.oracle)
    oracle = values(oracle_label)
    learned = [s for s in specs if s.scorer is not None and not s.oracle]
    closed = {}
    for spec in learned:
        gaps = [gap_closed(a, g, o) for a, g, o in zip(values(spec.label), greedy, oracle)]
        closed[spec.label] = gaps
        if all(gap == gap for gap in gaps):
            emit(f"{prefix}_{slug(spec.label)}_{top}x_gap_closed", summarise(gaps, seeds), "fraction of gap",
                 budget_multiplier=top, reference=oracle_label, prompts_split="eval")  # fmt: skip
    best = max(learned, key=lambda s: sum(values(s.label)) / len(seeds))
    summaries = {
        name: summarise(vals, seeds, (0, 1))
        for name, vals in [("best", values(best.label)), ("greedy", greedy), ("majority", majority), ("oracle", oracle)]
    }
    verdict = {
        "best_learned": best.label,
        "best_learned_token_steps": summarise(values(best.label, "token_steps"), seeds)["mean"],
        "oracle_token_steps": summarise(values(oracle_label, "token_steps"), seeds)["mean"],
        **{f"{name}_accuracy": summary for name, summary in summaries.items()},
        "beats_greedy": intervals_apart(summaries["best"], summaries["greedy"]),
        "beats_majority": intervals_apart(summaries["best"], summaries["majority"]),
    }
    gaps = closed[best.label]
    if all(gap == gap for gap in gaps):
        verdict["gap_closed"] = summarise(gaps, seeds)
        verdict["closes_half_of_gap"] = verdict["gap_closed"]["mean"] >= 0.5
    emit(f"{prefix}_learned_search_{top}x_verdict", summaries["best"], "fraction", budget_multiplier=top, **verdict,
         goal="beats greedy and majority (non-overlapping intervals), closes >= 0.5 of the gap")  # fmt: skip


def slug(label: str) -> str:
    """A figure name's piece from a table label: 'best-of-N, PRM min' -> 'best-of-N_PRM_min'."""
    return label.replace(", ", "_").replace(" ", "_").replace("(", "").replace(")", "")


def emit_runs(prefix: str, spec: Spec, multiplier: int, runs: list[dict], seeds: list[int], **fields) -> dict:
    """Print accuracy and token-steps spent of one spec at one budget over seeds; the row for `table`."""
    meta = {"scorer": runs[0]["scorer"], "oracle": runs[0]["oracle"], "deterministic": spec.deterministic}
    meta |= {"budget_multiplier": multiplier, "prompts_split": "eval", **fields}
    name = f"{prefix}_{slug(spec.label)}_{multiplier}x"
    accuracy = emit(f"{name}_accuracy", summarise([r["accuracy"] for r in runs], seeds, (0, 1)), "fraction", **meta)
    spent = emit(f"{name}_token_steps", summarise([r["token_steps"] for r in runs], seeds), "token-steps", **meta)
    return {"accuracy": accuracy, "token_steps": spent, **meta}


def table(rows: dict[tuple[str, int], dict], specs: list[Spec], multipliers: list[int]) -> str:
    """Markdown: one row per spec (scorer, oracle, deterministic), one column per budget multiplier.

    A cell is 'accuracy mean [95% interval] @ token-steps spent': budgets are caps and some methods stop early.
    """
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
        label = spec.label + (" (deterministic)" if first["deterministic"] else "")
        cells = [
            f"{format_ci(mine[m]['accuracy'], 3, count_seeds=False)} @ {mine[m]['token_steps']['mean']:.0f}"
            if m in mine
            else ""
            for m in multipliers
        ]
        lines.append(f"| {label} | {scorer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nCells: accuracy mean [95% interval over seeds] @ mean token-steps spent.\n"


def retrained_prm(task, policy, prm: Scorer, fit: dict, seed: int, prompts: int, multiplier: int) -> tuple:
    """A second-round PRM: trained like the first on the policy's rollouts plus the answers that best-of-N and the
    sampled-step beam, both guided by the first PRM `prm` at `multiplier`x, pick on `prompts` fresh train-split
    prompts (labelled exactly). (scorer named prm_min_round2, its validation accuracy, what the proposals hold)."""
    generator = torch.Generator().manual_seed(seed * 1000 + 3)  # the rollouts' prompts use offsets 1 and 2
    train_prompts = task.sample_prompts(prompts, generator, "train")
    width = max(1, multiplier // 4)
    searches = [("best_of_n", {}), ("beam", {"sample_steps": True, "width": width})]
    proposals = search_proposals(policy, task, train_prompts, searches, multiplier * task.max_length, prm, seed)
    key = f"{fit['cache_key']}_prm_min_search{multiplier}x{prompts}"
    models = fit_reward_models(task, policy, kinds=("process",), extra_train=proposals, **{**fit, "cache_key": key})
    scorer = scorers_of(task, models, "min", suffix="_round2")["process"]
    return scorer, models["process"][1]["val/rm_accuracy"], proposal_label_counts(task, *proposals)


def add_retrained_prm_arguments(parser: argparse.ArgumentParser, prompts: str = "train prompts") -> None:
    """--retrained_prm and --retrain_sizes, the options of `retrained_prm` both sweeps share; `prompts` names
    which train prompts the searches pick on."""
    parser.add_argument(
        "--retrained_prm", action="store_true", help="also a PRM retrained on the picks of searches the first guides"
    )
    parser.add_argument(
        "--retrain_sizes", type=int, nargs=2, default=[2048, 64], metavar=("PROMPTS", "MULTIPLIER"),
        help=f"{prompts} the searches pick on, and their budget multiplier",
    )  # fmt: skip


def add_rm_attention_argument(parser: argparse.ArgumentParser) -> None:
    """--rm_attention, the reward models' attention size both sweeps take (0: the plain GRU they always had)."""
    parser.add_argument(
        "--rm_attention", type=int, default=0, metavar="SIZE",
        help="give the reward models a causal attention over their earlier states of this size (0: none)",
    )  # fmt: skip
