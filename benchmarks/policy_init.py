"""Policy initialization on addition: SFT, then RL from the SFT checkpoint vs RL from scratch; and the goal.

Runs the real CLI in this process: configs/addition_sft.yaml (SFT), then configs/addition_rl.yaml twice with the
same seed and budget, once with init_from the SFT checkpoint and its KL penalty, once from a random policy
(init_from null, kl_coef 0). Reports greedy val/accuracy (the RL config's 512 held-out prompts) against RL
updates, and the goal: addition of 1 to 8 digits at >= 99% greedy accuracy on fresh prompts after SFT + RL
within 15 minutes of CPU (this process's CPU time over all threads; on a shared machine wall time is longer).
Prints one JSON line per figure, then markdown tables. It writes under --workdir.

    python benchmarks/policy_init.py --sft-steps 12000 --rl-updates 40 --every 5
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from common import accuracy, curve, emit, fit, load_policy

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.tasks import AdditionTask

GOAL_ACCURACY, GOAL_CPU_MINUTES, GOAL_DIGITS = 0.99, 15.0, 8
RL_STEPS_PER_UPDATE = 4  # addition_rl.yaml: 2 PPO epochs x 2 minibatches per rollout batch
SFT_CHECKPOINT, RL_CHECKPOINT = Path("checkpoints/addition_sft/last.ckpt"), Path("checkpoints/addition_rl/last.ckpt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-digits", type=int, default=GOAL_DIGITS)
    parser.add_argument("--sft-steps", type=int, default=12000)
    parser.add_argument("--rl-updates", type=int, default=40, help="rollout batches of each RL run")
    parser.add_argument("--every", type=int, default=5, help="validate every this many rollout batches")
    parser.add_argument("--eval-prompts", type=int, default=2000, help="fresh prompts for the final accuracies")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    parser.add_argument("--workdir", default="runs/policy_init")
    parser.add_argument("--table", help="also write the markdown tables to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table_path = Path(args.table).resolve() if args.table else None
    if Path(args.workdir, "checkpoints").exists():
        parser.error(f"{args.workdir}/checkpoints exists: give a fresh --workdir (Lightning would version the files)")
    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)

    addition = AdditionTask(1, args.max_digits)
    eval_prompts = addition.sample_prompts(args.eval_prompts, torch.Generator().manual_seed(2024))  # unseen stream
    val_prompts = RolloutDataModule(addition, seed=1, val_prompts=512).val_prompts()  # the RL runs' (data.seed 1)
    task = ["--data.task.init_args.max_digits", str(args.max_digits)]
    rl = [*task, "--trainer.max_steps", str(RL_STEPS_PER_UPDATE * args.rl_updates)]
    rl += ["--trainer.val_check_interval", str(args.every)]

    times, final = {}, {}
    times["sft"] = fit("addition_sft.yaml", *task, "--trainer.max_steps", str(args.sft_steps), *root("sft"))
    sft_policy = load_policy(SFT_CHECKPOINT)
    final["sft"] = accuracy(sft_policy, addition, eval_prompts)
    times["rl_from_sft"] = fit("addition_rl.yaml", *rl, *root("rl_from_sft"))
    final["rl_from_sft"] = accuracy(load_policy(RL_CHECKPOINT), addition, eval_prompts)
    RL_CHECKPOINT.parent.rename("checkpoints/addition_rl_from_sft")  # the next run writes the same path
    scratch = ["--model.init_from", "null", "--model.kl_coef", "0", *root("rl_from_scratch")]
    times["rl_from_scratch"] = fit("addition_rl.yaml", *rl, *scratch)
    final["rl_from_scratch"] = accuracy(load_policy(RL_CHECKPOINT), addition, eval_prompts)
    RL_CHECKPOINT.parent.rename("checkpoints/addition_rl_from_scratch")

    # Update 0 is the policy each RL run starts from: the SFT policy, or a random one of the same shape.
    torch.manual_seed(0)
    random_policy = load_policy(SFT_CHECKPOINT, weights=False)
    rows = {0: (accuracy(random_policy, addition, val_prompts), accuracy(sft_policy, addition, val_prompts))}
    from_scratch, from_sft = curve(Path("rl_from_scratch"), "val/accuracy"), curve(Path("rl_from_sft"), "val/accuracy")
    for step in sorted(set(from_scratch) | set(from_sft)):
        rows[step + 1] = (from_scratch.get(step), from_sft.get(step))  # None: that run had stopped (solved)

    name = f"policy_init/addition_{args.max_digits}_digits"
    for run, value in final.items():
        emit(f"{name}/{run}_accuracy", value, "fraction")
    for run, seconds in times.items():
        emit(f"{name}/{run}_cpu_minutes", round(seconds["cpu_s"] / 60, 2), "min")
        emit(f"{name}/{run}_wall_minutes", round(seconds["wall_s"] / 60, 2), "min")
    goal_cpu = (times["sft"]["cpu_s"] + times["rl_from_sft"]["cpu_s"]) / 60
    goal_wall = (times["sft"]["wall_s"] + times["rl_from_sft"]["wall_s"]) / 60
    met = args.max_digits == GOAL_DIGITS and final["rl_from_sft"] >= GOAL_ACCURACY and goal_cpu <= GOAL_CPU_MINUTES
    emit(f"{name}/sft_plus_rl_cpu_minutes", round(goal_cpu, 2), "min")
    emit(f"{name}/goal_met", float(met), "bool")

    sft_curve = curve(Path("sft"), "val/accuracy")
    lines = [
        f"Addition, 1 to {args.max_digits} digits, greedy accuracy ({args.threads} torch thread(s)).",
        "",
        "| run | CPU min | wall min | accuracy on " + f"{args.eval_prompts} fresh prompts |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {run} | {times[run]['cpu_s'] / 60:.1f} | {times[run]['wall_s'] / 60:.1f} | {final[run]:.4f} |"
            for run in ("sft", "rl_from_sft", "rl_from_scratch")
        ),
        f"| SFT + RL from SFT | {goal_cpu:.1f} | {goal_wall:.1f} | {final['rl_from_sft']:.4f} |",
        "",
        f"SFT: val/accuracy (512 held-out prompts) against steps ({args.sft_steps} steps in all).",
        "",
        "| SFT steps | val/accuracy |",
        "| ---: | ---: |",
        *(f"| {step + 1} | {value:.3f} |" for step, value in sorted(sft_curve.items())),
        "",
        "RL: val/accuracy (512 held-out prompts) against RL updates (rollout batches), same seed and budget.",
        "",
        "| RL updates | RL from scratch | RL from SFT |",
        "| ---: | ---: | ---: |",
        *(f"| {update} | {cell(scratch)} | {cell(sft)} |" for update, (scratch, sft) in rows.items()),
    ]
    if args.max_digits == GOAL_DIGITS:
        lines[1:1] = [
            "",
            f"Goal: {GOAL_ACCURACY} within {GOAL_CPU_MINUTES:.0f} CPU minutes: {'met' if met else 'not met'}.",
        ]
    table = "\n".join(lines)
    print(table)
    if table_path:
        table_path.write_text(table + "\n")


def root(name: str) -> list[str]:
    return ["--trainer.default_root_dir", name]


def cell(value: float | None) -> str:
    return "stopped (solved)" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
