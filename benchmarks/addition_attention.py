"""Addition of 1-8 digits: SFT of the plain GRU against the GRU with an attention head, per CPU minute.

Runs configs/addition_sft.yaml in this process once per variant and seed, each with its own number of steps
(so that the variants spend similar CPU time: the attention policy at 256 units steps ~3x faster than the plain
one at 512), and reports greedy accuracy on eval-split 1-8 digit prompts (never trained on; generator seed 2024) and
the CPU minutes each fit spent (process time). One JSON line per figure; mean and 95% t interval over the seeds.

    PYTHONPATH=$PWD python benchmarks/addition_attention.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from common import accuracy, emit, fit, load_policy
from stats import summarise_or_look

from o1_lightning.tasks import AdditionTask

FRACTION = (0.0, 1.0)  # an accuracy's interval is clipped to it
VARIANTS = {  # name: (CLI overrides, default SFT steps)
    "gru512": (["--model.hidden_size", "512"], 800),
    "attention256": (["--model.hidden_size", "256", "--model.attention", "true"], 2400),
}


def run(variant: str, seed: int, steps: int, task: AdditionTask, prompts: list[str]) -> dict[str, float]:
    overrides, _ = VARIANTS[variant]
    args = [*overrides, "--seed_everything", str(seed), "--data.seed", str(seed), "--trainer.max_steps", str(steps)]
    args += ["--trainer.default_root_dir", f"{variant}/seed{seed}", "--data.val_prompts", "128"]
    spent = fit("addition_sft.yaml", *args)
    checkpoint = Path("checkpoints/addition_sft/last.ckpt")
    module = load_policy(checkpoint)
    checkpoint.parent.rename(f"checkpoints/addition_sft_{variant}_seed{seed}")
    eight = [p for p in prompts if max(len(n) for n in p[:-1].split("+")) == 8]
    return {
        "greedy": accuracy(module, task, prompts),
        "greedy_8_digit_operand": accuracy(module, task, eight),
        "cpu_minutes": spent["cpu_s"] / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", nargs="+", type=int, help="SFT steps per variant (default: VARIANTS)")
    parser.add_argument("--eval-prompts", type=int, default=1000)
    parser.add_argument("--workdir", default="runs/addition_attention")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if Path(args.workdir, "checkpoints").exists():
        parser.error(f"{args.workdir}/checkpoints exists: give a fresh --workdir")
    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)
    task = AdditionTask(1, 8)
    prompts = task.sample_prompts(args.eval_prompts, torch.Generator().manual_seed(2024), "eval")
    steps = args.steps or [VARIANTS[v][1] for v in args.variants]
    greedy = {}
    for variant, variant_steps in zip(args.variants, steps):
        per_seed = [run(variant, seed, variant_steps, task, prompts) for seed in args.seeds]
        greedy[variant] = [figures["greedy"] for figures in per_seed]
        for figure in per_seed[0]:
            unit = "min" if figure.endswith("minutes") else "fraction"
            values = [figures[figure] for figures in per_seed]
            context = {"sft_steps": variant_steps, "prompts": f"{len(prompts)} eval-split", "machine": "CPU, 1 thread"}
            emit(
                f"addition_attention/{variant}/{figure}",
                summarise_or_look(values, args.seeds, FRACTION if unit == "fraction" else None),
                unit,
                **context,
            )
    if len(greedy) == 2:  # paired by seed: the same data stream, the other policy
        (first, a), (second, b) = greedy.items()
        differences = [y - x for x, y in zip(a, b)]
        emit(
            f"addition_attention/{second}_minus_{first}/greedy", summarise_or_look(differences, args.seeds), "fraction"
        )


if __name__ == "__main__":
    main()
