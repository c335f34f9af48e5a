"""Addition of 1-8 digits on a CPU: configs/addition_attention_sft.yaml, greedy accuracy and CPU minutes per seed.

Runs the config through the real CLI in this process once per seed (seed_everything and data.seed), each in
--workdir/seedN, then measures greedy accuracy of its last.ckpt on eval-split prompts (the stream of
benchmarks/policy_init.py and addition_breakdown.py: generator seed 2024, split "eval", never trained on), on all of
them and on those whose longer operand has 8 digits; CPU minutes are the fit's process time (one torch thread).
One JSON line per figure (mean, 95% t interval, seeds), then the goal (>= 0.99 in <= 30 CPU minutes per seed) and
the val/accuracy curve against steps and CPU minutes. A seed already done (its result.json) is read, not rerun,
so seeds can run one at a time and be summarised together. Options after `--` go to the fit (an ablation: give it
its own --label and --workdir):

    PYTHONPATH=$PWD python benchmarks/addition_solved.py --seeds 0 1 2
    PYTHONPATH=$PWD python benchmarks/addition_solved.py --label constant_lr --workdir runs/addition_constant_lr \
        -- --model.lr_schedule constant
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from common import accuracy, curve, emit, fit, format_ci, load_policy, summarise

from o1_lightning.tasks import AdditionTask

CONFIG = "addition_attention_sft.yaml"
GOAL_ACCURACY, GOAL_CPU_MINUTES = 0.99, 30.0


def run_seed(seed: int, args: argparse.Namespace, prompts: list[str], task: AdditionTask) -> dict:
    """Fit the recipe with `seed` in the current folder; its accuracies, minutes and val curve."""
    extra = (["--trainer.max_steps", str(args.steps)] if args.steps else []) + args.fit_args
    spent = fit(CONFIG, "--seed_everything", str(seed), "--data.seed", str(seed), "--torch_threads", "1", *extra)
    policy = load_policy(Path("checkpoints/addition_attention_sft/last.ckpt"))
    eight = [p for p in prompts if max(len(n) for n in p[:-1].split("+")) == 8]
    steps_per_cpu_s = max(curve(Path("lightning_logs"), "train/loss")) / spent["cpu_s"]
    return {
        "greedy": accuracy(policy, task, prompts),
        "greedy_8_digit_operand": accuracy(policy, task, eight),
        "cpu_minutes": spent["cpu_s"] / 60,
        "wall_minutes": spent["wall_s"] / 60,
        "val_curve": {str(step): value for step, value in curve(Path("lightning_logs"), "val/accuracy").items()},
        "steps_per_cpu_minute": 60 * steps_per_cpu_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="override trainer.max_steps (the lr decays over it)")
    parser.add_argument("--eval-prompts", type=int, default=2000)
    parser.add_argument("--workdir", default="runs/addition_solved")
    parser.add_argument("--label", default="recipe", help="names the figures: addition_solved/LABEL/...")
    parser.add_argument("fit_args", nargs="*", help="after --: more options for the fit (an ablation)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = AdditionTask(1, 8)
    prompts = task.sample_prompts(args.eval_prompts, torch.Generator().manual_seed(2024), "eval")
    results = []
    for seed in args.seeds:
        folder = Path(args.workdir, f"seed{seed}").resolve()
        done = folder / "result.json"
        if not done.exists():
            if folder.exists():
                parser.error(f"{folder} holds an unfinished run: remove it or give a fresh --workdir")
            folder.mkdir(parents=True)
            here = Path.cwd()
            os.chdir(folder)
            try:
                result = run_seed(seed, args, prompts, task)
            finally:
                os.chdir(here)
            done.write_text(json.dumps(result))
        results.append(json.loads(done.read_text()))
        print(f"# seed {seed}: {json.dumps(results[-1])}", flush=True)
    if len(args.seeds) >= 3:
        report(results, args)


def report(results: list[dict], args: argparse.Namespace) -> None:
    """One JSON line per figure over the seeds, and the val curve in CPU minutes."""
    context = {"config": f"configs/{CONFIG}", "fit_args": args.fit_args, "prompts": f"{args.eval_prompts} eval-split"}
    context["machine"] = "CPU, 1 thread"
    lines = {}
    for figure, unit, bounds in (
        ("greedy", "fraction", (0, 1)),
        ("greedy_8_digit_operand", "fraction", (0, 1)),
        ("cpu_minutes", "min", None),
        ("wall_minutes", "min", None),
        ("steps_per_cpu_minute", "steps/min", None),
    ):
        summary = summarise([r[figure] for r in results], args.seeds, bounds)
        lines[figure] = emit(f"addition_solved/{args.label}/{figure}", summary, unit, **context)
    met = [float(r["greedy"] >= GOAL_ACCURACY and r["cpu_minutes"] <= GOAL_CPU_MINUTES) for r in results]
    emit(f"addition_solved/{args.label}/goal_met", summarise(met, args.seeds, (0, 1)), "fraction of seeds", **context)
    print(f"\ngreedy {format_ci(lines['greedy'])}, CPU min {format_ci(lines['cpu_minutes'], 1)}\n")
    print("| SFT steps | CPU min (mean) | val/accuracy, 512 eval-split prompts (mean) | per seed |")
    print("|---:|---:|---:|---|")
    rate = lines["steps_per_cpu_minute"]["mean"]
    for step in sorted({int(s) for r in results for s in r["val_curve"]}):
        values = [r["val_curve"][str(step)] for r in results if str(step) in r["val_curve"]]
        cells = ", ".join(f"{v:.3f}" for v in values)
        print(f"| {step + 1} | {(step + 1) / rate:.1f} | {sum(values) / len(values):.3f} | {cells} |")


if __name__ == "__main__":
    main()
