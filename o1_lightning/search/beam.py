"""Step-level beam search: keep the `width` best partial completions by a step scorer, growing each by one step.

Each live beam proposes its `expansions` most likely next tokens; a candidate then continues greedily to the end of
its task step (for character tasks every character is a step, so a candidate is one token); with `sample_steps`
each problem samples width x expansions whole steps per iteration instead (Snell et al. 2024). Finished beams stay
in the pool and compete with the candidates until every kept beam is finished. Texts are decoded only when the
scorer or a step boundary needs them (a PolicyLogProbScorer of the searching policy reads tracked log-probs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.sampler import draw_tokens, fallback_token
from o1_lightning.policy.tokenizer import EOS, PAD, CharTokenizer
from o1_lightning.rewards.scorers import Scorer, reads_log_probs, require_scorer, score_completions
from o1_lightning.search.budget import check_budget
from o1_lightning.search.extend import UniformSource, extend
from o1_lightning.search.problems import Generators, Problems, make_problems
from o1_lightning.search.result import SearchResult
from o1_lightning.search.stepper import Stepper
from o1_lightning.search.steps import char_steps, ends_step
from o1_lightning.tasks.base import Task


@dataclass
class Beams:
    """Up to W beams per problem; flat rows are problem-major (b * W + j), and dead slots have `alive` False."""

    tokens: torch.Tensor  # (B, W, L) completion tokens so far, PAD after
    depth: torch.Tensor  # (B, W) tokens so far
    alive: torch.Tensor  # (B, W) slot holds a beam
    done: torch.Tensor  # (B, W) ended with EOS or reached max_length
    log_probs: torch.Tensor  # (B, W) summed character log-probs
    chars: torch.Tensor  # (B, W) characters
    scores: torch.Tensor  # (B, W) step scorer's score
    logits: torch.Tensor  # (B*W, V) next-token logits of each unfinished beam
    state: Any  # B*W stepper rows, after each beam's last token

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape[0], self.depth.shape[1]


@dataclass
class StepCandidates:
    """K proposed one-step extensions; `state` is each one's stepper row before its `last` token."""

    parent: torch.Tensor  # (K,) flat beam row
    column: torch.Tensor  # (K,) pool column: W + j * E + e
    tokens: torch.Tensor  # (K, L)
    depth: torch.Tensor  # (K,)
    done: torch.Tensor  # (K,)
    log_probs: torch.Tensor  # (K,)
    chars: torch.Tensor  # (K,)
    counts: torch.Tensor  # (K,) token-steps charged
    last: torch.Tensor  # (K,) final token of the step
    state: Any


def initial_beams(problems: Problems, width: int) -> Beams:
    """One live empty beam per problem (slot 0), from the prompt's encoding."""
    logits, state = problems.stepper.start(problems.prompts)  # (B, V), B rows
    size, length, device = problems.size, problems.max_length, problems.device
    rows = torch.arange(size, device=device).repeat_interleave(width)  # (B*W,)
    alive = torch.zeros(size, width, dtype=torch.bool, device=device)
    alive[:, 0] = True
    zeros = torch.zeros(size, width, device=device)
    tokens = torch.full((size, width, length), PAD, dtype=torch.long, device=device)
    return Beams(
        tokens,
        zeros.long(),
        alive,
        torch.zeros_like(alive),
        zeros.clone(),
        zeros.long(),
        zeros.clone(),
        logits[rows],
        problems.stepper.take(state, rows),
    )


def budget_guard(
    beams: Beams,
    expandable: torch.Tensor,
    spent: torch.Tensor,
    budget: int,
    expansions: int,
    per_char: bool,
    sample_steps: bool = False,
) -> torch.Tensor:
    """(B,) problems that can afford the next iteration at worst plus a greedy finish of a beam after it."""
    length = beams.tokens.shape[-1]
    min_depth = torch.where(expandable, beams.depth, length).min(1).values  # (B,)
    step_cost = torch.ones_like(min_depth) if per_char else length - min_depth
    proposals = proposal_shares(expandable, expansions, sample_steps).sum(1)  # (B,)
    need = proposals * step_cost + (length - min_depth - 1).clamp(min=0)  # (B,)
    return spent + need <= budget


