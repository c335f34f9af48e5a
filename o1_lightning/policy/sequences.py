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
    """Place each completion right after its own prompt: (B, T) tokens, (B, T-1) action mask and old log-probs."""
    batch, completion_width = samples.tokens.shape
    prompt_lengths = prompt_lengths.to(samples.tokens.device)
    total = int((prompt_lengths + samples.lengths).max())
    tokens = torch.full((batch, total), PAD, dtype=torch.long, device=samples.tokens.device)
    tokens[:, : prompt_tokens.shape[1]] = prompt_tokens
    offsets = torch.arange(completion_width, device=tokens.device)
    valid = offsets < samples.lengths.unsqueeze(1)  # (B, L)
    rows = torch.arange(batch, device=tokens.device).unsqueeze(1).expand_as(valid)
    positions = prompt_lengths.unsqueeze(1) + offsets  # (B, L) where each completion token lands
    tokens[rows[valid], positions[valid]] = samples.tokens[valid]
    action_mask = torch.zeros(batch, total - 1, dtype=torch.bool, device=tokens.device)
    action_mask[rows[valid], positions[valid] - 1] = True
    old_log_probs = torch.zeros(batch, total - 1, device=tokens.device)
    old_log_probs[rows[valid], positions[valid] - 1] = samples.log_probs[valid]
    return tokens, action_mask, old_log_probs


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
