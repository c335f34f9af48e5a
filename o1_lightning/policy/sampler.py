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
# Rows share GRU states while their distinct prefixes are at most this fraction of them (sampler.advance).
SHARE_LIMIT = 0.75


@dataclass
class Samples:
    """Raw completions from `sample`: (B, L) tokens, their (B, L) log-probs, (B,) lengths in actions."""

    tokens: torch.Tensor
    log_probs: torch.Tensor
    lengths: torch.Tensor


def draw_tokens(
    log_probs: torch.Tensor, uniforms: torch.Tensor | None, fallback: int, rows: torch.Tensor | None = None
) -> torch.Tensor:
    """Inverse-CDF draw: (D, V) log-probs, (R,) uniforms in [0, 1) (None: argmax) -> (R,) tokens.

    `rows` (R,) says which row of `log_probs` each draw reads (None: draw r reads row r), so rows that share a
    distribution share its cdf. Token k is drawn when cdf[k-1] <= u < cdf[k] and p_k > 0. Only tokens of positive
    probability qualify, so u = 0 (the masked tokens' empty intervals at the bottom), u above a total that rounded
    below 1 (then the last positive token) and a cumulative sum that is not exactly monotone (parallel scans on
    GPUs) cannot pick a masked token. A row without any positive probability (NaN or inf logits) gets `fallback`,
    an allowed token; its log-prob stays NaN, so the loss and the non-finite guard see it.
    """
    if uniforms is not None and log_probs.device.type == "cpu":
        choice = binary_search_draw(log_probs, uniforms, rows)
        if choice is not None:
            return choice
    if rows is not None:
        log_probs = log_probs.index_select(0, rows)  # (R, V)
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


def binary_search_draw(
    log_probs: torch.Tensor, uniforms: torch.Tensor, rows: torch.Tensor | None
) -> torch.Tensor | None:
    """`draw_tokens`' draw by binary search, a third of its cost, or None when a row needs the full rule.

    A CPU cumulative sum is sequential, so it never decreases and a zero-probability token adds exactly 0: the first
    token whose cdf exceeds u is then the first positive one above it, the same draw. Rows it cannot settle (u above
    a total rounded below 1 landing on a masked tail, NaN rows) send the whole batch to the full rule; the check is a
    host sync, free on a CPU.
    """
    probs = log_probs.exp()  # (D, V)
    cdf = probs.cumsum(-1) if rows is None else probs.cumsum(-1).index_select(0, rows)  # (R, V)
    choice = torch.searchsorted(cdf, uniforms.unsqueeze(1), right=True).squeeze(1)  # (R,)
    choice = choice.clamp_(max=probs.shape[-1] - 1)
    if bool((pick(probs, rows, choice) > 0).all()):
        return choice
    return None


def pick(table: torch.Tensor, rows: torch.Tensor | None, columns: torch.Tensor) -> torch.Tensor:
    """(R,) entries table[rows[r], columns[r]] of a (D, V) table (rows None: table[r, columns[r]])."""
    if rows is None:
        return table.gather(-1, columns.unsqueeze(-1)).squeeze(-1)
    return table.reshape(-1).index_select(0, rows * table.shape[1] + columns)


