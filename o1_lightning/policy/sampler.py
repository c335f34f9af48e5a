"""The one sampler: how a token is drawn (`draw_tokens`) and batched completions, one GRU step per token (`sample`).

Training rollouts, validation, reward-model data and every search method draw tokens with `draw_tokens`, so a
masked token (pad, begin, end where a task cannot stop) can never be emitted anywhere.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from o1_lightning.policy.gru_step import StepFunction, full_precision, step_function
from o1_lightning.policy.tokenizer import EOS, PAD, SPECIALS

# A variable-length batch checks that every row has ended (a host sync) once per this many steps, not every step.
FINISHED_CHECK_EVERY = 8


@dataclass
class Samples:
    """Raw completions from `sample`: (B, L) tokens, their (B, L) log-probs, (B,) lengths in actions."""

    tokens: torch.Tensor
    log_probs: torch.Tensor
    lengths: torch.Tensor


def draw_tokens(log_probs: torch.Tensor, uniforms: torch.Tensor | None, fallback: int) -> torch.Tensor:
    """Inverse-CDF draw: (R, V) log-probs, (R,) uniforms in [0, 1) (None: argmax) -> (R,) tokens.

    Token k is drawn when cdf[k-1] <= u < cdf[k] and p_k > 0. Only tokens of positive probability qualify, so
    u = 0 (the masked tokens' empty intervals at the bottom), u above a total that rounded below 1 (then the last
    positive token) and a cumulative sum that is not exactly monotone (parallel scans on GPUs) cannot pick a
    masked token. A row without any positive probability (NaN or inf logits) gets `fallback`, an allowed token;
    its log-prob stays NaN, so the loss and the non-finite guard see it.
    """
    probs = log_probs.exp()  # (R, V); exactly 0 for masked tokens
    positive = probs > 0  # (R, V); False for NaN
    if uniforms is None:
        choice = log_probs.argmax(-1)  # (R,)
    else:
        above = (probs.cumsum(-1) > uniforms.unsqueeze(1)) & positive  # (R, V) intervals above the draw
        first, last = rank_keys(probs.shape[-1], probs.device)
        # The first token above the draw ranks highest (its key > V); failing one, the last positive token.
        choice = torch.where(above, first, torch.where(positive, last, 0)).argmax(-1)  # (R,)
    valid = positive.gather(-1, choice.unsqueeze(-1)).squeeze(-1)  # (R,)
    return torch.where(valid, choice, torch.full_like(choice, fallback))


@functools.cache
def rank_keys(vocab_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(V,) keys 2V - k (earlier is larger) and k + 1 (later is larger) for `draw_tokens`' argmax."""
    index = torch.arange(vocab_size, device=device)
    return 2 * vocab_size - index, index + 1


def first_step(
    step: StepFunction, prompt_hidden: torch.Tensor, vocab: int, rows: torch.Tensor, action: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The step after each row's first action: (B, V) logits and (L, B, H) state.

    Right after the prompt, rows of one prompt share their state, so there are at most P x V distinct next states:
    when the batch is much larger (the seed's task: one prompt, 512 rows, 30 tokens) each is computed once and
    picked by index, a whole GRU step saved. A row's result does not depend on the rows around it (a matmul row is
    the same at any batch of 8 rows or more), so the samples are those of the plain step.
    """
    prompts = prompt_hidden.shape[1]
    if rows.shape[0] <= 2 * prompts * vocab:
        return step(action, prompt_hidden.index_select(1, rows))
    every_token = torch.arange(vocab, device=rows.device).repeat(prompts)  # (P*V,)
    logits, hidden = step(every_token, prompt_hidden.repeat_interleave(vocab, dim=1))  # (P*V, V), (L, P*V, H)
    pick = rows * vocab + action  # (B,) row of each (prompt, first token)
    return logits.index_select(0, pick), hidden.index_select(1, pick)


def fallback_token(policy: torch.nn.Module) -> int:
    """The token a row with non-finite logits gets: end where the policy may stop, else the first character."""
    return EOS if getattr(policy, "can_stop", True) else SPECIALS


def draw_uniforms(generator: torch.Generator | None, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniforms in [0, 1) on `device`, drawn at once from `generator` (on its own device; moved once if elsewhere).

    Step-major (T, B): on the CPU the same numbers, in the same order, as one (B,) draw per step.
    """
    source = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=source).to(device)


