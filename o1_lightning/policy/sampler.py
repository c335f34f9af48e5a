"""Batched sampling of completions with the live policy, one GRU step per token."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import EOS, PAD


@dataclass
class Samples:
    """Raw completions from `sample`: (B, L) tokens, their (B, L) log-probs, (B,) lengths in actions."""

    tokens: torch.Tensor
    log_probs: torch.Tensor
    lengths: torch.Tensor


@torch.no_grad()
def sample(
    policy: GRUPolicy,
    prompt_tokens: torch.Tensor,
    prompt_lengths: torch.Tensor,
    max_length: int,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    greedy: bool = False,
) -> Samples:
    """Sample completions one GRU step per token, carrying the hidden state (the prefix is never re-run).

    Uniforms come from `generator` on the CPU and are moved to the policy's device, so that a run is
    reproducible from the generator's state on any accelerator. A completion stops at EOS or after
    `max_length` actions.
    """
    device = prompt_tokens.device
    logits, hidden = policy.encode(prompt_tokens, prompt_lengths)
    batch = prompt_tokens.shape[0]
    tokens, log_probs = [], []
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, dtype=torch.long, device=device)
    for t in range(max_length):
        step_log_probs = torch.log_softmax(logits / temperature, dim=-1)
        if greedy:
            action = step_log_probs.argmax(-1)
        else:
            uniform = torch.rand(batch, 1, generator=generator).to(device)
            cdf = step_log_probs.exp().cumsum(-1)
            action = (cdf <= uniform).sum(-1).clamp(max=logits.shape[-1] - 1)  # smallest i with cdf_i > u
        action = action.masked_fill(finished, PAD)
        tokens.append(action)
        log_probs.append(step_log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1).masked_fill(finished, 0.0))
        lengths += (~finished).long()
        finished |= action == EOS
        if t == max_length - 1 or bool(finished.all()):
            break
        logits, hidden = policy.step(action, hidden)
    return Samples(torch.stack(tokens, 1), torch.stack(log_probs, 1), lengths)
