"""A policy's own rollouts for reward-model training, labelled exactly or by Monte Carlo completions."""

from __future__ import annotations

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.gru import policy_device
from o1_lightning.policy.sampler import sample
from o1_lightning.policy.sequences import decode_completions
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.labels import exact_step_labels, monte_carlo_labels
from o1_lightning.rewards.learned.model import RewardExamples, build_examples
from o1_lightning.tasks.base import Task

LABELS = ("exact", "mc_soft", "mc_hard")


@torch.no_grad()
def policy_rollouts(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    samples_per_prompt: int,
    generator: torch.Generator,
    temperature: float = 1.0,
) -> tuple[list[str], list[str]]:
    """`samples_per_prompt` sampled completions of each prompt: (repeated prompts, completions)."""
    repeated = [p for p in prompts for _ in range(samples_per_prompt)]
    tokens, lengths = tokenizer.encode_prompts(repeated, policy_device(policy))
    drawn = sample(policy, tokens, lengths, task.max_length, generator, temperature)
    return repeated, decode_completions(tokenizer, drawn)


def label_rollouts(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    completions: list[str],
    labels: str,
    mc_samples: int,
    generator: torch.Generator,
) -> RewardExamples:
    """Training examples: outcome labels from the verifier, step labels `exact`, `mc_soft` or `mc_hard`."""
    if labels not in LABELS:
        raise O1Error(f"unknown reward model labels {labels!r}; allowed: {', '.join(LABELS)}")
    if labels == "exact":
        steps = [[float(x) for x in exact_step_labels(task, p, c)] for p, c in zip(prompts, completions)]
    else:
        steps = monte_carlo_labels(policy, tokenizer, task, prompts, completions, mc_samples, generator)
        if labels == "mc_hard":
            steps = [[float(x > 0) for x in row] for row in steps]
    outcomes = [float(task.outcome(p, c)) for p, c in zip(prompts, completions)]
    return build_examples(tokenizer, task, prompts, completions, steps, outcomes)
