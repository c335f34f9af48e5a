"""`python train.py predict`: solve given prompts with a chosen search method and print them with their scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from o1_lightning.app.distributed import gather_objects
from o1_lightning.errors import O1Error
from o1_lightning.rewards.names import check_scorer_name
from o1_lightning.search.records import SearchRequest
from o1_lightning.search.registry import check_method


class SearchPredictor(Callback):
    """Configures the search `predict` runs, prints each solution and optionally writes them as JSON lines.

    Args:
        method: a search method (greedy, sampling, best_of_n, majority, beam, mcts).
        budget_multiplier: the budget as a multiple of one full answer (the task's max_length token-steps).
        scorer: outcome / process (ORACLES: they read the answer), logprob (the policy's own), none, rm:PATH, a
            dotted path to a function (prompts, completions) -> list[float], or a weighted sum (README, Rewards).
        output: a .jsonl file to write the solutions to (not written when unset).
        options: the method's own options (e.g. beam `width`, `expansions`; mcts `simulations`, `c_puct`).
        seed: seeds the search's random draws.
    """

    def __init__(
        self,
        method: str = "greedy",
        budget_multiplier: int = 1,
        scorer: str = "logprob",
        output: str | None = None,
        options: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        check_method(method, " in search.method")
        if budget_multiplier < 1:
            raise O1Error(f"search.budget_multiplier must be >= 1, got {budget_multiplier}")
        self.method, self.budget_multiplier, self.seed = method, budget_multiplier, seed
        self.scorer, self.output = check_scorer_name(scorer), output
        self.options = options or {}
        self.solutions: list[dict] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "predict":
            pl_module.use_search(self.request())
            self.solutions = []

    def request(self) -> SearchRequest:
        """The search `predict_step` runs (the same records as the Python API's `Policy.search`)."""
        return SearchRequest(self.method, self.budget_multiplier, self.scorer, self.options, self.seed)

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self.solutions.extend(outputs)

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Every rank's solutions (a collective under DDP), in the order of the prompts, printed and written once."""
        prompts = getattr(trainer.datamodule, "predict_prompts", None)
        solutions = in_prompt_order([item for rank in gather_objects(self.solutions) for item in rank], prompts)
        self.solutions = solutions
        if not trainer.is_global_zero:
            return
        for item in solutions:
            score = f"{item['score']:.3f} ({item['scorer']})" if "score" in item else ""
            print(f"{item['prompt']!r} -> {item['completion']!r} {score} correct={item.get('correct')}")
        if self.output:
            path = Path(self.output)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.part")
            partial.write_text("".join(json.dumps(item) + "\n" for item in solutions), encoding="utf-8")
            partial.replace(path)  # an interrupted write never leaves a torn file
            print(f"{len(solutions)} solutions written to {path}")


def in_prompt_order(solutions: list[dict], prompts: list[str] | None) -> list[dict]:
    """`solutions` (gathered from ranks, in any order) as one per prompt in `prompts`' order (repeats kept)."""
    if prompts is None:
        return solutions
    by_prompt: dict[str, list[dict]] = {}
    for item in solutions:
        by_prompt.setdefault(item["prompt"], []).append(item)
    ordered = []
    for prompt in prompts:
        pending = by_prompt.get(prompt)
        if pending:
            ordered.append(pending.pop(0))
    return ordered
