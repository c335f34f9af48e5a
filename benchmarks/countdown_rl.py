"""Does RL improve on SFT on Countdown-4, and does expert iteration beat RL alone at equal policy compute?

Per seed: configs/countdown_sft.yaml (SFT on solver demonstrations), then, from that checkpoint, one run per
variant: configs/countdown_rl.yaml with CLI overrides (the reward, the KL coefficient, the learning rate, the group
size), or configs/countdown_expert_iteration.yaml (the same RL plus a best-of-N refresh with the outcome verifier
whose solutions are imitated). Every policy is scored by greedy decoding on the same eval-split prompts (never
imitated, never sampled in training). Reported per variant: greedy accuracy, the paired gain over the seed's own
SFT policy, the share of the SFT policy's errors it removes, CPU minutes, the policy token-steps it sampled
(`train/sampled_token_steps`: rollouts and search together) and its val/accuracy (512 eval-split prompts) once it
had sampled as many token-steps as the first variant's whole run: the comparison at equal compute. For the SFT
policy and every variant also one sample's accuracy and pass@8 (is a solution among 8 samples, the verifier
picking: an oracle), which say whether RL sharpened the policy or widened what it can find, and what its greedy
errors are (a wrong step, or valid steps that miss the target: a planning error). Mean [95% t interval]
over seeds. `--measure-only` measures an earlier run's folder again without training; it prints the CPU minutes
each seed's training run kept in its folder (cpu_minutes.json), so seeds trained by separate processes can be
moved under one --workdir and summarised together.

The issue's goals: RL - SFT >= +0.10 greedy, or >= 25% of the remaining errors removed; expert iteration against
RL alone at the same number of policy token-steps.
Run: `python benchmarks/countdown_rl.py --seeds 0 1 2 --variants shipped no_kl [...]`; it writes under
--workdir/seedN (a fresh folder); `--add-variants` trains more variants in an earlier run's folders, from the same SFT
checkpoints. `--sft-lr-schedule cosine --sft-steps 8000` gives a stronger SFT policy (decayed lr);
`--policy attention` trains the attention GRU (docs/ATTENTION_POLICY.md) instead of the plain one.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from common import curve, emit, fit, load_policy
from stats import summarise_or_look

from o1_lightning.api import Policy
from o1_lightning.app.task_identity import task_identity
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.learning.lr_schedule import LR_SCHEDULES
from o1_lightning.tasks import CountdownTask

SFT_CHECKPOINT = Path("checkpoints/countdown_sft/last.ckpt")
CPU_MINUTES = "cpu_minutes.json"  # per seed folder: what train_seed measured
RL_STEPS_PER_UPDATE = 4  # countdown_rl.yaml: 2 PPO epochs x 2 minibatches per rollout batch

# countdown_rl.yaml before the ablation in docs/COUNTDOWN_RL.md: GRPO-style standardisation, per position, within
# each prompt's group of outcome+process returns.
GRPO_PROCESS = ["--model.baseline", "group", "--model.normalize", "none", "--data.reward", "outcome+process"]
GROUP_16 = ["--data.group_size", "16", "--data.batch_size", "512"]  # 32 prompts x 16 samples


def warmup_cosine(lr: str, *more: str) -> list[str]:
    """A linear warmup over 40 optimizer steps (10 rollout batches), then a cosine decay of `lr` to 0."""
    return ["--model.lr_warmup_steps", "40", "--model.lr_schedule", "cosine", "--model.lr", lr, *more]


# The policy both SFT and RL fit: the plain GRU of the configs, the attention GRU (docs/ATTENTION_POLICY.md), or the
# plain GRU with twice the units (more capacity).
POLICIES = {"gru": [], "attention": ["--model.attention", "true"], "gru_512": ["--model.hidden_size", "512"]}

# Each variant is a config and what it changes ("shipped": configs/countdown_rl.yaml as it is).
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "shipped": ("countdown_rl.yaml", []),
    "grpo_process": ("countdown_rl.yaml", GRPO_PROCESS),
    "grpo_outcome": ("countdown_rl.yaml", [*GRPO_PROCESS[:4], "--data.reward", "outcome"]),
    "rloo_process": ("countdown_rl.yaml", ["--data.reward", "outcome+process"]),
    "no_kl": ("countdown_rl.yaml", ["--model.kl_coef", "0"]),
    "kl_0.2": ("countdown_rl.yaml", ["--model.kl_coef", "0.2"]),
    "lr_1e-4": ("countdown_rl.yaml", ["--model.lr", "0.0001"]),
    "lr_1e-3": ("countdown_rl.yaml", ["--model.lr", "0.001"]),
    "lr_3e-5": ("countdown_rl.yaml", ["--model.lr", "0.00003"]),
    "no_penalty": ("countdown_rl.yaml", ["--data.mistake_penalty", "0"]),
    # a converged (decayed) SFT policy: ramp Adam in over 10 rollout batches, then decay the rate to 0
    "cosine": ("countdown_rl.yaml", ["--model.lr_schedule", "cosine"]),
    "warmup_cosine": ("countdown_rl.yaml", warmup_cosine("0.0003")),
    "lr_1e-4_warmup_cosine": ("countdown_rl.yaml", warmup_cosine("0.0001")),
    "lr_1e-3_warmup_cosine": ("countdown_rl.yaml", warmup_cosine("0.001")),
    "lr_3e-5_warmup_cosine": ("countdown_rl.yaml", warmup_cosine("0.00003")),
    **{
        f"lr_{name}_warmup_cosine_temperature_{t}": ("countdown_rl.yaml", warmup_cosine(lr, "--data.temperature", t))
        for name, lr in (("1e-4", "0.0001"), ("3e-4", "0.0003"))
        for t in ("0.5", "0.3")
    },
    "batch_1024_warmup_cosine": (  # 64 prompts x 16 samples an update: four times the episodes, less noise
        "countdown_rl.yaml",
        warmup_cosine("0.0003", "--data.group_size", "16", "--data.batch_size", "1024"),
    ),
    # the control for them: more SFT on demonstrations, the same optimizer steps and schedule (no sampling)
    "sft_continued": ("countdown_sft.yaml", warmup_cosine("0.0003", "--trainer.val_check_interval", "40")),
    "group_16": ("countdown_rl.yaml", GROUP_16),
    "temperature_0.7": ("countdown_rl.yaml", ["--data.temperature", "0.7"]),
    "temperature_0.5": ("countdown_rl.yaml", ["--data.temperature", "0.5"]),
    "progress": ("countdown_rl.yaml", ["--data.reward", "outcome+progress"]),
    # the former setting with one thing changed (the seed-0 screens in docs/COUNTDOWN_RL.md)
    "grpo_process_lr_1e-3": ("countdown_rl.yaml", [*GRPO_PROCESS, "--model.lr", "0.001"]),
    "grpo_process_group_16_lr_1e-3": ("countdown_rl.yaml", [*GRPO_PROCESS, *GROUP_16, "--model.lr", "0.001"]),
    "grpo_process_progress": ("countdown_rl.yaml", [*GRPO_PROCESS, "--data.reward", "outcome+process+progress"]),
    "grpo_progress": ("countdown_rl.yaml", [*GRPO_PROCESS, "--data.reward", "outcome+progress"]),
    "expert_iteration": ("countdown_expert_iteration.yaml", []),
    "expert_iteration_grpo_process": ("countdown_expert_iteration.yaml", GRPO_PROCESS),
}


def imitation_checkpoint(task: CountdownTask, seed: int, args: argparse.Namespace) -> float:
    """SFT_CHECKPOINT made from `cached_imitation`'s policy (4000 teacher-forced steps, 128 units, cached under
    --imitation-cache by the search benchmarks): a train.py-style checkpoint init_from and load_policy read."""
    policy = cached_imitation(task, args.sft_steps, args.imitation_cache, seed=seed)
    shape = {"embedding_dim": policy.embedding.embedding_dim, "hidden_size": policy.gru.hidden_size, "num_layers": 1}
    hparams = {"vocab": task.vocab, "max_length": task.max_length, "can_stop": task.can_stop, **shape}
    state = {f"policy.{name}": value for name, value in policy.state_dict().items()}
    SFT_CHECKPOINT.parent.mkdir(parents=True)
    data = {"task": task_identity(task)}  # load_policy rebuilds the task from it
    torch.save({"state_dict": state, "hyper_parameters": hparams, "RolloutDataModule": data}, SFT_CHECKPOINT)
    return policy.gru.hidden_size


def train_seed(seed: int, args: argparse.Namespace) -> dict[str, float]:
    """SFT, then RL from it once per variant, in the current folder: each fit's CPU minutes."""
    task = CountdownTask(4, 13, 100)
    shape, cpu = list(POLICIES[args.policy]), {}
    if args.sft == "imitation":  # made by another benchmark's run, cached: its CPU time is not this run's
        shape = ["--model.hidden_size", str(imitation_checkpoint(task, seed, args))]
    else:
        steps = ["--trainer.max_steps", str(args.sft_steps), "--model.lr_schedule", args.sft_lr_schedule]
        cpu["sft"] = fit("countdown_sft.yaml", *seeded(seed), "--data.seed", str(seed), *steps, *shape)["cpu_s"] / 60
    return cpu | train_variants(seed, shape, args)


