"""Token layouts: completions decoded to strings, completions placed after their prompts, demonstrations encoded."""

from __future__ import annotations

import torch

from o1_lightning.policy.sampler import Samples
from o1_lightning.policy.tokenizer import EOS, PAD, CharTokenizer


def decode_completions(tokenizer: CharTokenizer, samples: Samples) -> list[str]:
    return [tokenizer.decode(row) for row in samples.tokens.tolist()]


def join_sequences(
    prompt_tokens: torch.Tensor, prompt_lengths: torch.Tensor, samples: Samples
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Place each completion right after its own prompt: (B, T) tokens, (B, T-1) action mask and old log-probs.

    Dense gathers, no scatter through boolean masks (those sort their indices on the CPU).
    """
    device = samples.tokens.device
    prompt_lengths = prompt_lengths.to(device)
    total = int((prompt_lengths + samples.lengths).max())
    offset = torch.arange(total, device=device) - prompt_lengths.unsqueeze(1)  # (B, T) place in the completion
    in_completion = (offset >= 0) & (offset < samples.lengths.unsqueeze(1))  # (B, T)
    width = max(samples.tokens.shape[1], 1)
    completion = samples.tokens.gather(1, offset.clamp(0, width - 1))  # (B, T)
    prompts = torch.nn.functional.pad(prompt_tokens, (0, total - prompt_tokens.shape[1]), value=PAD)  # (B, T)
    tokens = torch.where(in_completion, completion, prompts)
    action_mask = in_completion[:, 1:]  # (B, T-1): transition j predicts token j + 1
    return tokens, action_mask, completion_to_transitions(samples.log_probs, prompt_lengths, action_mask)


def completion_to_transitions(
    values: torch.Tensor, prompt_lengths: torch.Tensor, action_mask: torch.Tensor
) -> torch.Tensor:
    """(B, L) values by completion action -> (B, T-1) by transition (zero off the action mask)."""
    offset = torch.arange(1, action_mask.shape[1] + 1, device=values.device) - prompt_lengths.unsqueeze(1)
    placed = values.gather(1, offset.clamp(0, max(values.shape[1], 1) - 1))  # (B, T-1)
    return torch.where(action_mask, placed, torch.zeros((), dtype=values.dtype, device=values.device))


def encode_demonstrations(
    tokenizer: CharTokenizer, prompts: list[str], completions: list[str], end: bool, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forcing layout of given solutions: (B, T) BOS + prompt + completion (+ EOS) and (B, T-1) mask."""
    prompt_tokens, prompt_lengths = tokenizer.encode_prompts(prompts, device)
    encoded = [tokenizer.encode(c) + ([EOS] if end else []) for c in completions]
    width = max(len(ids) for ids in encoded)
    completion_tokens = torch.full((len(encoded), width), PAD, dtype=torch.long)
    for row, ids in enumerate(encoded):
        completion_tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    lengths = torch.tensor([len(ids) for ids in encoded], device=device)
    samples = Samples(completion_tokens.to(device), torch.zeros(completion_tokens.shape, device=device), lengths)
    tokens, mask, _ = join_sequences(prompt_tokens, prompt_lengths, samples)
    return tokens, mask
