"""Demonstrations as data: a task's correct completions in the `Rollout` layout, for supervised fine-tuning."""

from __future__ import annotations

import torch

from o1_lightning.learning.rollout import Rollout
from o1_lightning.policy.sequences import encode_demonstrations
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks import Task


def make_demonstrations(
    task: Task, tokenizer: CharTokenizer, prompts: list[str], device: torch.device | str = "cpu"
) -> Rollout:
    """`task.demonstrate(prompt)` for each prompt, laid out like sampled rollouts, for teacher forcing.

    The action mask covers the completion and its end token (when the task can stop), so SFT learns when to
    stop; rewards and old log-probs are zero, and success is one (demonstrations verify).
    """
    completions = [task.demonstrate(prompt) for prompt in prompts]
    tokens, action_mask = encode_demonstrations(tokenizer, prompts, completions, task.can_stop, device)
    old_log_probs = torch.zeros(action_mask.shape, device=device)
    batch = len(prompts)
    return Rollout(
        tokens=tokens,
        action_mask=action_mask,
        old_log_probs=old_log_probs,
        rewards=torch.zeros(action_mask.shape, device=device),
        outcome_reward=torch.zeros(batch, device=device),
        success=torch.ones(batch, device=device),
        lengths=action_mask.sum(-1),
        group_size=1,
        prompts=list(prompts),
        completions=completions,
    )