@functools.cache
def rank_keys(vocab_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(V,) keys 2V - k (earlier is larger) and k + 1 (later is larger) for `draw_tokens`' argmax."""
    index = torch.arange(vocab_size, device=device)
    return 2 * vocab_size - index, index + 1


def advance(
    step: StepFunction, hidden: torch.Tensor, state: torch.Tensor | None, action: torch.Tensor, vocab: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One GRU step after each row's `action`: logits, hidden and each row's state index (None: a state per row).

    Rows that have drawn the same prefix share one state. While `state` (B,) maps rows to the D distinct states of
    `hidden` (L, D, H), the step runs once per distinct (state, action) pair; once those are more than SHARE_LIMIT
    of the rows (prefixes only diverge) every row gets its own state for good. Counting the pairs is a host sync, so
    an accelerator shares only the first step (at most P x V pairs, all computed). A row's result does not depend
    on the rows around it (a matmul row is the same at any batch of 8 rows or more; below that, up to float
    rounding), so the samples are those of the plain step.
    """
    if state is None:
        return (*step(action, hidden), None)
    if hidden.device.type != "cpu":
        return (*every_first_step(step, hidden, vocab, state, action), None)
    pairs, next_state = torch.unique(state * vocab + action, return_inverse=True)  # (D',), (B,)
    if pairs.shape[0] > SHARE_LIMIT * state.shape[0]:
        return (*step(action, hidden.index_select(1, state)), None)
    logits, hidden = step(pairs % vocab, hidden.index_select(1, torch.div(pairs, vocab, rounding_mode="floor")))
    return logits, hidden, next_state


def every_first_step(
    step: StepFunction, prompt_hidden: torch.Tensor, vocab: int, rows: torch.Tensor, action: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The step after each row's first action without a host sync: (B, V) logits and (L, B, H) state.

    When the batch is much larger than the P x V possible (prompt, first token) pairs, each pair is computed once
    and picked by index; otherwise the rows are stepped as they are.
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
        step = step_function(policy, compiled)
        logits, hidden = getattr(step, "encode", policy.encode)(prompt_tokens, prompt_lengths)  # (P, V), (L, P, H)
        if rows is None:
            rows = torch.arange(prompt_tokens.shape[0], device=prompt_tokens.device)
        can_stop, fallback = getattr(policy, "can_stop", True), fallback_token(policy)
        return sample_from(step, logits, hidden, rows, max_length, generator, temperature, greedy, can_stop, fallback)


def sample_from(
    step: StepFunction,
    prompt_logits: torch.Tensor,
    prompt_hidden: torch.Tensor,
    rows: torch.Tensor,
    max_length: int,
    generator: torch.Generator | None,
    temperature: float,
    greedy: bool,
    can_stop: bool,
    fallback: int,
) -> Samples:
    """The step loop of `sample`, from each prompt's (P, V) first logits and (L, P, H) state, and (B,) `rows`."""
    batch, device = rows.shape[0], rows.device
    logits, hidden, state = prompt_logits, prompt_hidden, rows  # per distinct state; `state` (B,) maps rows to them
    uniforms = None if greedy else draw_uniforms(generator, (max_length, batch), device)  # (T, B)
    token_columns, log_prob_columns = [], []  # (B,) per step, stacked once at the end
    finished = torch.zeros(batch, dtype=torch.bool, device=device)  # (B,)
    for t in range(max_length):
        step_log_probs = torch.log_softmax(logits if temperature == 1.0 else logits / temperature, dim=-1)  # (D, V)
        action = draw_tokens(step_log_probs, None if uniforms is None else uniforms[t], fallback, state)  # (B,)
        chosen = pick(step_log_probs, state, action)  # (B,)
        if can_stop:
            action, chosen = action.masked_fill(finished, PAD), chosen.masked_fill(finished, 0.0)
            finished |= action == EOS
        token_columns.append(action)
        log_prob_columns.append(chosen)
        if t == max_length - 1 or (can_stop and (t + 1) % FINISHED_CHECK_EVERY == 0 and bool(finished.all())):
            break
        logits, hidden, state = advance(step, hidden, state, action, prompt_logits.shape[1])
    if not token_columns:
        empty = torch.zeros(batch, 0, dtype=torch.long, device=device)
        return Samples(empty, empty.float(), empty.sum(-1))
    tokens, log_probs = torch.stack(token_columns, 1), torch.stack(log_prob_columns, 1)  # (B, T)
    if can_stop:
        lengths = (tokens != PAD).sum(-1)  # (B,): the sampler never emits PAD before a row ends
        steps = int(lengths.max()) if batch else 0
        return Samples(tokens[:, :steps], log_probs[:, :steps], lengths)
    return Samples(tokens, log_probs, torch.full((batch,), tokens.shape[1], dtype=torch.long, device=device))
