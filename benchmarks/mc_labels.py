"""How well Monte Carlo step labels (Math-Shepherd) agree with exact ones, for several N, on the policy's own rollouts.

A policy imitates demonstrations for a while (stopped early: it still makes mistakes), writes completions of fresh
prompts, and every intermediate step of them gets an exact label (all steps so far correct; on Countdown also
"the target is still reachable") and Monte Carlo labels from N policy completions of its prefix (hard: any succeeds).
The last step of a completion is excluded: both label it with the verifier. The same prefixes are labelled for every
N, with independent draws. Prompts are eval-split (never imitated); policy, rollouts and draws are redone per seed.

Prints one JSON line per figure (mean, ci95, seeds) and a markdown table per task.
Run: `python benchmarks/mc_labels.py [--quick] [--seeds 0 1 2]` (imitated policies are cached under
checkpoints/policies).
"""

from __future__ import annotations

import argparse
import time

import torch
from common import emit, format_ci, summarise

from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned import label_agreement, monte_carlo_labels, policy_rollouts
from o1_lightning.rewards.learned.labels import exact_step_labels
from o1_lightning.tasks import AdditionTask, CountdownTask

CACHE = "checkpoints/policies"
POLICY_STEPS = {"addition": 4000, "countdown": 4000}  # the same policies as benchmarks/test_time_compute.py


KEYS = ("agreement", "false_negative_rate", "false_positive_rate", "soft_on_positive", "soft_on_negative")


def agreement_of_seed(task, steps: int, prompts: int, samples: int, ns: list[int], seed: int) -> dict[str, float]:
    """One seed's figures: rollout success, exact-positive share and, per N, agreement and error rates."""
    policy = cached_imitation(task, steps, CACHE, seed=seed)
    tokenizer = CharTokenizer(task.vocab)
    generator = torch.Generator().manual_seed(seed)
    prompt_list = task.sample_prompts(prompts, generator, "eval")
    repeated, completions = policy_rollouts(policy, tokenizer, task, prompt_list, samples, generator)
    exact = [exact_step_labels(task, p, c) for p, c in zip(repeated, completions)]
    figures = {"rollout_success": sum(task.outcome(p, c) for p, c in zip(repeated, completions)) / len(completions)}
    for n in ns:
        start = time.perf_counter()
        draws = torch.Generator().manual_seed(1000 * seed + n)
        soft = monte_carlo_labels(policy, tokenizer, task, repeated, completions, n, draws)
        figures[f"mc{n}_seconds"] = time.perf_counter() - start
        stats = label_agreement(exact, soft)
        figures |= {f"mc{n}_{key}": stats[key] for key in KEYS}
        figures["intermediate_steps"], figures["exact_positive_fraction"] = (
            stats["steps"],
            stats["exact_positive_fraction"],
        )
    return figures


def agreement_by_n(name: str, task, steps: int, prompts: int, samples: int, ns: list[int], seeds: list[int]) -> None:
    per_seed = [agreement_of_seed(task, steps, prompts, samples, ns, seed) for seed in seeds]
    lines = {}
    for key in per_seed[0]:
        values = [figures[key] for figures in per_seed]
        unit = "s" if key.endswith("seconds") else "steps" if key == "intermediate_steps" else "fraction"
        if any(value != value for value in values):  # NaN: no step of that kind in some seed
            lines[key] = emit(f"{name}_{key}", {"mean": None, "ci95": None, "seeds": seeds}, unit, note="no such step")
            continue
        bounds = (0, 1) if unit == "fraction" else None
        lines[key] = emit(f"{name}_{key}", summarise(values, seeds, bounds), unit, prompts_split="eval")
    verified, on_track = format_ci(lines["rollout_success"]), format_ci(lines["exact_positive_fraction"])
    print(
        f"\n{name}: {prompts * samples} rollouts per seed, seeds {seeds}; rollouts verified {verified}; "
        f"steps on track by the exact labels {on_track}\n"
    )
    print("| N | agreement | false negatives (exact 1, MC 0) | false positives (exact 0, MC 1) | seconds |")
    print("|---|---|---|---|---|")
    for n in ns:
        cells = [
            format_ci(lines[f"mc{n}_{key}"]) if lines[f"mc{n}_{key}"]["mean"] is not None else "-" for key in KEYS[:3]
        ]
        print(f"| {n} | " + " | ".join(cells) + f" | {lines[f'mc{n}_seconds']['mean']:.1f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a barely trained policy, few rollouts, N up to 4 (a smoke run)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (at least 3)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ns = [1, 4] if args.quick else [1, 4, 16, 64]
    prompts = 16 if args.quick else 256
    steps = {name: 50 for name in POLICY_STEPS} if args.quick else POLICY_STEPS
    agreement_by_n("addition", AdditionTask(1, 5), steps["addition"], prompts, 2, ns, args.seeds)
    agreement_by_n("countdown", CountdownTask(4), steps["countdown"], prompts, 2, ns, args.seeds)


if __name__ == "__main__":
    main()
