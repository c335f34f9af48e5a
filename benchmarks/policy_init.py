"""Policy initialization on addition: SFT, then RL from the SFT checkpoint vs RL from scratch; and the goal.

Runs the real CLI in this process, once per seed: configs/addition_sft.yaml (SFT), then configs/addition_rl.yaml
twice with the same seed and budget, once with init_from the SFT checkpoint and its KL penalty, once from a random
policy (init_from null, kl_coef 0). Reports greedy val/accuracy (512 eval-split prompts) against RL updates, and the
goal: addition of 1 to 8 digits at >= 99% greedy accuracy on eval-split prompts (never trained on) after SFT + RL
within 15 minutes of CPU (this process's CPU time over all threads; on a shared machine wall time is longer).
Prints one JSON line per figure (mean, ci95, seeds), then markdown tables. It writes under --workdir/seedN.

    python benchmarks/policy_init.py --sft-steps 12000 --rl-updates 40 --every 5 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from common import accuracy, curve, emit, fit, format_ci, load_policy, summarise

from o1_lightning.tasks import AdditionTask

GOAL_ACCURACY, GOAL_CPU_MINUTES, GOAL_DIGITS = 0.99, 15.0, 8
RL_STEPS_PER_UPDATE = 4  # addition_rl.yaml: 2 PPO epochs x 2 minibatches per rollout batch
SFT_CHECKPOINT, RL_CHECKPOINT = Path("checkpoints/addition_sft/last.ckpt"), Path("checkpoints/addition_rl/last.ckpt")


RUNS = ("sft", "rl_from_sft", "rl_from_scratch")


def run_seed(seed: int, args: argparse.Namespace) -> dict:
    """SFT, RL from SFT and RL from scratch with `seed` in the current folder: final accuracies, times, RL curves."""
    addition = AdditionTask(1, args.max_digits)
    eval_prompts = addition.sample_prompts(args.eval_prompts, torch.Generator().manual_seed(2024), "eval")
    task = ["--data.task.init_args.max_digits", str(args.max_digits), "--seed_everything", str(seed)]
    rl = [*task, "--data.seed", str(seed + 1), "--trainer.max_steps", str(RL_STEPS_PER_UPDATE * args.rl_updates)]
    rl += ["--trainer.val_check_interval", str(args.every)]
    times, final = {}, {}
    sft_args = [*task, "--data.seed", str(seed), "--trainer.max_steps", str(args.sft_steps), *root("sft")]
    times["sft"] = fit("addition_sft.yaml", *sft_args)
    final["sft"] = accuracy(load_policy(SFT_CHECKPOINT), addition, eval_prompts)
    times["rl_from_sft"] = fit("addition_rl.yaml", *rl, *root("rl_from_sft"))
    final["rl_from_sft"] = accuracy(load_policy(RL_CHECKPOINT), addition, eval_prompts)
    RL_CHECKPOINT.parent.rename("checkpoints/addition_rl_from_sft")  # the next run writes the same path
    scratch = ["--model.init_from", "null", "--model.kl_coef", "0", *root("rl_from_scratch")]
    times["rl_from_scratch"] = fit("addition_rl.yaml", *rl, *scratch)
    final["rl_from_scratch"] = accuracy(load_policy(RL_CHECKPOINT), addition, eval_prompts)
    RL_CHECKPOINT.parent.rename("checkpoints/addition_rl_from_scratch")
    curves = {run: curve(Path(run), "val/accuracy") for run in RUNS}
    return {"final": final, "times": times, "curves": curves}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-digits", type=int, default=GOAL_DIGITS)
    parser.add_argument("--sft-steps", type=int, default=12000)
    parser.add_argument("--rl-updates", type=int, default=40, help="rollout batches of each RL run")
    parser.add_argument("--every", type=int, default=5, help="validate every this many rollout batches")
    parser.add_argument("--eval-prompts", type=int, default=2000, help="eval-split prompts for the final accuracies")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (at least 3)")
    parser.add_argument("--workdir", default="runs/policy_init")
    parser.add_argument("--table", help="also write the markdown tables to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table_path = Path(args.table).resolve() if args.table else None
    if Path(args.workdir).exists():
        parser.error(f"{args.workdir} exists: give a fresh --workdir (Lightning would version the files)")
    results = []
    for seed in args.seeds:
        folder = Path(args.workdir, f"seed{seed}")
        folder.mkdir(parents=True)
        here = Path.cwd()
        os.chdir(folder)
        try:
            results.append(run_seed(seed, args))
        finally:
            os.chdir(here)
    table = report(results, args)
    print(table)
    if table_path:
        table_path.write_text(table + "\n")


def report(results: list[dict], args: argparse.Namespace) -> str:
    """Emit every figure over seeds and return the markdown tables."""
    seeds, name = args.seeds, f"policy_init/addition_{args.max_digits}_digits"
    summary = {}
    for run in RUNS:
        summary[run] = emit(
            f"{name}/{run}_accuracy", summarise([r["final"][run] for r in results], seeds, (0, 1)), "fraction",
            prompts=f"{args.eval_prompts} eval-split",
        )  # fmt: skip
        for kind in ("cpu", "wall"):
            minutes = [r["times"][run][f"{kind}_s"] / 60 for r in results]
            summary[f"{run}_{kind}"] = emit(f"{name}/{run}_{kind}_minutes", summarise(minutes, seeds), "min")
    goal = [(r["times"]["sft"]["cpu_s"] + r["times"]["rl_from_sft"]["cpu_s"]) / 60 for r in results]
    goal_cpu = emit(f"{name}/sft_plus_rl_cpu_minutes", summarise(goal, seeds), "min")
    met = [
        float(
            r["final"]["rl_from_sft"] >= GOAL_ACCURACY
            and minutes <= GOAL_CPU_MINUTES
            and args.max_digits == GOAL_DIGITS
        )
        for r, minutes in zip(results, goal)
    ]
    emit(f"{name}/goal_met", summarise(met, seeds, (0, 1)), "fraction of seeds")
    lines = [
        f"Addition, 1 to {args.max_digits} digits, greedy accuracy ({args.threads} torch thread(s)), "
        f"mean [95% interval] over seeds {seeds}.",
        "",
        f"| run | CPU min | wall min | accuracy on {args.eval_prompts} eval-split prompts |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {run} | {format_ci(summary[f'{run}_cpu'], 1)} | {format_ci(summary[f'{run}_wall'], 1)} | "
            f"{format_ci(summary[run])} |"
            for run in RUNS
        ),
        f"| SFT + RL from SFT (CPU min) | {format_ci(goal_cpu, 1)} | | |",
        "",
        "RL: val/accuracy (512 eval-split prompts) against RL updates, mean over seeds (a run stops once solved).",
        "",
        "| RL updates | RL from scratch | RL from SFT |",
        "| ---: | ---: | ---: |",
    ]
    steps = sorted({step for r in results for run in RUNS[1:] for step in r["curves"][run]})
    for step in steps:
        cells = []
        for run in ("rl_from_scratch", "rl_from_sft"):
            values = [r["curves"][run][step] for r in results if step in r["curves"][run]]
            cells.append(f"{sum(values) / len(values):.3f} ({len(values)} seeds)" if values else "stopped (solved)")
        lines.append(f"| {step + 1} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def root(name: str) -> list[str]:
    return ["--trainer.default_root_dir", name]


if __name__ == "__main__":
    main()