def proposal_shares(expandable: torch.Tensor, expansions: int, sample_steps: bool) -> torch.Tensor:
    """(B, W) candidates each beam proposes: `expansions` per expandable beam, or (`sample_steps`) width x
    expansions per problem split evenly over its expandable beams (earlier slots take the remainder), so that every
    iteration samples N = width x expansions steps, from the first (one root beam) on, as in Snell et al. (2024)."""
    if not sample_steps:
        return expandable.long() * expansions
    width = expandable.shape[1]
    count = expandable.sum(1, keepdim=True).clamp(min=1)  # (B, 1)
    rank = expandable.long().cumsum(1) - 1  # (B, W) order among the problem's expandable beams
    share = (width * expansions) // count + (rank < (width * expansions) % count).long()  # (B, W)
    return share.masked_fill(~expandable, 0)


def propose(
    problems: Problems, beams: Beams, expandable: torch.Tensor, expansions: int, sample_steps: bool = False
) -> StepCandidates:
    """`expansions` one-step extensions of every expandable beam: its most likely first tokens, each continued
    greedily to its step's end; or (`sample_steps`) width x expansions whole steps per problem sampled from the
    policy and split over its expandable beams (`proposal_shares`), as Snell et al. (2024) propose them (draws with
    replacement: two may coincide, and each is charged)."""
    size, width = beams.shape
    if sample_steps:
        shares = proposal_shares(expandable, expansions, True).view(-1)  # (B*W,)
        parent = torch.arange(size * width, device=shares.device).repeat_interleave(shares)  # (K,)
        before = shares.cumsum(0) - shares  # (B*W,) candidates of earlier rows
        within = torch.arange(parent.shape[0], device=parent.device) - before[parent]  # (K,) index under its parent
        first_row = (parent // width) * width  # (K,) the problem's slot 0
        column = width + before[parent] - before[first_row] + within  # (K,) problem-local: width .. width*(1+E)-1
        uniforms = UniformSource(parent // width, problems.generators)  # each problem draws from its own stream
        log_probs = torch.log_softmax(beams.logits[parent], -1)  # (K, V)
        every = torch.arange(parent.shape[0], device=parent.device)
        first = draw_tokens(log_probs, uniforms(every), fallback_token(problems.stepper.policy))  # (K,)
        first_log_probs = log_probs.gather(-1, first.unsqueeze(-1)).squeeze(-1)  # (K,)
    else:
        uniforms = None
        top = min(expansions, beams.logits.shape[-1])
        top_log_probs, top_tokens = torch.log_softmax(beams.logits, -1).topk(top, dim=-1)  # (B*W, E)
        ok = expandable.view(-1, 1) & torch.isfinite(top_log_probs)  # (B*W, E)
        parent, e = ok.nonzero(as_tuple=True)  # (K,)
        first, first_log_probs = top_tokens[parent, e], top_log_probs[parent, e]  # (K,)
        column = width + (parent % width) * expansions + e  # (K,)
    cands = StepCandidates(
        parent,
        column,
        beams.tokens.view(size * width, -1)[parent].clone(),
        beams.depth.view(-1)[parent].clone(),
        torch.zeros_like(first, dtype=torch.bool),
        beams.log_probs.view(-1)[parent].clone(),
        beams.chars.view(-1)[parent].clone(),
        torch.zeros_like(first),
        first.clone(),
        problems.stepper.take(beams.state, parent),
    )
    append(problems, cands, torch.arange(first.shape[0], device=first.device), first, first_log_probs)
    if not char_steps(problems.task):
        finish_steps(problems, cands, uniforms)
    return cands


def append(problems: Problems, cands: StepCandidates, idx: torch.Tensor, token: torch.Tensor, log_prob: torch.Tensor):
    """Append (k,) `token`s with their log-probs to candidates `idx`, charging one token-step each."""
    is_end = token == EOS
    cands.tokens[idx, cands.depth[idx]] = token
    cands.depth[idx] += 1
    cands.log_probs[idx] += log_prob.masked_fill(is_end, 0.0)
    cands.chars[idx] += (~is_end).long()
    cands.counts[idx] += 1
    cands.done[idx] = is_end | (cands.depth[idx] >= problems.max_length)
    cands.last[idx] = token


def finish_steps(problems: Problems, cands: StepCandidates, uniforms: UniformSource | None = None) -> None:
    """Continue candidates one GRU step per token until each ends its task step (multi-char steps): greedily, or
    sampled with `uniforms` (candidate k draws from its problem's stream)."""
    fallback = fallback_token(problems.stepper.policy)
    while True:
        texts = problems.decode(cands.tokens, cands.depth)
        more = [not d and not ends_step(problems.task, t) for d, t in zip(cands.done.tolist(), texts)]
        idx = torch.tensor(more, dtype=torch.bool, device=cands.done.device).nonzero().squeeze(1)
        if idx.numel() == 0:
            return
        logits, state = problems.stepper.step(cands.last[idx], problems.stepper.take(cands.state, idx))
        problems.stepper.put(cands.state, idx, state)  # rows now stand before their new last token
        log_probs = torch.log_softmax(logits, -1)  # (k, V)
        token = draw_tokens(log_probs, None if uniforms is None else uniforms(idx), fallback)  # (k,)
        append(problems, cands, idx, token, log_probs.gather(-1, token.unsqueeze(-1)).squeeze(-1))


def score_sequences(
    problems: Problems,
    scorer: Scorer,
    problem: torch.Tensor,
    texts: Callable[[], list[str]],
    log_probs: torch.Tensor,
    chars: torch.Tensor,
) -> torch.Tensor:
    """(K,) scores of K (partial) completions of problems (K,); `texts` is called only if the scorer reads text."""
    policy = problems.stepper.policy
    if reads_log_probs(scorer, policy):
        return scorer.from_sums(log_probs, chars).float()
    prompts = [problems.prompts[b] for b in problem.tolist()]
    return score_completions(scorer, policy, prompts, texts(), log_probs, chars)


def pool(
    carried: torch.Tensor,
    cand_values: torch.Tensor,
    problem: torch.Tensor,
    column: torch.Tensor,
    columns: int,
    fill: float | int | bool,
) -> torch.Tensor:
    """(B, W, ...) carried beams and (K, ...) candidates -> one (B, columns, ...) pool, `fill` where empty."""
    out = carried.new_full((carried.shape[0], columns, *carried.shape[2:]), fill)
    out[:, : carried.shape[1]] = carried
    out[problem, column] = cand_values
    return out


def rank(scores: torch.Tensor, exists: torch.Tensor) -> torch.Tensor:
    """(B, P) pool -> (B, P) columns ordered: existing first, by score descending, ties by column (stable)."""
    by_score = scores.argsort(dim=1, descending=True, stable=True)
    by_exists = exists.gather(1, by_score).int().argsort(dim=1, descending=True, stable=True)
    return by_score.gather(1, by_exists)


def select(
    problems: Problems,
    beams: Beams,
    cands: StepCandidates,
    scores: torch.Tensor,
    carried: torch.Tensor,
    expansions: int,
) -> Beams:
    """Keep the W best of carried beams and candidates per problem; step the kept unfinished candidates once."""
    size, width = beams.shape
    columns, problem, device = width * (1 + expansions), cands.parent // width, cands.parent.device

    def pooled(beam_values: torch.Tensor, cand_values: torch.Tensor, fill: float | int | bool) -> torch.Tensor:
        return pool(beam_values, cand_values, problem, cands.column, columns, fill)  # (B, P, ...)

    exists = pooled(carried, torch.ones_like(cands.done), False)  # (B, P)
    pool_scores = pooled(beams.scores, scores, float("-inf"))  # (B, P)
    kept = rank(pool_scores, exists)[:, :width]  # (B, W) pool columns
    no_cand = torch.full((size, width), -1, dtype=torch.long, device=device)
    cand_of = pooled(no_cand, torch.arange(problem.shape[0], device=device), -1).gather(1, kept)  # (B, W) k or -1
    beam_row = torch.where(kept < width, torch.arange(size, device=device).unsqueeze(1) * width + kept, 0)  # (B, W)

    def keep(beam_values: torch.Tensor, cand_values: torch.Tensor, fill: float | int | bool) -> torch.Tensor:
        full = pooled(beam_values, cand_values, fill)
        index = kept.view(size, width, *([1] * (full.dim() - 2))).expand(size, width, *full.shape[2:])
        return full.gather(1, index)  # (B, W, ...)

    alive, done = exists.gather(1, kept), keep(beams.done, cands.done, True)
    logits, state = beams.logits[beam_row.view(-1)], problems.stepper.take(beams.state, beam_row.view(-1))
    slots = ((cand_of >= 0) & alive & ~done).view(-1).nonzero().squeeze(1)  # kept unfinished candidates
    if slots.numel():
        k = cand_of.view(-1)[slots]
        step_logits, step_state = problems.stepper.step(cands.last[k], problems.stepper.take(cands.state, k))
        logits[slots] = step_logits
        problems.stepper.put(state, slots, step_state)
    return Beams(
        keep(beams.tokens, cands.tokens, PAD),
        keep(beams.depth, cands.depth, 0),
        alive,
        done,
        keep(beams.log_probs, cands.log_probs, 0.0),
        keep(beams.chars, cands.chars, 0),
        pool_scores.gather(1, kept),
        logits,
        state,
    )


def final_answers(
    problems: Problems, beams: Beams, scorer: Scorer, spent: torch.Tensor
) -> tuple[list[str], list[float]]:
    """Per problem the best finished beam; where the budget stopped the search, the best live beam is first finished
    greedily (charged to `spent`) and competes with the finished ones (which win ties)."""
    size, width = beams.shape
    finished = beams.alive & beams.done
    best_scores, best = beams.scores.masked_fill(~finished, float("-inf")).max(1)  # (B,)
    rows = torch.arange(size, device=best.device) * width + best
    texts = problems.decode(beams.tokens.view(size * width, -1)[rows], beams.depth.view(-1)[rows])
    best_scores = best_scores.tolist()
    unfinished = beams.alive & ~beams.done
    stopped = unfinished.any(1).nonzero().squeeze(1)  # (S,) problems cut short by the budget
    if stopped.numel():
        rows = stopped * width + beams.scores.masked_fill(~unfinished, float("-inf"))[stopped].argmax(1)  # (S,)
        depth = beams.depth.view(-1)[rows]
        state = problems.stepper.take(beams.state, rows)
        ext = extend(problems.stepper, beams.logits[rows], state, problems.max_length - depth)
        spent.index_add_(0, stopped, ext.counts)
        prefixes = problems.decode(beams.tokens.view(size * width, -1)[rows], depth)
        finishes = [p + t for p, t in zip(prefixes, problems.decode(ext.tokens, ext.counts))]
        log_probs, chars = beams.log_probs.view(-1)[rows] + ext.log_probs, beams.chars.view(-1)[rows] + ext.chars
        finish_scores = score_sequences(problems, scorer, stopped, lambda: finishes, log_probs, chars).tolist()
        for b, text, score in zip(stopped.tolist(), finishes, finish_scores):
            if not best_scores[b] >= score:  # also replaces a -inf (no finished beam)
                texts[b], best_scores[b] = text, score
    return texts, best_scores


@torch.no_grad()
def beam_search(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer,
    generator: Generators = None,
    *,
    width: int | None = None,
    expansions: int = 2,
    sample_steps: bool = False,
    stepper: Stepper | None = None,
) -> list[SearchResult]:
    """Step-level beam search ranked by the step `scorer`; width defaults to budget // (expansions * max_length).

    Candidates are each beam's `expansions` likeliest first tokens, each finished greedily to its step's end
    (deterministic: the generator is unused), or with `sample_steps` N = width x expansions whole steps per problem
    sampled from the policy, split over its live beams (Snell et al. 2024's beam search against a PRM: N samples of
    the first step, then the best `width` each propose N / width). An iteration runs only if it and a greedy finish
    after it fit the budget at worst; a problem stopped early returns its best finished beam or its best live beam
    finished greedily.
    """
    scorer = require_scorer(scorer, "beam")
    problems = make_problems(policy, tokenizer, task, prompts, generator, stepper)
    check_budget("beam", budget, problems.max_length)
    if expansions < 1 or (width is not None and width < 1):
        raise O1Error(f"beam needs width >= 1 and expansions >= 1, got width={width!r}, expansions={expansions!r}")
    width = width if width is not None else max(1, budget // (expansions * problems.max_length))
    beams, per_char = initial_beams(problems, width), char_steps(task)
    spent = torch.zeros(problems.size, dtype=torch.long, device=problems.device)
    active = torch.ones(problems.size, dtype=torch.bool, device=problems.device)
    while True:
        expandable = beams.alive & ~beams.done & active.unsqueeze(1)  # (B, W)
        affords = budget_guard(beams, expandable, spent, budget, expansions, per_char, sample_steps)
        active &= affords | ~expandable.any(1)
        expandable &= active.unsqueeze(1)
        if not bool(expandable.any()):
            break
        cands = propose(problems, beams, expandable, expansions, sample_steps)
        problem = cands.parent // width  # (K,)
        spent.index_add_(0, problem, cands.counts)
        texts = partial(problems.decode, cands.tokens, cands.depth)
        scores = score_sequences(problems, scorer, problem, texts, cands.log_probs, cands.chars)
        beams = select(problems, beams, cands, scores, beams.alive & ~expandable, expansions)
    completions, scores = final_answers(problems, beams, scorer, spent)
    info = [{"width": width, "expansions": expansions, "sample_steps": sample_steps} for _ in problems.prompts]
    return problems.results("beam", budget, completions, scores, scorer, spent.tolist(), info)
