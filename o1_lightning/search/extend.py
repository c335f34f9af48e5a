"""Batched token-by-token extension of many sequences, greedy or sampled, one GRU step per appended token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from o1_lightning.policy.sampler import draw_tokens, fallback_token
from o1_lightning.policy.tokenizer import EOS, PAD
from o1_lightning.search.stepper import Stepper


class UniformSource:
    """Uniforms for live rows; each problem draws one per row of its own from its own generator, and only while one
    of its rows is live, so a problem's draws do not depend on what else is in the batch."""

    def __init__(self, row_problem: torch.Tensor, generators: list[torch.Generator]) -> None:
        self.row_problem = row_problem.cpu()  # (R,) problem of each row
        self.generators = generators
        self.groups = {b: (self.row_problem == b).nonzero().squeeze(1) for b in self.row_problem.unique().tolist()}

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        """(r,) uniforms for the live `rows`, on their device."""
        rows_cpu = rows.cpu()
        full = torch.zeros(self.row_problem.shape[0])  # (R,)
        for b in self.row_problem[rows_cpu].unique().tolist():
            full[self.groups[b]] = torch.rand(len(self.groups[b]), generator=self.generators[b])
        return full[rows_cpu].to(rows.device)


@dataclass
class Extension:
    """What `extend` appended: (R, T) tokens (end token included), (R,) counts charged, (R,) log-prob sums of the
    appended characters under the untempered policy (end token excluded), (R,) characters, (R,) ended with EOS."""

    tokens: torch.Tensor
    counts: torch.Tensor
    log_probs: torch.Tensor
    chars: torch.Tensor
    ended: torch.Tensor


@torch.no_grad()
def extend(
    stepper: Stepper,
    logits: torch.Tensor,
    state: Any,
    limits: torch.Tensor,
    greedy: bool = True,
    temperature: float = 1.0,
    uniforms: UniformSource | None = None,
) -> Extension:
    """Append up to (R,) `limits` tokens to each of R sequences, stopping a row at EOS; one GRU step per token.

    `logits` (R, V) are each row's next-token logits and `state` its stepper state; finished rows are dropped from
    the batch as they end, so no GRU step is spent on them.
    """
    total, device = logits.shape[0], logits.device
    limits = limits.to(device)
    rows = (limits > 0).nonzero().squeeze(1)  # (r,) live rows
    if rows.numel() < total:
        logits, state = logits[rows], stepper.take(state, rows)
    written: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # per step: (r,) rows, actions, log-probs
    fallback = fallback_token(stepper.policy)
    for t in range(int(limits.max()) if total else 0):
        step_log_probs = torch.log_softmax(logits, dim=-1)  # (r, V)
        if greedy:
            action = draw_tokens(step_log_probs, None, fallback)  # (r,) argmax
        else:
            tempered = step_log_probs if temperature == 1.0 else torch.log_softmax(logits / temperature, dim=-1)
            action = draw_tokens(tempered, uniforms(rows), fallback)  # (r,)
        written.append((rows, action, step_log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)))
        keep = (action != EOS) & (limits[rows] > t + 1)  # (r,)
        if not bool(keep.all()):
            kept = keep.nonzero().squeeze(1)
            rows, action = rows[kept], action[kept]
            if rows.numel() == 0:
                break
            state = stepper.take(state, kept)
        logits, state = stepper.step(action, state)
    return gather_extension(written, total, device)


def gather_extension(written: list, total: int, device: torch.device) -> Extension:
    """Assemble the per-step (rows, actions, log-probs) that `extend` wrote into one (R, T) Extension."""
    tokens = torch.full((total, max(len(written), 1)), PAD, dtype=torch.long, device=device)
    counts = torch.zeros(total, dtype=torch.long, device=device)
    log_probs = torch.zeros(total, device=device)
    ended = torch.zeros(total, dtype=torch.bool, device=device)
    if written:
        rows = torch.cat([r for r, _, _ in written])  # (N,) every appended token's row
        steps = torch.cat([torch.full_like(r, t) for t, (r, _, _) in enumerate(written)])
        actions = torch.cat([a for _, a, _ in written])
        is_end = actions == EOS
        tokens[rows, steps] = actions
        counts.index_add_(0, rows, torch.ones_like(rows))
        log_probs.index_add_(0, rows, torch.cat([lp for _, _, lp in written]).masked_fill(is_end, 0.0))
        ended[rows[is_end]] = True
    return Extension(tokens, counts, log_probs, counts - ended.long(), ended)
