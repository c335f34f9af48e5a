"""Labels for reward models: exact ones from the task's checkers, and Monte Carlo ones from the policy (Math-Shepherd).

A step label asks: is the completion still on track after this step? Exactly: every step so far is correct by the
step checker and, on Countdown, the target is still reachable from the numbers left (the solver decides). By Monte
Carlo (Wang et al. 2023, Math-Shepherd): sample N completions of the prefix with the policy; the hard label is 1 if
any reaches a verified answer, the soft label is the fraction that do. The last step of a completion is labelled by
the verifier alone (its answer is already written), as in Math-Shepherd.
"""

from __future__ import annotations

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.gru import policy_device
from o1_lightning.policy.sampler import sample
from o1_lightning.policy.sequences import decode_completions
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.model import step_ends
from o1_lightning.tasks.base import Task


def exact_step_labels(task: Task, prompt: str, completion: str) -> list[bool]:
    """One label per step: every step up to it is right by `Task.progress` (correct and, on Countdown, the target
    still reachable)."""
    labels, on_track = [], True
    for ok in task.progress(prompt, completion):
        on_track = on_track and ok
        labels.append(on_track)
    if labels:  # the last step is judged by the verifier: its answer is written
        labels[-1] = labels[-1] and task.outcome(prompt, completion)
    return labels


@torch.no_grad()
def monte_carlo_labels(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    completions: list[str],
    samples: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    max_rows: int = 4096,
) -> list[list[float]]:
    """Soft Monte Carlo labels, one per step of each whole completion: the fraction of `samples` policy completions
    of the step's prefix that the verifier accepts (the last step: the verifier on the completion itself, 0 or 1).

    Hard labels are `soft > 0`. Prefixes are sampled in batches of at most `max_rows` continuations, each prefix
    read as part of the prompt (BOS + prompt + prefix gives the same GRU state as generating the prefix).
    """
    if samples < 1:
        raise O1Error(f"Monte Carlo labels need samples >= 1, got {samples}")
    labels = [[0.0] * len(step_ends(task, c)) for c in completions]
    jobs = []  # (completion index, step index, prefix)
    for i, (prompt, completion) in enumerate(zip(prompts, completions)):
        step_list = step_ends(task, completion)
        for k, end in enumerate(step_list[:-1]):
            jobs.append((i, k, completion[:end]))
        if step_list:
            labels[i][-1] = float(task.outcome(prompt, completion))
    per_batch = max(1, max_rows // samples)
    for start in range(0, len(jobs), per_batch):
        batch = jobs[start : start + per_batch]
        contexts = [prompts[i] + prefix for i, _, prefix in batch for _ in range(samples)]
        limits = [task.max_length - len(prefix) for _, _, prefix in batch for _ in range(samples)]
        tokens, lengths = tokenizer.encode_prompts(contexts, policy_device(policy))
        drawn = sample(policy, tokens, lengths, max(limits), generator, temperature)
        tails = decode_completions(tokenizer, drawn)
        for j, (i, k, prefix) in enumerate(batch):
            wins = 0
            for s in range(j * samples, (j + 1) * samples):
                tail = tails[s][: limits[s]]  # stopping at the row's own limit: the same draws, cut where it must end
                wins += task.outcome(prompts[i], prefix + tail)
            labels[i][k] = wins / samples
    return labels


def label_agreement(exact: list[list[bool]], soft: list[list[float]]) -> dict[str, float]:
    """How Monte Carlo hard labels (soft > 0) match exact ones over every step but the last (the last is exact).

    Returns agreement, the false-negative rate (exact 1, MC 0), the false-positive rate (exact 0, MC 1) and the
    mean soft label on exact-positive and exact-negative steps.
    """
    pairs = [(e, s) for ex, so in zip(exact, soft) for e, s in zip(ex[:-1], so[:-1])]
    if not pairs:
        raise O1Error("no intermediate steps to compare: the completions have at most one step each")
    positives = [s for e, s in pairs if e]
    negatives = [s for e, s in pairs if not e]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    return {
        "steps": len(pairs),
        "agreement": mean([float(e == (s > 0)) for e, s in pairs]),
        "false_negative_rate": mean([float(s == 0) for s in positives]),
        "false_positive_rate": mean([float(s > 0) for s in negatives]),
        "soft_on_positive": mean(positives),
        "soft_on_negative": mean(negatives),
        "exact_positive_fraction": len(positives) / len(pairs),
    }