@torch.no_grad()
def sample(
    policy: torch.nn.Module,
    prompt_tokens: torch.Tensor,
    prompt_lengths: torch.Tensor,
    max_length: int,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    greedy: bool = False,
    rows: torch.Tensor | None = None,
    compiled: bool = False,
) -> Samples:
    """Sample completions one GRU step per token, carrying the hidden state (the prefix is never re-run).

    `prompt_tokens` (P, S) are encoded once each; `rows` (B,) says which prompt each completion continues (None:
    one completion per prompt). Every uniform of the call, (max_length, B), is drawn at once from `generator`, on
    the policy's device when the generator is there. A completion stops at EOS or after `max_length` actions. Runs
    in full precision whatever autocast is active (Lightning's mixed precision wraps validation steps in it).
    """
    with full_precision(prompt_tokens.device):
        logits, hidden = policy.encode(prompt_tokens, prompt_lengths)  # (P, V), (L, P, H)
        if rows is None:
            rows = torch.arange(prompt_tokens.shape[0], device=prompt_tokens.device)
        return sample_from(policy, logits, hidden, rows, max_length, generator, temperature, greedy, compiled)


def sample_from(
    policy: torch.nn.Module,
    prompt_logits: torch.Tensor,
    prompt_hidden: torch.Tensor,
    rows: torch.Tensor,
    max_length: int,
    generator: torch.Generator | None,
    temperature: float,
    greedy: bool,
    compiled: bool,
) -> Samples:
    """The step loop of `sample`, from each prompt's (P, V) first logits and (L, P, H) state, and (B,) `rows`."""
    batch, device = rows.shape[0], rows.device
    step = step_function(policy, compiled)
    logits = prompt_logits.index_select(0, rows)  # (B, V)
    can_stop, fallback = getattr(policy, "can_stop", True), fallback_token(policy)
    uniforms = None if greedy else draw_uniforms(generator, (max_length, batch), device)  # (T, B)
    tokens = torch.full((batch, max_length), PAD, dtype=torch.long, device=device)  # (B, T)
    log_probs = torch.zeros(batch, max_length, device=device)  # (B, T)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)  # (B,)
    steps = max_length
    for t in range(max_length):
        step_log_probs = torch.log_softmax(logits if temperature == 1.0 else logits / temperature, dim=-1)  # (B, V)
        action = draw_tokens(step_log_probs, None if uniforms is None else uniforms[t], fallback)  # (B,)
        chosen = step_log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)  # (B,)
        if can_stop:
            action, chosen = action.masked_fill(finished, PAD), chosen.masked_fill(finished, 0.0)
            finished |= action == EOS
        tokens[:, t], log_probs[:, t] = action, chosen
        if t == max_length - 1:
            break
        if can_stop and (t + 1) % FINISHED_CHECK_EVERY == 0 and bool(finished.all()):
            steps = t + 1
            break
        if t == 0:
            logits, hidden = first_step(step, prompt_hidden, prompt_logits.shape[1], rows, action)
        else:
            logits, hidden = step(action, hidden)
    if can_stop:
        lengths = (tokens[:, :steps] != PAD).sum(-1)  # (B,): the sampler never emits PAD before a row ends
        steps = int(lengths.max()) if batch else 0
    else:
        lengths = torch.full((batch,), max_length, dtype=torch.long, device=device)
    return Samples(tokens[:, :steps], log_probs[:, :steps], lengths)
