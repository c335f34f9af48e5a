"""reasoning-gym tasks end to end: SFT, RL from the SFT checkpoint, and search, on each dataset's eval split.

For each dataset and training seed, runs the real CLI in this process: configs/rg_<dataset>_sft.yaml, then
configs/rg_<dataset>_rl.yaml from its checkpoint. The dataset's own seed stays 0, so every run is measured on the
same eval split (entries generated from seeds after the train ones, minus questions a train entry repeats); the
training seed (seed_everything, data.seed) changes the initialisation and the order of train prompts. Then
majority vote (no oracle) and best-of-N with the dataset's verifier (an oracle) at 16x one answer's length.
Prints one JSON line per figure (mean and 95% t interval over the seeds), CPU time included. Needs the extra:
pip install -e ".[reasoning-gym]". --attention runs both fits with the AttentionGRUPolicy. Writes under --workdir.

    PYTHONPATH=$PWD python benchmarks/reasoning_gym_tasks.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from common import accuracy, emit, fit, load_policy
from stats import summarise_or_look

from o1_lightning.app.cli import O1CLI
from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.app.sweep import sweep
from o1_lightning.tasks import ReasoningGymTask

DATASETS = ("chain_sum", "basic_arithmetic", "spell_backward")
RL_STEPS_PER_UPDATE = 4  # rg_*_rl.yaml: 2 PPO epochs x 2 minibatches per rollout batch


def datamodule_task(config: str) -> ReasoningGymTask:
    """The task of a config, built through the CLI's parser (so the benchmark measures what the config says)."""
    cli = O1CLI(PolicyModule, RolloutDataModule, args=["--config", config], run=False)
    return cli.datamodule.task


def search_accuracies(module: PolicyModule, task: ReasoningGymTask, prompts: list[str], multiplier: int) -> dict:
    """Majority vote (no oracle) and best-of-N with the verifier (oracle) at `multiplier` x one answer's length."""
    budget = multiplier * task.max_length
    scorers = {"majority": "none", "best_of_n": "outcome"}
    rows = sweep(module.policy, module.tokenizer, task, prompts, ["majority", "best_of_n"], [budget], scorers)
    return {row.method: row.accuracy for row in rows}


def run_seed(name: str, seed: int, args: argparse.Namespace, task: ReasoningGymTask) -> dict[str, float]:
    """SFT then RL for one training seed; greedy and search accuracies on the eval split, and CPU minutes."""
    policy = ["--model.attention", "true"] if args.attention else []
    seeds = ["--seed_everything", str(seed), "--data.seed", str(seed), "--data.val_prompts", "128", *policy]
    sft_dir, rl_dir = Path(f"checkpoints/rg_{name}_sft"), Path(f"checkpoints/rg_{name}_rl")
    sft_args = [*seeds, "--trainer.default_root_dir", f"{name}/sft{seed}"]
    sft_args += ["--trainer.max_steps", str(args.sft_steps)] if args.sft_steps else []
    sft_time = fit(f"rg_{name}_sft.yaml", *sft_args)
    rl_steps = RL_STEPS_PER_UPDATE * args.rl_updates
    rl_args = ["--seed_everything", str(seed), "--data.seed", str(seed + 100), "--data.val_prompts", "128", *policy]
    rl_args += ["--trainer.max_steps", str(rl_steps), "--trainer.default_root_dir", f"{name}/rl{seed}"]
    rl_time = fit(f"rg_{name}_rl.yaml", *rl_args)
    prompts = task.splits["eval"]
    search_prompts = prompts[: args.search_prompts]
    sft, rl = load_policy(sft_dir / "last.ckpt"), load_policy(rl_dir / "last.ckpt")
    figures = {
        "sft_greedy": accuracy(sft, task, prompts),
        "rl_greedy": accuracy(rl, task, prompts),
        "sft_cpu_minutes": sft_time["cpu_s"] / 60,
        "rl_cpu_minutes": rl_time["cpu_s"] / 60,
        "rl_greedy_on_search_prompts": accuracy(rl, task, search_prompts),
    }
    figures["rl_minus_sft_greedy"] = figures["rl_greedy"] - figures["sft_greedy"]  # paired: same seed
    torch.manual_seed(seed)
    for method, value in search_accuracies(rl, task, search_prompts, args.multiplier).items():
        figures[f"rl_{method}_{args.multiplier}x"] = value
    sft_dir.rename(f"checkpoints/rg_{name}_sft_seed{seed}")  # the next seed writes the same paths
    rl_dir.rename(f"checkpoints/rg_{name}_rl_seed{seed}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--sft-steps", type=int, help="SFT steps (default: the config's trainer.max_steps)")
    parser.add_argument("--rl-updates", type=int, default=40, help="rollout batches of each RL run")
    parser.add_argument("--multiplier", type=int, default=16, help="search budget: x one answer's length")
    parser.add_argument("--search-prompts", type=int, default=200, help="eval prompts the search runs on")
    parser.add_argument("--attention", action="store_true", help="both fits with --model.attention true")
    parser.add_argument("--workdir", default="runs/reasoning_gym")
    args = parser.parse_args()
    torch.set_num_threads(1)
    configs = Path(__file__).resolve().parents[1] / "configs"
    if Path(args.workdir, "checkpoints").exists():
        parser.error(f"{args.workdir}/checkpoints exists: give a fresh --workdir")
    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)
    for name in args.datasets:
        task = datamodule_task(str(configs / f"rg_{name}_sft.yaml"))
        per_seed = [run_seed(name, seed, args, task) for seed in args.seeds]
        context = {"eval_prompts": len(task.splits["eval"]), "sft_steps": args.sft_steps or "config"}
        context |= {"rl_updates": args.rl_updates, "search_prompts": args.search_prompts, "machine": "CPU, 1 thread"}
        for figure in per_seed[0]:
            values = [figures[figure] for figures in per_seed]
            unit = "min" if figure.endswith("minutes") else "fraction"
            summary = summarise_or_look(values, args.seeds)
            variant = "attention_gru" if args.attention else "gru"
            emit(f"reasoning_gym/{name}/{variant}/{figure}", summary, unit, **context)


if __name__ == "__main__":
    main()
