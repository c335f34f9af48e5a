"""A trained reward model as a search scorer: NOT an oracle, it never reads the task's ground truth.

ORM: P(correct) of the completion, read at its last token (best-of-N, weighted majority, MCTS leaves).
PRM: P(on track) at the end of each step, reduced over the steps: `min` or `prod` (Lightman et al. 2023 use the
product), `last` (the newest step's, the natural beam-search step score), `mean`. The task splits steps.
"""

from __future__ import annotations

from pathlib import Path

import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy.checkpoint import read_checkpoint
from o1_lightning.policy.gru import policy_device
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.model import RewardModel, check_kind, encode_pairs, step_ends
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.tasks.base import Task

REDUCTIONS = ("min", "prod", "last", "mean")


class RewardModelScorer(Scorer):
    """Scores (prompt, completion) pairs with a RewardModel; `name` is 'orm' or 'prm_<reduce>', `oracle` False."""

    oracle = False

    def __init__(
        self,
        model: RewardModel,
        tokenizer: CharTokenizer,
        task: Task,
        kind: str,
        reduce: str = "min",
        name: str | None = None,
        max_rows: int = 4096,
    ) -> None:
        if reduce not in REDUCTIONS:
            raise O1Error(f"unknown reward model reduce {reduce!r}; allowed: {', '.join(REDUCTIONS)}")
        self.model, self.tokenizer, self.task = model.eval(), tokenizer, task
        self.kind, self.reduce, self.max_rows = check_kind(kind), reduce, max_rows
        self.name = name or ("orm" if kind == "outcome" else f"prm_{reduce}")

    @classmethod
    def from_checkpoint(cls, path: str | Path, task: Task, reduce: str = "min", name: str | None = None):
        """A scorer from a `train_reward_model.py` checkpoint (its vocab must be the task's)."""
        saved = read_checkpoint(path)
        hparams = saved.get("hyper_parameters", {})
        if hparams.get("vocab") != task.vocab or "kind" not in hparams:
            raise O1Error(
                f"checkpoint {str(path)!r} is not a reward model for vocab {task.vocab!r} "
                f"(it has vocab {hparams.get('vocab')!r}, kind {hparams.get('kind')!r})"
            )
        tokenizer = CharTokenizer(task.vocab)
        sizes = [hparams[k] for k in ("embedding_dim", "hidden_size", "num_layers")]
        model = RewardModel(tokenizer.size, *sizes, hparams.get("attention_size", 0))  # older ones have none
        model.load_state_dict({k.removeprefix("model."): v for k, v in saved["state_dict"].items()})
        return cls(model, tokenizer, task, hparams["kind"], reduce, name)

    def __call__(self, prompt: str, completion: str) -> float:
        return self.score_batch([prompt], [completion])[0]

    @torch.no_grad()
    def probabilities(self, prompts: list[str], completions: list[str]) -> torch.Tensor:
        """(N, T) sigmoid of the model at every position of BOS + prompt + completion (batched by `max_rows`)."""
        device = policy_device(self.model)
        chunks = []
        for start in range(0, len(prompts), self.max_rows):
            stop = start + self.max_rows
            tokens, _ = encode_pairs(self.tokenizer, prompts[start:stop], completions[start:stop], device)
            chunks.append(torch.sigmoid(self.model(tokens)).cpu())  # (n, t)
        width = max(c.shape[1] for c in chunks)
        return torch.cat([torch.nn.functional.pad(c, (0, width - c.shape[1])) for c in chunks])  # (N, T)

    def step_scores(self, prompts: list[str], completions: list[str]) -> list[list[float]]:
        """The model's probability at the end of each step of each completion (read as a PRM)."""
        probs = self.probabilities(prompts, completions).tolist()
        return [
            [row[len(p) + end] for end in step_ends(self.task, c)] for row, p, c in zip(probs, prompts, completions)
        ]

    def score_batch(self, prompts: list[str], completions: list[str]) -> list[float]:
        if self.kind == "outcome":
            probs = self.probabilities(prompts, completions)  # (N, T)
            last = torch.tensor([len(p) + len(c) for p, c in zip(prompts, completions)])
            return probs[torch.arange(len(prompts)), last].tolist()
        return [self.reduce_steps(scores) for scores in self.step_scores(prompts, completions)]

    def reduce_steps(self, scores: list[float]) -> float:
        """One score from the per-step ones; a completion with no step scores 0.0 (stopping at once never wins)."""
        if not scores:
            return 0.0
        if self.reduce == "min":
            return min(scores)
        if self.reduce == "prod":
            return float(torch.tensor(scores, dtype=torch.float64).prod())
        if self.reduce == "last":
            return scores[-1]
        return sum(scores) / len(scores)