def seeded(seed: int) -> list[str]:
    """The arguments every fit of a seed gets."""
    return ["--seed_everything", str(seed), "--trainer.enable_model_summary", "false"]


def train_variants(seed: int, shape: list[str], args: argparse.Namespace) -> dict[str, float]:
    """RL from the current folder's SFT checkpoint once per variant: each fit's CPU minutes."""
    cpu = {}
    rl = [*seeded(seed), "--data.seed", str(seed + 100), "--trainer.val_check_interval", str(args.every)]
    rl += ["--model.init_from", str(SFT_CHECKPOINT), *shape]
    for variant in args.variants:
        config, overrides = VARIANTS[variant]
        steps = ["--trainer.max_steps", str(RL_STEPS_PER_UPDATE * updates_of(variant, args))]
        cpu[variant] = fit(config, *rl, *steps, *overrides, "--run_name", variant)["cpu_s"] / 60
    return cpu


def write_cpu_minutes(cpu: dict[str, float]) -> dict[str, float]:
    """Keep each fit's CPU minutes beside its checkpoints, for a later --measure-only over several folders."""
    Path(CPU_MINUTES).write_text(json.dumps(cpu))
    return cpu


def read_cpu_minutes() -> dict[str, float]:
    """The CPU minutes the training run kept here ({} when it kept none)."""
    return json.loads(Path(CPU_MINUTES).read_text()) if Path(CPU_MINUTES).exists() else {}


