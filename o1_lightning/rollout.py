"""Batched sampling of episodes with the live policy into one typed `Rollout` batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from o1_lightning.policy import GRUPolicy
from o1_lightning.tokenizer import EOS, PAD, CharTokenizer


@dataclass
class Rollout:
    """One batch of episodes in a single right-padded layout.

    `tokens` is BOS + prompt + completion (+ EOS when emitted) + padding. Transition j predicts
    `tokens[:, j + 1]` from `tokens[:, : j + 1]`; every other tensor is indexed by transition (B, T - 1).
    """

    tokens: torch.Tensor  # (B, T) long
    action_mask: torch.Tensor  # (B, T-1) bool: transition j is a sampled completion token
    old_log_probs: torch.Tensor  # (B, T-1) log-prob of each action under the sampling policy
    rewards: torch.Tensor  # (B, T-1) outcome, process and shaping rewards on their actions
    outcome_reward: torch.Tensor  # (B,) the outcome part alone
    success: torch.Tensor  # (B,) float, 1.0 where the verifier accepts the completion
    lengths: torch.Tensor  # (B,) completion length in actions (EOS included when emitted)
    group_size: int
    prompts: list[str]
    completions: list[str]
    demo_tokens: torch.Tensor | None = None  # (D, T') verified solutions to imitate (expert iteration), or None
    demo_mask: torch.Tensor | None = None  # (D, T'-1) their completion transitions
    demo_weight: float = 0.0

    @property
    def episode_reward(self) -> torch.Tensor:
        """(B,) undiscounted sum of all rewards of each episode."""
        return self.rewards.sum(-1)


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
            action = (cdf < uniform).sum(-1).clamp(max=logits.shape[-1] - 1)
        action = action.masked_fill(finished, PAD)
        tokens.append(action)
        log_probs.append(step_log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1).masked_fill(finished, 0.0))
        lengths += (~finished).long()
        finished |= action == EOS
        if t == max_length - 1 or bool(finished.all()):
            break
        logits, hidden = policy.step(action, hidden)
    return Samples(torch.stack(tokens, 1), torch.stack(log_probs, 1), lengths)


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
