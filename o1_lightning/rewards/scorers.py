"""Scorers: the one reward vocabulary's objects. A scorer turns (prompts, completions) into one float each
(`score_batch`, the signature of a user reward function), and one pair into a float (`__call__`); search applies
it to partial completions as a step score. Oracles read the task's ground truth and say so (`oracle`)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.gru import policy_device
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks.base import Task


class Scorer:
    """A named score of a (partial) completion; `oracle` is True when it reads the task's ground truth."""

    name: str = "scorer"
    oracle: bool = False

    def __call__(self, prompt: str, completion: str) -> float:
        raise NotImplementedError

    def score_batch(self, prompts: list[str], completions: list[str]) -> list[float]:
        """Scores of many pairs; override to batch (a reward model), the default calls one pair at a time."""
        return [float(self(p, c)) for p, c in zip(prompts, completions)]

    def score_tokens(self, prompts: list[str], char_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor | None:
        """Optional fast path on token ids: (B, L) completion characters as vocab indices (anything past `lengths`
        is padding) and (B,) lengths -> (B,) scores; None means "read the text" (`score_batch`)."""
        return None


class OutcomeScorer(Scorer):
    """ORACLE: the task's verifier, 1.0 for a correct completion else 0.0."""

    oracle = True

    def __init__(self, task: Task) -> None:
        self.task = task
        self.name = "outcome"

    def __call__(self, prompt: str, completion: str) -> float:
        return float(self.task.outcome(prompt, completion))


class ProcessScorer(Scorer):
    """ORACLE: the task's step checker on the steps so far: their fraction correct, or 1.0 only if all are ('all').

    An empty completion has no correct step and scores 0.0, so stopping at once is never the best answer.
    """

    oracle = True

    def __init__(self, task: Task, reduce: str = "fraction") -> None:
        if reduce not in ("fraction", "all"):
            raise O1Error(f"unknown ProcessScorer reduce {reduce!r}; allowed: fraction, all")
        self.task, self.reduce = task, reduce
        self.name = f"process_{reduce}"

    def __call__(self, prompt: str, completion: str) -> float:
        checks = self.task.process(prompt, completion)
        if not checks:
            return 0.0
        return sum(checks) / len(checks) if self.reduce == "fraction" else float(all(checks))


class PolicyLogProbScorer(Scorer):
    """NOT an oracle: the policy's log-probability of the completion's characters (end token excluded), 'sum' or 'mean'.

    Search with this scorer's own policy reuses the log-probs it already tracks (no extra GRU pass); called
    directly, it teacher-forces BOS + prompt + completion through `policy.forward`.
    """

    oracle = False

    def __init__(self, policy: nn.Module, tokenizer: CharTokenizer, reduce: str = "sum") -> None:
        if reduce not in ("sum", "mean"):
            raise O1Error(f"unknown PolicyLogProbScorer reduce {reduce!r}; allowed: sum, mean")
        self.policy, self.tokenizer, self.reduce = policy, tokenizer, reduce
        self.name = f"policy_logprob_{reduce}"

    def from_sums(self, log_probs: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
        """(N,) summed log-probs over (N,) character counts -> (N,) scores."""
        return log_probs if self.reduce == "sum" else log_probs / chars.clamp(min=1)

    def __call__(self, prompt: str, completion: str) -> float:
        return self.score_batch([prompt], [completion])[0]

    @torch.no_grad()
    def score_batch(self, prompts: list[str], completions: list[str]) -> list[float]:
        device = policy_device(self.policy)
        tokens, lengths = self.tokenizer.encode_prompts([p + c for p, c in zip(prompts, completions)], device)
        log_probs = torch.log_softmax(self.policy(tokens)[0][:, :-1], dim=-1)  # (N, T-1, V) predicting tokens[:, 1:]
        chosen = log_probs.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)  # (N, T-1)
        positions = torch.arange(tokens.shape[1] - 1, device=device)  # transition j predicts token j + 1
        starts = torch.tensor([len(p) for p in prompts], device=device)  # BOS + prompt ends at index len(p)
        in_completion = (positions >= starts.unsqueeze(1)) & (positions < lengths.to(device).unsqueeze(1) - 1)
        sums = chosen.masked_fill(~in_completion, 0.0).sum(-1)  # (N,)
        chars = torch.tensor([len(c) for c in completions], device=device)
        return self.from_sums(sums, chars).tolist()


class FunctionScorer(Scorer):
    """Wraps a plain callable (e.g. a learned reward model); its `name`, `oracle` and `score_batch` are used if set."""

    def __init__(self, function: Callable[[str, str], float], name: str | None = None, oracle: bool | None = None):
        self.function = function
        self.name = name or getattr(function, "name", None) or getattr(function, "__name__", type(function).__name__)
        self.oracle = bool(oracle if oracle is not None else getattr(function, "oracle", False))

    def __call__(self, prompt: str, completion: str) -> float:
        return float(self.function(prompt, completion))

    def score_batch(self, prompts: list[str], completions: list[str]) -> list[float]:
        batch = getattr(self.function, "score_batch", None)
        return [float(s) for s in batch(prompts, completions)] if batch else super().score_batch(prompts, completions)


class BatchFunctionScorer(Scorer):
    """A user reward function `(prompts, completions) -> list[float]`, as TRL's reward_funcs take; its optional
    `oracle` and `step_scores` attributes are kept, and a `score_tokens` attribute is its fast path on token ids."""

    def __init__(self, function: Callable[[list[str], list[str]], list[float]], name: str) -> None:
        self.function, self.name = function, name
        self.oracle = bool(getattr(function, "oracle", False))
        if hasattr(function, "step_scores"):
            self.step_scores = function.step_scores

    def __call__(self, prompt: str, completion: str) -> float:
        return self.score_batch([prompt], [completion])[0]

    def score_batch(self, prompts: list[str], completions: list[str]) -> list[float]:
        scores = [float(s) for s in self.function(prompts, completions)]
        if len(scores) != len(prompts):
            raise O1Error(f"reward {self.name!r} returned {len(scores)} scores for {len(prompts)} completions")
        return scores

    def score_tokens(self, prompts: list[str], char_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor | None:
        fast = getattr(self.function, "score_tokens", None)
        return None if fast is None else fast(prompts, char_ids, lengths)


class WeightedSumScorer(Scorer):
    """A weighted sum of scorers (`outcome+0.5*mypkg.length_penalty`); an oracle when any of its terms is."""

    def __init__(self, terms: list[tuple[float, Scorer]], name: str) -> None:
        self.terms, self.name = terms, name
        self.oracle = any(scorer.oracle for _, scorer in terms)

    def __call__(self, prompt: str, completion: str) -> float:
        return self.score_batch([prompt], [completion])[0]

    def score_batch(self, prompts: list[str], completions: list[str]) -> list[float]:
        total = [0.0] * len(prompts)
        for weight, scorer in self.terms:
            total = [t + weight * s for t, s in zip(total, scorer.score_batch(prompts, completions))]
        return total


def as_scorer(scorer: Scorer | Callable[[str, str], float] | None) -> Scorer | None:
    """A Scorer as is, a callable wrapped in FunctionScorer, None kept."""
    if scorer is None or isinstance(scorer, Scorer):
        return scorer
    if not callable(scorer):
        raise O1Error(f"scorer {scorer!r} is not callable; give a Scorer or a function (prompt, completion) -> float")
    return FunctionScorer(scorer)


def require_scorer(scorer: Scorer | Callable[[str, str], float] | None, method: str) -> Scorer:
    """The scorer of a method that cannot run without one, or a one-line error naming the choices."""
    scorer = as_scorer(scorer)
    if scorer is None:
        raise O1Error(
            f"search method {method!r} needs a scorer: OutcomeScorer(task), ProcessScorer(task), "
            "PolicyLogProbScorer(policy, tokenizer) or a callable (prompt, completion) -> float"
        )
    return scorer


def reads_log_probs(scorer: Scorer, policy: nn.Module) -> bool:
    """True when the scorer only needs the log-probs search already tracks (no text, no extra GRU pass)."""
    return isinstance(scorer, PolicyLogProbScorer) and scorer.policy is policy


def score_completions(
    scorer: Scorer,
    policy: nn.Module,
    prompts: list[str],
    completions: list[str],
    log_probs: torch.Tensor | None = None,
    chars: torch.Tensor | None = None,
) -> torch.Tensor:
    """(N,) float scores; a PolicyLogProbScorer of the searching policy reads the tracked (N,) log-prob sums."""
    if reads_log_probs(scorer, policy) and log_probs is not None:
        return scorer.from_sums(log_probs, chars).float()
    device = log_probs.device if log_probs is not None else None
    return torch.tensor(scorer.score_batch(prompts, completions), dtype=torch.float, device=device)