def updates_of(variant: str, args: argparse.Namespace) -> int:
    """The variant's rollout batches: --rl-updates unless --updates names it."""
    return args.updates.get(variant, args.rl_updates)


def variant_updates(text: str) -> tuple[str, int]:
    """--updates VARIANT=N, checked."""
    variant, _, updates = text.partition("=")
    if variant not in VARIANTS or not updates.isdigit() or int(updates) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give VARIANT=N with N >= 1 and VARIANT one of {sorted(VARIANTS)}")
    return variant, int(updates)


def measure_seed(args: argparse.Namespace, prompts: list[str]) -> dict:
    """From the current folder's checkpoints and logs: each policy's greedy accuracy, one sample's accuracy and
    pass@8 (on the first 500 prompts), and each variant's val/accuracy and sampled token-steps curves."""
    task = CountdownTask(4, 13, 100)
    result: dict = {"curves": {}}
    for name in ("sft", *args.variants):
        checkpoint = SFT_CHECKPOINT if name == "sft" else Path("checkpoints", name, "last.ckpt")
        policy = load_policy(checkpoint)  # read once for all the figures
        result[name], result[f"{name}_errors"] = greedy_outcomes(policy, task, prompts)
        result[f"{name}_coverage"] = coverage(policy, prompts[:500])
        if name != "sft":
            tags = ("val/accuracy", "train/sampled_token_steps")
            result["curves"][name] = {tag: curve(Path("lightning_logs", name), tag) for tag in tags}
        figures = f"greedy {result[name]:.3f} {result[f'{name}_errors']} {result[f'{name}_coverage']}"
        print(f"{Path.cwd().name} {name}: {figures}", flush=True)
    return result


