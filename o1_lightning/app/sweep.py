"""Test-time scaling: every search method at several budgets on held-out prompts, accuracy against compute spent.

A budget caps compute; methods often spend less (beam search stops when its beams finish), so every row carries
`mean_token_steps`, what the method really used, and the plot puts accuracy against it.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, replace
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
from o1_lightning.search.records import DEFAULT_SCORERS
from o1_lightning.search.registry import check_method, is_deterministic
from o1_lightning.tasks import Task


@dataclass
class SweepRow:
    """One method at one budget: accuracy over the prompts and the token-steps per problem it really spent.

    `deterministic` methods (greedy, beam, MCTS with greedy rollouts) solve each prompt once: repeating them would
    repeat one draw. `solves` counts the (prompt, draw) pairs the accuracy is over.
    """

    method: str
    scorer: str
    oracle: bool
    deterministic: bool
    budget: int
    mean_token_steps: float
    accuracy: float
    solves: int


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
    repeats: int = 1,
) -> list[SweepRow]:
    """Run each method at each budget (token-steps per problem) and verify its answers with the task.

    A random method solves every prompt `repeats` times with independent draws; a deterministic one once.
    """
    rows = []
    for method in methods:
        scorer = make_scorer(scorers.get(method, DEFAULT_SCORERS[method]), task, policy, tokenizer)
        method_options = (options or {}).get(method, {})
        deterministic = is_deterministic(method, method_options)
        solved = prompts if deterministic else [prompt for prompt in prompts for _ in range(repeats)]
        for budget in budgets:
            generator = torch.Generator().manual_seed(seed)
            results = run_search(method, policy, tokenizer, task, solved, budget, scorer, generator, **method_options)
            correct = [task.outcome(r.prompt, r.completion) for r in results]
            rows.append(
                SweepRow(
                    method=method,
                    scorer=results[0].scorer,
                    oracle=results[0].oracle,
                    deterministic=deterministic,
                    budget=budget,
                    mean_token_steps=sum(r.compute for r in results) / len(results),
                    accuracy=sum(correct) / len(correct),
                    solves=len(results),
                )
            )
    return rows


def method_label(row: SweepRow) -> str:
    """'beam (process_fraction, oracle, deterministic)': what a row's method is and how it was scored."""
    notes = [row.scorer] + (["oracle"] if row.oracle else []) + (["deterministic"] if row.deterministic else [])
    return f"{row.method} ({', '.join(notes)})"


def merge_rows(per_rank: list[list[SweepRow]]) -> list[SweepRow]:
    """One row per (method, budget) from every rank's rows, averaged with weights = each rank's number of solves."""
    merged: dict[tuple[str, int], list[SweepRow]] = {}
    for rank_rows in per_rank:
        for row in rank_rows:
            merged.setdefault((row.method, row.budget), []).append(row)
    rows = []
    for parts in merged.values():
        solves = sum(row.solves for row in parts)
        accuracy = sum(row.accuracy * row.solves for row in parts) / solves
        token_steps = sum(row.mean_token_steps * row.solves for row in parts) / solves
        rows.append(replace(parts[0], accuracy=accuracy, mean_token_steps=token_steps, solves=solves))
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
        spent = [max(row.mean_token_steps, 1.0) for row in mine]  # log axis: a method that spent nothing sits at 1
        style = "--" if mine[0].deterministic else "-"
        axes.plot(spent, [row.accuracy for row in mine], style, marker="o", label=method_label(mine[0]))
    axes.set(xscale="log", xlabel="token-steps spent per problem (mean)", ylabel="accuracy", ylim=(-0.02, 1.02))
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(directory / "sweep.png", dpi=120)
    plt.close(figure)
    return [*written, directory / "sweep.png"]


def markdown_table(rows: list[SweepRow]) -> str:
    """Methods by budget; each cell is 'accuracy @ token-steps spent', since a budget is only a cap."""
    budgets = sorted({row.budget for row in rows})
    lines = [
        "| method | scorer | solves | " + " | ".join(f"budget {b}" for b in budgets) + " |",
        "|---|---|---|" + "---|" * len(budgets),
    ]
    for method in dict.fromkeys(row.method for row in rows):
        mine = {row.budget: row for row in rows if row.method == method}
        first = next(iter(mine.values()))
        scorer = f"{first.scorer}{' (oracle)' if first.oracle else ''}"
        solves = f"{first.solves}{' (deterministic: one per prompt)' if first.deterministic else ''}"
        cells = [f"{mine[b].accuracy:.3f} @ {mine[b].mean_token_steps:.0f}" if b in mine else "" for b in budgets]
        lines.append(f"| {method} | {scorer} | {solves} | " + " | ".join(cells) + " |")
    note = "\nCells: accuracy @ mean token-steps spent per problem (the budget is a cap; methods may stop early).\n"
    return "\n".join(lines) + "\n" + note


class SearchSweep(Callback):
    """On `test`: every method at every budget on the test prompts; logs `test/<method>/accuracy` and
    `test/<method>/mean_token_steps` (spent) at step=budget.

    Args:
        methods: search methods to compare.
        budget_multipliers: budgets as multiples of one full answer (the task's max_length in token-steps).
        scorers: scorer per method, in the reward vocabulary (outcome and process are oracles; logprob is the
            policy's own; none; rm:PATH; a dotted path to a user function; weighted sums).
        repeats: solve each test prompt this many times with independent draws, so that accuracy estimates a
            success rate even for a task with one prompt (the target task); deterministic methods solve it once.
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
        mine = self.test_prompts(trainer, everyone)[rank::world_size]  # each rank its share of the distinct prompts
        policy, tokenizer = pl_module.policy, pl_module.tokenizer
        rows = []
        if mine:
            rows = sweep(
                policy, tokenizer, task, mine, self.methods, budgets, self.scorers, self.seed + rank, self.options,
                self.repeats,
            )  # fmt: skip
        rows = merge_rows(gather_objects(rows))
        for row in rows:
            metrics = {f"test/{row.method}/accuracy": row.accuracy}
            metrics[f"test/{row.method}/mean_token_steps"] = row.mean_token_steps
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=row.budget)
        directory = Path(trainer.log_dir or trainer.default_root_dir)  # on every rank: a collective under DDP
        if trainer.is_global_zero:
            written = write_sweep(rows, directory)
            print(markdown_table(rows), end="")
            print("sweep written to " + ", ".join(str(path) for path in written))
