"""Countdown with 4 numbers: greedy against best-of-N, majority, beam search and MCTS at equal budgets.

Set beside Tree of Thoughts' Game of 24 table (Yao et al. 2023, GPT-4: chain of thought 4.0%, CoT self-consistency
over 100 samples 9.0%, CoT best of 100 (an oracle pick) 49%, tree search with b=5 74%). The policy imitates
solver demonstrations and is stopped early; an ORM and a PRM are trained on its own rollouts with exact labels
(the PRM's step label: all steps valid and the target still reachable). Learned scorers are NOT oracles; the rows
marked oracle read the verifier or the exact step labels and are puzzle-solving upper references.

Goal: the best search at 64x one answer's length reaches at least 3x the greedy accuracy.
Prints one JSON line per figure {"name", "value", "unit"} and a markdown table.
Run: `python benchmarks/countdown_search.py [--quick]`; policies and reward models are cached under checkpoints/.
"""

from __future__ import annotations

import argparse
import time

import torch
from scaling_common import Spec, accuracy, emit, table, with_width

from o1_lightning.app.reward_models.fit import fit_reward_models, scorers_of
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned import exact_step_labels
from o1_lightning.search import FunctionScorer, OutcomeScorer
from o1_lightning.tasks import CountdownTask

POLICY_STEPS = 4000
CACHE = "checkpoints"


def exact_prm(task: CountdownTask) -> FunctionScorer:
    """ORACLE: the exact step labels' minimum (1 while every step is valid and the target still reachable)."""

    def score(prompt: str, completion: str) -> float:
        labels = exact_step_labels(task, prompt, completion)
        return float(all(labels)) if labels else 0.0

    return FunctionScorer(score, name="exact_step_labels", oracle=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a barely trained policy, few prompts, small budgets (a smoke run)"
    )
    parser.add_argument("--prompts", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = CountdownTask(4)
    tokenizer = CharTokenizer(task.vocab)
    start = time.perf_counter()
    steps = 50 if args.quick else POLICY_STEPS
    policy = cached_imitation(task, steps, f"{CACHE}/policies")
    fit = {"cache_dir": f"{CACHE}/reward_models", "cache_key": f"countdown4_imitation{steps}"}
    if args.quick:
        fit |= {"num_prompts": 64, "epochs": 1}
    models = fit_reward_models(task, policy, **fit)
    emit("setup_seconds", round(time.perf_counter() - start, 1), "s (policy + reward models, or cache reads)")
    for kind, (_, metrics) in models.items():
        emit(f"countdown_{kind}_rm_val_accuracy", round(metrics["val/rm_accuracy"], 4), "fraction (held out)")
    orm = scorers_of(task, {"outcome": models["outcome"]})["outcome"]
    prm = scorers_of(task, {"process": models["process"]}, "min")["process"]
    specs = [
        Spec("greedy", "greedy", budgets=[1]),
        Spec("majority vote (self-consistency)", "majority"),
        Spec("best-of-N, ORM", "best_of_n", orm),
        Spec("best-of-N, PRM min", "best_of_n", prm),
        Spec("beam, PRM min", "beam", prm),
        Spec("MCTS, ORM leaves", "mcts", orm),
        Spec("MCTS, PRM min leaves", "mcts", prm),
        Spec("best-of-N, verifier", "best_of_n", OutcomeScorer(task)),
        Spec("beam, exact step labels", "beam", exact_prm(task)),
        Spec("MCTS, verifier leaves", "mcts", OutcomeScorer(task)),
    ]
    multipliers = [1, 4] if args.quick else [1, 4, 16, 64]
    prompts = task.sample_prompts(8 if args.quick else args.prompts, torch.Generator().manual_seed(100))
    rows = {}
    for spec in specs:
        for m in spec.budgets or multipliers:
            row = accuracy(with_width(spec, m), policy, tokenizer, task, prompts, m * task.max_length)
            rows[(spec.label, m)] = row
            slug = spec.label.replace(", ", "_").replace(" ", "_").replace("(", "").replace(")", "")
            emit(f"countdown_{slug}_{m}x_accuracy", row["accuracy"], f"fraction ({row['scorer']})")
            emit(f"countdown_{slug}_{m}x_seconds", round(row["seconds"], 1), "s")
    top = max(multipliers)
    greedy_accuracy = rows[("greedy", 1)]["accuracy"]
    for oracle in (False, True):
        best = max((row["accuracy"], label) for (label, m), row in rows.items() if m == top and row["oracle"] == oracle)
        kind = "oracle" if oracle else "learned_or_none"
        ratio = best[0] / greedy_accuracy if greedy_accuracy else float("inf")
        emit(f"countdown_best_{kind}_search_{top}x_accuracy", best[0], f"fraction ({best[1]})")
        emit(f"countdown_best_{kind}_search_over_greedy", round(ratio, 2), "x", ">= 3")
    print(f"\n### Countdown, 4 numbers ({len(prompts)} prompts, 1x = {task.max_length} token-steps)\n")
    print(table(rows, specs, multipliers), flush=True)
    emit("total_seconds", round(time.perf_counter() - start, 1), "s")


if __name__ == "__main__":
    main()