def greedy_outcomes(policy: Policy, task: CountdownTask, prompts: list[str]) -> tuple[float, dict[str, float]]:
    """Greedy accuracy, and what went wrong in the rest: a wrong step (bad arithmetic, a number not in the pool, a
    malformed step), or only correct steps that do not end at the target (a planning error)."""
    completions = policy.generate(prompts)
    solved = [task.outcome(p, c) for p, c in zip(prompts, completions)]
    wrong_step = [not all(task.process(p, c)) or not c for p, c in zip(prompts, completions)]
    wrong_end = [not (s or w) for s, w in zip(solved, wrong_step)]
    share = {"wrong_step": sum(wrong_step) / len(prompts), "wrong_end": sum(wrong_end) / len(prompts)}
    return sum(solved) / len(prompts), share


def coverage(policy: Policy, prompts: list[str], samples: int = 8) -> dict[str, float]:
    """What a policy's samples hold beside its greedy answer: one sample's accuracy, and pass@`samples` (best-of-N
    picked by the verifier, an oracle: is a solution among the samples at all?)."""
    budget = samples * policy.task.max_length
    one = policy.search(prompts, "sampling", policy.task.max_length, scorer=None, seed=1)
    among = policy.search(prompts, "best_of_n", budget, scorer="outcome", seed=1)
    return {f: sum(r["correct"] for r in records) / len(prompts) for f, records in (("sample", one), ("pass", among))}


def accuracy_within(curves: dict[str, dict[int, float]], token_steps: float) -> float:
    """val/accuracy at the last validation the run reached within `token_steps` sampled (nan: none)."""
    spent = curves["train/sampled_token_steps"]
    within = [step for step in curves["val/accuracy"] if spent.get(step, float("inf")) <= token_steps * 1.001]
    return curves["val/accuracy"][max(within)] if within else float("nan")


