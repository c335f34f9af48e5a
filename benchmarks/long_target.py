"""Long targets by RL alone against the oracle-imitation ablation: 3 targets x 3 seeds, updates and wall to solve.

Variants (each a config run through the real CLI, `--seed_everything S --data.seed S`):
  rl                 configs/long_target.yaml: process reward + KL(uniform || policy), no search (<= 10 min wall)
  oracle_imitation   configs/long_target_oracle_imitation.yaml: a beam over all 27 characters scored by the step
                     checker reads the target out, and training imitates it (at most 400 updates)
  entropy_0.05, entropy_0.01
                     ablations: configs/long_target.yaml with the entropy bonus in place of the uniform KL
  outcome, outcome+shaping
                     ablations: the seed's outcome reward (gamma 0.99, entropy 0.01), alone or with shaping
                     (the ablations are not run by default: they do not solve, so each costs --max-updates or the
                     config's 10 minutes)
Targets, by a fixed rule chosen before any benchmark run: two strings drawn by `random.Random(4064)` (length
uniform in 40..64, characters uniform over the 27) and one sentence written for this benchmark. The recipe was
tuned on other targets (`TUNED_ON`). Solved = greedy decoding types the target (val/accuracy 1, checked every 5
updates, so updates are multiples of 5). Wall seconds are the whole fit, start-up included, on a shared machine:
each line carries the load average. Prints one JSON line per run and per figure.
Run: `python benchmarks/long_target.py [--variants rl oracle_imitation] [--seeds 0 1 2]`.
"""

from __future__ import annotations

import argparse
import random

from common import emit_run, fit_in_scratch, summarise_solved_runs

VOCAB = "abcdefghijklmnopqrstuvwxyz "
SENTENCE = "a policy learns to type this sentence by reinforcement alone"
TUNED_ON = [
    "the quick brown fox jumps over the lazy dog and runs off",
    "ynbiqpmz jplsgqejeydtzirwztejdxcvkprdlnktugrpoqibzra",  # random.Random(0), the same rule
]
ENTROPY_ONLY = ["--model.uniform_kl_coef", "0", "--model.entropy_coef"]
OUTCOME = ["--data.gamma", "0.99", *ENTROPY_ONLY, "0.01", "--data.reward"]
VARIANTS = {  # name: (config, overrides)
    "rl": ("long_target.yaml", []),
    "oracle_imitation": ("long_target_oracle_imitation.yaml", ["--trainer.max_steps", "400"]),
    "entropy_0.05": ("long_target.yaml", [*ENTROPY_ONLY, "0.05"]),
    "entropy_0.01": ("long_target.yaml", [*ENTROPY_ONLY, "0.01"]),
    "outcome": ("long_target.yaml", [*OUTCOME, "outcome"]),
    "outcome+shaping": ("long_target.yaml", [*OUTCOME, "outcome+shaping"]),
}


def benchmark_targets(seed: int = 4064) -> list[str]:
    """Two random strings of 40..64 characters of the vocabulary from `seed`, and the benchmark's sentence."""
    generator = random.Random(seed)
    drawn = ["".join(generator.choice(VOCAB) for _ in range(generator.randint(40, 64))) for _ in range(2)]
    return [*drawn, SENTENCE]


def run(variant: str, target: str, seed: int, max_updates: int | None = None) -> dict:
    """One fit in a scratch folder (its checkpoints too): updates to solve (None: not solved) and wall seconds."""
    config, overrides = VARIANTS[variant]
    args = ["--data.task.init_args.target", target, "--seed_everything", str(seed), "--data.seed", str(seed)]
    args += ["--trainer.enable_model_summary", "false", *overrides]
    args += ["--trainer.max_steps", str(max_updates)] if max_updates else []
    seconds, curves = fit_in_scratch(config, args, ("val/accuracy", "val/step_accuracy"))
    accuracy, step_accuracy = curves["val/accuracy"], curves["val/step_accuracy"]
    solved = [step for step, value in sorted(accuracy.items()) if value == 1.0]
    return {
        "variant": variant,
        "target": target,
        "length": len(target),
        "seed": seed,
        "updates": solved[0] + 1 if solved else None,
        "updates_run": max(accuracy, default=-1) + 1,  # at the last validation
        "wall_s": round(seconds, 1),
        "best_step_accuracy": round(max(step_accuracy.values(), default=0.0), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=["rl", "oracle_imitation"], choices=list(VARIANTS))
    parser.add_argument("--targets", nargs="*", default=None, help="default: the benchmark rule's three")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--max-updates", type=int, default=None, help="default: each config's (and 10 minutes)")
    args = parser.parse_args()
    targets = args.targets or benchmark_targets()
    for variant in args.variants:
        rows = []
        for target in targets:
            for seed in args.seeds:
                rows.append(run(variant, target, seed, args.max_updates))
                emit_run("long_target_run", rows[-1])
            summarise_solved_runs(f"long_target_{variant}_{len(target)}chars", rows[-len(args.seeds) :], args.seeds)
        summarise_solved_runs(f"long_target_{variant}", rows, args.seeds)


if __name__ == "__main__":
    main()
