"""Does the seed config carry over? configs/hello.yaml on 5 short targets x 3 seeds, updates and wall time to solve.

The targets follow a fixed rule, chosen before any run: "hello" (the seed's), "good day" (README's example) and
three strings drawn by `random.Random(2026)`: length uniform in 3..12, characters uniform over the vocabulary.
The recipe was tuned on other targets ("good day" aside): see `TUNED_ON`. Each run is
`python train.py fit --config configs/hello.yaml --data.task.init_args.target T --seed_everything S
--data.seed S` for at most `--max-updates` updates; solved = greedy decoding types the target (val/accuracy 1,
checked after every update). Prints one JSON line per run and per figure, with the load average beside it.
Run: `python benchmarks/short_targets.py [--seeds 0 1 2] [--max-updates 100]`.
"""

from __future__ import annotations

import argparse
import random

from common import emit_run, fit_in_scratch, summarise_solved_runs

VOCAB = "abcdefghijklmnopqrstuvwxyz "
TUNED_ON = ["good day", "hello", "abc", "reinforce me"]


def benchmark_targets(count: int = 3, seed: int = 2026) -> list[str]:
    """ "hello", "good day" and `count` random strings of 3..12 characters of the vocabulary, from `seed`."""
    generator = random.Random(seed)
    drawn = ["".join(generator.choice(VOCAB) for _ in range(generator.randint(3, 12))) for _ in range(count)]
    return ["hello", "good day", *drawn]


def run(config: str, target: str, seed: int, max_updates: int, extra: list[str]) -> dict:
    """One fit in a scratch folder (its checkpoints too); updates to solve (None: not within max_updates)."""
    args = ["--data.task.init_args.target", target, "--seed_everything", str(seed), "--data.seed", str(seed)]
    args += ["--trainer.max_steps", str(max_updates), "--trainer.enable_model_summary", "false", *extra]
    seconds, curves = fit_in_scratch(config, args, ("val/accuracy",))
    accuracy = curves["val/accuracy"]
    solved = [step for step, value in sorted(accuracy.items()) if value == 1.0]
    return {"target": target, "seed": seed, "updates": solved[0] + 1 if solved else None, "wall_s": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="hello.yaml")
    parser.add_argument("--targets", nargs="*", default=None, help="default: the benchmark rule's five")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--max-updates", type=int, default=100)
    parser.add_argument("--extra", nargs="*", default=[], help="more CLI overrides, e.g. --model.lr=0.02")
    args = parser.parse_args()
    targets = args.targets or benchmark_targets()
    runs = []
    for target in targets:
        for seed in args.seeds:
            runs.append(run(args.config, target, seed, args.max_updates, args.extra))
            emit_run("short_target_run", runs[-1])
        summarise_solved_runs(f"short_target_{target.replace(' ', '_')}", runs[-len(args.seeds) :], args.seeds)
    summarise_solved_runs("short_targets", runs, args.seeds)


if __name__ == "__main__":
    main()