def report(results: list[dict], args: argparse.Namespace) -> None:
    seeds, name = args.seeds, "countdown_rl"
    fields = {"prompts": f"{args.prompts} eval-split", "sft": args.sft, "policy": args.policy, "machine": "CPU"}
    fields["sft_steps"], fields["sft_lr_schedule"] = args.sft_steps, args.sft_lr_schedule
    emit(f"{name}/sft/greedy", summarise_or_look([r["sft"] for r in results], seeds, (0, 1)), "fraction", **fields)
    if all("sft" in r["cpu"] for r in results):
        emit(f"{name}/sft/cpu_minutes", summarise_or_look([r["cpu"]["sft"] for r in results], seeds), "min")
    coverage_fields = {"prompts": "the first 500 of them", "samples": 8}
    for policy in ("sft", *args.variants):
        for figure, what in (("sample", "sample_accuracy"), ("pass", "pass_at_8_verifier_oracle")):
            values = [r[f"{policy}_coverage"][figure] for r in results]
            emit(f"{name}/{policy}/{what}", summarise_or_look(values, seeds, (0, 1)), "fraction", **coverage_fields)
        for kind in ("wrong_step", "wrong_end"):  # the greedy errors: a wrong step, or valid steps missing the target
            values = [r[f"{policy}_errors"][kind] for r in results]
            emit(f"{name}/{policy}/greedy_{kind}", summarise_or_look(values, seeds, (0, 1)), "fraction", **fields)
    first = args.variants[0]  # the compute yardstick: what its whole run sampled
    budgets = [max(r["curves"][first]["train/sampled_token_steps"].values(), default=0) for r in results]
    for variant in args.variants:
        fields = {**fields, "rl_updates": updates_of(variant, args)}
        gains = [r[variant] - r["sft"] for r in results]
        removed = [(r[variant] - r["sft"]) / max(1 - r["sft"], 1e-9) for r in results]
        spent = [max(r["curves"][variant]["train/sampled_token_steps"].values(), default=0) for r in results]
        matched = [accuracy_within(r["curves"][variant], b) for r, b in zip(results, budgets)]
        greedy = summarise_or_look([r[variant] for r in results], seeds, (0, 1))
        emit(f"{name}/{variant}/greedy", greedy, "fraction", **fields)
        emit(f"{name}/{variant}/gain_over_sft", summarise_or_look(gains, seeds), "fraction", goal=">= 0.10", **fields)
        removed_figure = summarise_or_look(removed, seeds)
        emit(f"{name}/{variant}/errors_removed", removed_figure, "fraction", goal=">= 0.25", **fields)
        if all(variant in r["cpu"] for r in results):
            emit(f"{name}/{variant}/cpu_minutes", summarise_or_look([r["cpu"][variant] for r in results], seeds), "min")
        if any(spent):  # a variant that samples (not sft_continued, which imitates demonstrations)
            emit(f"{name}/{variant}/sampled_token_steps", summarise_or_look(spent, seeds), "policy token-steps")
            emit(
                f"{name}/{variant}/val_accuracy_at_{first}_token_steps", summarise_or_look(matched, seeds, (0, 1)),
                "fraction", prompts="512 eval-split (val/accuracy)", token_steps=budgets,
            )  # fmt: skip
        if variant != first:  # paired: the same SFT checkpoint per seed
            differences = [r[variant] - r[first] for r in results]
            emit(f"{name}/{variant}_minus_{first}/greedy", summarise_or_look(differences, seeds), "fraction", **fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["shipped"])
    parser.add_argument(
        "--sft",
        choices=("config", "imitation"),
        default="config",
        help="config: train configs/countdown_sft.yaml per seed; imitation: the cached imitation policy",
    )
    parser.add_argument("--policy", choices=sorted(POLICIES), default="gru", help="the policy SFT and RL train")
    parser.add_argument("--sft-lr-schedule", choices=LR_SCHEDULES, default="constant", help="SFT's model.lr_schedule")
    parser.add_argument("--imitation-cache", type=Path, default=Path("checkpoints/policies").resolve())
    parser.add_argument("--sft-steps", type=int, default=4000)
    parser.add_argument("--rl-updates", type=int, default=100, help="rollout batches of each RL run")
    parser.add_argument(
        "--updates",
        type=variant_updates,
        nargs="+",
        default=[],
        metavar="VARIANT=N",
        help="another number of rollout batches for these variants (e.g. expert iteration, which also searches, at "
        "half the updates: the same policy token-steps)",
    )
    parser.add_argument("--every", type=int, default=10, help="validate every this many rollout batches")
    parser.add_argument("--prompts", type=int, default=1000, help="eval-split prompts for greedy accuracy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (at least 3 for a figure)")
    parser.add_argument("--workdir", default="runs/countdown_rl")
    parser.add_argument("--measure-only", action="store_true", help="measure an earlier run's --workdir again")
    parser.add_argument(
        "--add-variants",
        action="store_true",
        help="train only --variants, from each seed's SFT checkpoint in an earlier run's --workdir, then measure",
    )
    args = parser.parse_args()
    args.updates = dict(args.updates)
    if args.sft == "imitation" and args.policy != "gru":
        parser.error(f"--policy {args.policy} needs --sft config: the cached imitation policy is a plain GRU")
    if args.add_variants and (args.measure_only or args.sft == "imitation"):
        parser.error("--add-variants trains from a --sft config run's checkpoints; it does not go with --measure-only")
    torch.set_num_threads(1)
    earlier = args.measure_only or args.add_variants
    if Path(args.workdir).exists() != earlier:
        why = "does not exist: train first" if earlier else "exists: give a fresh one (or --measure-only)"
        parser.error(f"--workdir {args.workdir} {why}")
    prompts = CountdownTask(4, 13, 100).sample_prompts(args.prompts, torch.Generator().manual_seed(2024), "eval")
    results, here = [], Path.cwd()
    for seed in args.seeds:
        folder = Path(args.workdir, f"seed{seed}")
        folder.mkdir(parents=True, exist_ok=earlier)
        os.chdir(folder)
        try:
            if args.add_variants:  # read after training: another process may have added its variants meanwhile
                trained = train_variants(seed, list(POLICIES[args.policy]), args)
                write_cpu_minutes(read_cpu_minutes() | trained)
            cpu = read_cpu_minutes() if earlier else write_cpu_minutes(train_seed(seed, args))
            results.append({**measure_seed(args, prompts), "cpu": cpu})
        finally:
            os.chdir(here)
    report(results, args)


if __name__ == "__main__":
    main()
