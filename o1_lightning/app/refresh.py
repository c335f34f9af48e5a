"""Search-generated data refresh: every k updates, search with the current policy and keep verified solutions."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from o1_lightning.app.distributed import gather_objects
from o1_lightning.errors import O1Error
from o1_lightning.rewards.names import check_scorer_name, make_scorer
from o1_lightning.search import run_search
from o1_lightning.search.registry import check_method


class SearchRefresh(Callback):
    """Expert iteration: search finds solutions, the task's verifier keeps the correct ones in the datamodule's buffer,
    and training imitates them (data.buffer_batch_size, data.buffer_weight).

    Under DDP every rank searches its own prompts and all ranks add every rank's solutions, so buffers stay equal.

    Args:
        every_n_steps: how often to search (in updates).
        method, budget_multiplier, scorer: the search (budget = multiplier x the task's max_length token-steps).
        num_prompts: fresh prompts per refresh and rank.
        options: the search method's own options (e.g. beam `width`, `expansions`; mcts `simulations`).
        seed: seeds this callback's own generator (saved in checkpoints), kept apart from the rollouts'.
    """

    def __init__(
        self,
        every_n_steps: int = 10,
        method: str = "best_of_n",
        budget_multiplier: int = 8,
        scorer: str = "outcome",
        num_prompts: int = 32,
        options: dict[str, Any] | None = None,
        seed: int = 1234,
    ) -> None:
        check_method(method, " for SearchRefresh")
        if every_n_steps < 1 or num_prompts < 1 or budget_multiplier < 1:
            raise O1Error(
                "SearchRefresh every_n_steps, num_prompts and budget_multiplier must be >= 1, "
                f"got {every_n_steps}, {num_prompts}, {budget_multiplier}"
            )
        self.every_n_steps, self.method, self.budget_multiplier = every_n_steps, method, budget_multiplier
        self.scorer, self.num_prompts, self.seed = check_scorer_name(scorer), num_prompts, seed
        self.options = options or {}
        self.generator = torch.Generator().manual_seed(seed)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.global_rank:
            self.generator.manual_seed(self.seed + trainer.global_rank)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every_n_steps:
            return
        datamodule, task = trainer.datamodule, pl_module.task
        prompts = task.sample_prompts(self.num_prompts, self.generator, "train")  # its solutions are trained on
        scorer = make_scorer(self.scorer, task, pl_module.policy, pl_module.tokenizer)
        start = time.perf_counter()
        results = run_search(
            self.method, pl_module.policy, pl_module.tokenizer, task, prompts,
            self.budget_multiplier * task.max_length, scorer, self.generator, **self.options,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        pl_module.add_sampled_token_steps(sum(r.compute for r in results))  # search compute is policy compute
        solved = [(r.prompt, r.completion) for r in results if task.outcome(r.prompt, r.completion)]
        for prompt, completion in (pair for rank_solved in gather_objects(solved) for pair in rank_solved):
            datamodule.buffer.add(prompt, completion)
        log = {"on_step": True, "on_epoch": False, "sync_dist": True, "batch_size": len(results)}
        pl_module.log("search/success", len(solved) / len(results), **log)
        pl_module.log("search/buffer_size", float(len(datamodule.buffer)), **log)
        pl_module.log("search/token_steps_per_s", sum(r.compute for r in results) / max(seconds, 1e-9), **log)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.generator.set_state(state_dict["generator"])
