"""Demonstrations as data: a task's correct completions in the `Rollout` layout, for supervised fine-tuning."""

from __future__ import annotations

import torch

from o1_lightning.rollout import Rollout, Samples, join_sequences
from o1_lightning.tasks import Task
from o1_lightning.tokenizer import EOS, PAD, CharTokenizer


def make_demonstrations(
    task: Task, tokenizer: CharTokenizer, prompts: list[str], device: torch.device | str = "cpu"
) -> Rollout:
    """`task.demonstrate(prompt)` for each prompt, laid out like sampled rollouts, for teacher forcing.

    The action mask covers the completion and its end token (when the task can stop), so SFT learns when to
    stop; rewards and old log-probs are zero, and success is one (demonstrations verify).
    """
    completions = [task.demonstrate(prompt) for prompt in prompts]
    end = [EOS] if task.can_stop else []
    actions = [tokenizer.encode(completion) + end for completion in completions]
    lengths = torch.tensor([len(ids) for ids in actions])
    padded = torch.full((len(actions), max(1, int(lengths.max()))), PAD, dtype=torch.long)  # (B, L)
    for row, ids in enumerate(actions):
        padded[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    prompt_tokens, prompt_lengths = tokenizer.encode_prompts(prompts, device)
    samples = Samples(padded.to(device), torch.zeros(padded.shape, device=device), lengths.to(device))
    tokens, action_mask, old_log_probs = join_sequences(prompt_tokens, prompt_lengths, samples)
    batch = len(prompts)
    return Rollout(
        tokens=tokens,
        action_mask=action_mask,
        old_log_probs=old_log_probs,
        rewards=torch.zeros(action_mask.shape, device=device),
        outcome_reward=torch.zeros(batch, device=device),
        success=torch.ones(batch, device=device),
        lengths=samples.lengths,
        group_size=1,
        prompts=list(prompts),
        completions=completions,
    )
