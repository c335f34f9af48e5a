"""How well Monte Carlo step labels (Math-Shepherd) agree with exact ones, for several N, on the policy's own rollouts.

A policy imitates demonstrations for a while (stopped early: it still makes mistakes), writes completions of fresh
prompts, and every intermediate step of them gets an exact label (all steps so far correct; on Countdown also
"the target is still reachable") and Monte Carlo labels from N policy completions of its prefix (hard: any succeeds).
The last step of a completion is excluded: both label it with the verifier. The same prefixes are labelled for every
N, with independent draws.

Prints one JSON line per figure {"name", "value", "unit"} and a markdown table per task.
Run: `python benchmarks/mc_labels.py [--quick]` (imitated policies are cached under checkpoints/policies).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned import label_agreement, monte_carlo_labels, policy_rollouts
from o1_lightning.rewards.learned.labels import exact_step_labels
from o1_lightning.tasks import AdditionTask, CountdownTask

CACHE = "checkpoints/policies"
POLICY_STEPS = {"addition": 4000, "countdown": 4000}  # the same policies as benchmarks/test_time_compute.py


def emit(name: str, value: float, unit: str) -> None:
    value = None if value != value else value  # NaN (no step of that kind) is not JSON: null
    print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)


def agreement_by_n(name: str, task, steps: int, prompts: int, samples: int, ns: list[int]) -> None:
    policy = cached_imitation(task, steps, CACHE)
    tokenizer = CharTokenizer(task.vocab)
    generator = torch.Generator().manual_seed(0)
    prompt_list = task.sample_prompts(prompts, generator)
    repeated, completions = policy_rollouts(policy, tokenizer, task, prompt_list, samples, generator)
    exact = [exact_step_labels(task, p, c) for p, c in zip(repeated, completions)]
    solved = sum(task.outcome(p, c) for p, c in zip(repeated, completions)) / len(completions)
    emit(f"{name}_rollout_success", round(solved, 4), "fraction of sampled completions verified")
    rows = []
    for n in ns:
        start = time.perf_counter()
        soft = monte_carlo_labels(policy, tokenizer, task, repeated, completions, n, torch.Generator().manual_seed(n))
        seconds = time.perf_counter() - start
        stats = label_agreement(exact, soft)
        for key in ("agreement", "false_negative_rate", "false_positive_rate", "soft_on_positive", "soft_on_negative"):
            emit(f"{name}_mc{n}_{key}", round(stats[key], 4), "fraction")
        emit(f"{name}_mc{n}_seconds", round(seconds, 1), "s")
        rows.append((n, stats, seconds))
    steps_total, positive = rows[0][1]["steps"], rows[0][1]["exact_positive_fraction"]
    emit(f"{name}_intermediate_steps", steps_total, "steps")
    emit(f"{name}_exact_positive_fraction", round(positive, 4), "fraction")
    print(
        f"\n{name}: {len(completions)} rollouts ({solved:.1%} verified), {steps_total} intermediate steps, "
        f"{positive:.1%} on track by the exact labels\n"
    )
    print(
        "| N | agreement | false negatives (exact 1, MC 0) | false positives (exact 0, MC 1) | "
        "mean soft label, exact 1 | mean soft label, exact 0 | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, s, seconds in rows:
        print(
            f"| {n} | {s['agreement']:.3f} | {s['false_negative_rate']:.3f} | {s['false_positive_rate']:.3f} | "
            f"{s['soft_on_positive']:.3f} | {s['soft_on_negative']:.3f} | {seconds:.1f} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a barely trained policy, few rollouts, N up to 4 (a smoke run)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    ns = [1, 4] if args.quick else [1, 4, 16, 64]
    prompts = 16 if args.quick else 256
    steps = {name: 50 for name in POLICY_STEPS} if args.quick else POLICY_STEPS
    agreement_by_n("addition", AdditionTask(1, 5), steps["addition"], prompts, 2, ns)
    agreement_by_n("countdown", CountdownTask(4), steps["countdown"], prompts, 2, ns)


if __name__ == "__main__":
    main()
