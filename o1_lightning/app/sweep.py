"""Test-time scaling: every search method at several budgets on held-out prompts, accuracy against compute."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

from o1_lightning.app.distributed import gather_objects, rank_and_world_size
from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.names import check_scorer_name, make_scorer
from o1_lightning.search import run_search
from o1_lightning.search.registry import check_method
from o1_lightning.tasks import Task

DEFAULT_SCORERS = {"greedy": "none", "sampling": "none", "best_of_n": "outcome", "majority": "none"}
DEFAULT_SCORERS |= {"beam": "process", "mcts": "outcome"}


@dataclass
class SweepRow:
    """One method at one budget: accuracy over the prompts and the compute it really spent."""

    method: str
    budget: int
    accuracy: float
    mean_compute: float
    scorer: str
    oracle: bool


def sweep(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    methods: list[str],
    budgets: list[int],
    scorers: dict[str, str],
    seed: int = 0,
    options: dict[str, dict[str, Any]] | None = None,
) -> list[SweepRow]:
    """Run each method at each budget (token-steps per problem) and verify its answers with the task."""
    rows = []
    for method in methods:
        scorer = make_scorer(scorers.get(method, DEFAULT_SCORERS[method]), task, policy, tokenizer)
        for budget in budgets:
            generator = torch.Generator().manual_seed(seed)
            method_options = (options or {}).get(method, {})
            results = run_search(method, policy, tokenizer, task, prompts, budget, scorer, generator, **method_options)
            correct = [task.outcome(r.prompt, r.completion) for r in results]
            rows.append(
                SweepRow(
                    method=method,
                    budget=budget,
                    accuracy=sum(correct) / len(correct),
                    mean_compute=sum(r.compute for r in results) / len(results),
                    scorer=results[0].scorer,
                    oracle=results[0].oracle,
                )
            )
    return rows


def merge_rows(per_rank: list[list[tuple[SweepRow, int]]]) -> list[SweepRow]:
    """One row per (method, budget) from every rank's rows, averaged with weights = each rank's number of prompts."""
    merged: dict[tuple[str, int], list[tuple[SweepRow, int]]] = {}
    for rank_rows in per_rank:
        for row, count in rank_rows:
            merged.setdefault((row.method, row.budget), []).append((row, count))
    rows = []
    for parts in merged.values():
        total = sum(count for _, count in parts)
        first = parts[0][0]
        accuracy = sum(row.accuracy * count for row, count in parts) / total
        compute = sum(row.mean_compute * count for row, count in parts) / total
        rows.append(SweepRow(first.method, first.budget, accuracy, compute, first.scorer, first.oracle))
    return rows


def write_sweep(rows: list[SweepRow], directory: Path) -> list[Path]:
    """sweep.csv, sweep.md (a table: methods by budget) and, with matplotlib, sweep.png."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "sweep.csv", directory / "sweep.md"]
    with open(written[0], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    written[1].write_text(markdown_table(rows))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot is an optional extra: pip install o1-lightning[plot]
        return written
    figure, axes = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(row.method for row in rows):
        mine = [row for row in rows if row.method == method]
        label = f"{method} ({mine[0].scorer}{', oracle' if mine[0].oracle else ''})"
        axes.plot([row.budget for row in mine], [row.accuracy for row in mine], marker="o", label=label)
    axes.set(xscale="log", xlabel="budget (policy token-steps per problem)", ylabel="accuracy", ylim=(-0.02, 1.02))
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(directory / "sweep.png", dpi=120)
    plt.close(figure)
    return [*written, directory / "sweep.png"]


def markdown_table(rows: list[SweepRow]) -> str:
    budgets = sorted({row.budget for row in rows})
    lines = ["| method | scorer | " + " | ".join(str(b) for b in budgets) + " |", "|---|---|" + "---|" * len(budgets)]
    for method in dict.fromkeys(row.method for row in rows):
        mine = {row.budget: row for row in rows if row.method == method}
        first = next(iter(mine.values()))
        scorer = f"{first.scorer}{' (oracle)' if first.oracle else ''}"
        cells = [f"{mine[b].accuracy:.3f}" if b in mine else "" for b in budgets]
        lines.append(f"| {method} | {scorer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


class SearchSweep(Callback):
    """On `test`: every method at every budget on the test prompts; logs `test/<method>/accuracy` at step=budget.

    Args:
        methods: search methods to compare.
        budget_multipliers: budgets as multiples of one full answer (the task's max_length in token-steps).
        scorers: scorer per method (outcome and process are oracles; logprob is the policy's own; none).
        repeats: solve each test prompt this many times with independent draws, so that accuracy estimates a
            success rate even for a task with one prompt (the target task).
        options: per-method options, e.g. {beam: {expansions: 4}, mcts: {c_puct: 2.0}}.
        seed: seeds the search's random draws.
    """

    def __init__(
        self,
        methods: list[str] = ["greedy", "best_of_n", "majority", "beam", "mcts"],  # noqa: B006 (jsonargparse default)
        budget_multipliers: list[int] = [1, 4, 16, 64],  # noqa: B006
        scorers: dict[str, str] | None = None,
        repeats: int = 1,
        options: dict[str, dict[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        if not methods:
            raise O1Error(
                "sweep.methods is empty; give at least one of greedy, sampling, best_of_n, majority, beam, mcts"
            )
        for method in methods:
            check_method(method, " in sweep.methods")
        if not budget_multipliers or min(budget_multipliers) < 1:
            raise O1Error(f"sweep.budget_multipliers must be integers >= 1, got {budget_multipliers}")
        if repeats < 1:
            raise O1Error(f"sweep.repeats must be >= 1, got {repeats}")
        self.methods, self.budget_multipliers, self.seed = methods, sorted(budget_multipliers), seed
        self.repeats, self.options = repeats, options or {}
        self.scorers = {m: check_scorer_name(s) for m, s in {**DEFAULT_SCORERS, **(scorers or {})}.items()}
        self.prompts: list[str] = []

    def test_prompts(self, trainer: L.Trainer, gathered: list[str]) -> list[str]:
        """The datamodule's test prompts when it has them (the sampler pads a rank's share with repeats), else the
        prompts the ranks saw, duplicates dropped."""
        held_out = getattr(trainer.datamodule, "test_prompts", None)
        if callable(held_out):
            return list(held_out())
        return list(dict.fromkeys(gathered))

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.prompts = []

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self.prompts.extend(batch)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Under DDP each rank sweeps its share of the test prompts and the rows are merged, weighted by prompts."""
        task = pl_module.task
        budgets = [m * task.max_length for m in self.budget_multipliers]
        everyone = [prompt for rank in gather_objects(self.prompts) for prompt in rank]
        rank, world_size = rank_and_world_size()
        prompts = [prompt for prompt in self.test_prompts(trainer, everyone) for _ in range(self.repeats)]
        mine = prompts[rank::world_size]
        policy, tokenizer = pl_module.policy, pl_module.tokenizer
        rows = []
        if mine:
            rows = sweep(
                policy, tokenizer, task, mine, self.methods, budgets, self.scorers, self.seed + rank, self.options
            )
        rows = merge_rows(gather_objects([(row, len(mine)) for row in rows]))
        for row in rows:
            for logger in trainer.loggers:
                logger.log_metrics({f"test/{row.method}/accuracy": row.accuracy}, step=row.budget)
        directory = Path(trainer.log_dir or trainer.default_root_dir)  # on every rank: a collective under DDP
        if trainer.is_global_zero:
            written = write_sweep(rows, directory)
            print(markdown_table(rows), end="")
            print("sweep written to " + ", ".join(str(path) for path in written))
