"""The reward model network, its input layout and its loss, as plain PyTorch.

One GRU reads BOS + prompt + completion and a linear head gives a logit at every position; position i judges
the text up to token i. An outcome model (ORM) is read at the completion's last token, a process model (PRM) at
the end of each step. Both are trained with binary cross-entropy, which also takes soft labels (Math-Shepherd's
fraction of Monte Carlo completions that succeed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from o1_lightning.errors import O1Error
from o1_lightning.policy.attention_gru import attention_features, causal_mask
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks.base import Task

KINDS = ("outcome", "process")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise O1Error(f"unknown reward model kind {kind!r}; allowed: {', '.join(KINDS)}")
    return kind


class RewardModel(nn.Module):
    """A character GRU with a sigmoid head at every position: (B, T) tokens -> (B, T) logits.

    With `attention_size` > 0 the head also reads a causal attention over the GRU's earlier outputs, the prompt's
    included (as `AttentionGRUPolicy` does): checking a column of a sum can then look the operands' digits up
    instead of carrying them all in one state. Measured alone it did not help; with the errors in its training data
    it did (docs/REWARD_MODELS.md, "Reward models that attend").
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        attention_size: int = 0,
    ) -> None:
        super().__init__()
        if attention_size < 0:
            raise O1Error(f"reward model attention_size must be >= 0 (0: no attention), got {attention_size}")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.query = nn.Linear(hidden_size, attention_size, bias=False) if attention_size else None
        self.key = nn.Linear(hidden_size, attention_size, bias=False) if attention_size else None
        self.head = nn.Linear(2 * hidden_size if attention_size else hidden_size, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        features, _ = self.gru(self.embedding(tokens))  # (B, T, H)
        if self.query is not None:  # position i attends over positions <= i: a prefix's score ignores what follows
            features = attention_features(features, features, causal_mask(tokens), self.query, self.key)  # (B, T, 2H)
        return self.head(features).squeeze(-1)  # (B, T)

    def init_from_policy(self, policy: nn.Module) -> None:
        """Start from the policy's embedding and GRU (as reward models start from the SFT model), and its attention
        when both have one of the same size; the head stays new.

        The policy's hidden state already holds the prompt's digits and its own next-character belief, which a
        verifier needs and would otherwise have to learn from far fewer examples than the policy saw.
        """
        names = ["embedding", "gru"]
        if self.query is not None and isinstance(getattr(policy, "query", None), nn.Linear):
            if policy.query.weight.shape == self.query.weight.shape:
                names += ["query", "key"]
        for name in names:
            mine, theirs = getattr(self, name), getattr(policy, name)
            shapes = {k: v.shape for k, v in mine.state_dict().items()}
            if shapes != {k: v.shape for k, v in theirs.state_dict().items()}:
                raise O1Error(
                    f"cannot start the reward model from the policy: their {name} shapes differ ({shapes} vs "
                    f"{ {k: v.shape for k, v in theirs.state_dict().items()} }); give the reward model the policy's "
                    "embedding_dim, hidden_size and num_layers"
                )
            mine.load_state_dict(theirs.state_dict())


def step_ends(task: Task, completion: str) -> list[int]:
    """Characters of `completion` written at the end of each of its steps, e.g. [7, 14, 18] for '750=12;481=13;=132'."""
    ends, end = [], 0
    for piece in task.steps(completion):
        end += len(piece)
        ends.append(end)
    return ends


def encode_pairs(
    tokenizer: CharTokenizer, prompts: list[str], completions: list[str], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, T) right-padded BOS + prompt + completion and the (N,) index of each prompt's last token.

    The completion's first e characters end at index prompt_end + e (e = 0: the prompt's own last token).
    """
    tokens, _ = tokenizer.encode_prompts([p + c for p, c in zip(prompts, completions)], device)
    prompt_end = torch.tensor([len(p) for p in prompts], device=device)  # BOS sits at index 0
    return tokens, prompt_end


def reward_model_loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of (B, T) logits against (B, T) labels in [0, 1], averaged over the `mask`ed positions."""
    losses = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")  # (B, T)
    if not bool(mask.any()):  # a batch of empty completions has no step to learn from
        return logits.sum() * 0.0
    return losses[mask].mean()


@dataclass
class RewardExamples(Dataset):
    """Labelled completions: every tensor row is one (prompt, completion); positions index `tokens`."""

    tokens: torch.Tensor  # (N, T) BOS + prompt + completion, PAD after
    outcome_position: torch.Tensor  # (N,) index of the completion's last token
    outcome_label: torch.Tensor  # (N,) 1.0 where the verifier accepts the completion
    step_mask: torch.Tensor  # (N, T) True at the end of each step
    step_labels: torch.Tensor  # (N, T) the step labels (hard or soft) at those positions, 0 elsewhere

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "tokens": self.tokens[index],
            "outcome_position": self.outcome_position[index],
            "outcome_label": self.outcome_label[index],
            "step_mask": self.step_mask[index],
            "step_labels": self.step_labels[index],
        }


def build_examples(
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    completions: list[str],
    step_labels: list[list[float]],
    outcome_labels: list[float],
) -> RewardExamples:
    """Lay out labelled completions for training; `step_labels[i]` has one label per step of completion i."""
    tokens, prompt_end = encode_pairs(tokenizer, prompts, completions)
    size = len(prompts)
    step_mask = torch.zeros(tokens.shape, dtype=torch.bool)
    labels = torch.zeros(tokens.shape)
    for row, (completion, row_labels) in enumerate(zip(completions, step_labels)):
        ends = step_ends(task, completion)
        if len(ends) != len(row_labels):
            raise O1Error(f"completion {completion!r} has {len(ends)} steps but {len(row_labels)} step labels")
        positions = [int(prompt_end[row]) + end for end in ends]
        step_mask[row, positions] = True
        labels[row, positions] = torch.tensor(row_labels, dtype=torch.float)
    outcome_position = prompt_end + torch.tensor([len(c) for c in completions])
    return RewardExamples(
        tokens, outcome_position, torch.tensor(outcome_labels, dtype=torch.float).view(size), step_mask, labels
    )


def targets(batch: dict[str, torch.Tensor], kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) labels and mask a reward model of `kind` learns from: the last token (outcome) or step ends (process)."""
    if kind == "process":
        return batch["step_labels"], batch["step_mask"]
    rows = torch.arange(batch["tokens"].shape[0], device=batch["tokens"].device)
    mask = torch.zeros(batch["tokens"].shape, dtype=torch.bool, device=batch["tokens"].device)
    mask[rows, batch["outcome_position"]] = True
    labels = torch.zeros(mask.shape, device=mask.device)
    labels[rows, batch["outcome_position"]] = batch["outcome_label"]
    return labels, mask
