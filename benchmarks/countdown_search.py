"""Countdown with 4 numbers: greedy against best-of-N, majority, beam search and MCTS at equal budgets.

Set beside Tree of Thoughts' Game of 24 table (Yao et al. 2023, GPT-4: chain of thought 4.0%, CoT self-consistency
over 100 samples 9.0%, CoT best of 100 (an oracle pick) 49%, tree search with b=5 74%). The policy imitates
solver demonstrations and is stopped early; an ORM and a PRM are trained on its own rollouts with exact labels
(the PRM's step label: all steps valid and the target still reachable). Learned scorers are NOT oracles; the rows
marked oracle read the verifier or the exact step labels and are puzzle-solving upper references.

Goal: the best search at 64x one answer's length reaches at least 3x the greedy accuracy. Prompts are eval-split
(never imitated, never in the reward models' data); policy, reward models and search draws are redone per seed.
Prints one JSON line per figure (mean, ci95, seeds, and the token-steps spent) and a markdown table.
Also prints wall and CPU seconds per phase and issue 10's learned-verifier verdict at 64x.
Run: `python benchmarks/countdown_search.py [--quick] [--seeds 0 1 2]`; policies and reward models are cached under
checkpoints/. `--policy-checkpoint 'runs/x/seed{seed}/checkpoints/countdown_sft/last.ckpt'` searches with the
policies a train.py run made (a stronger one: `benchmarks/countdown_rl.py --sft-lr-schedule cosine --sft-steps 8000`).

Sizes: reward models on 8192 prompts x 4 rollouts for 16 epochs (`--rm_prompts`, `--rm_epochs`). Their
validation accuracy is flat after the first epoch, but 4096 x 4 epochs (equal validation accuracy) roughly halved
the learned searches' accuracy (docs/REWARD_MODELS.md): accuracy against base rate is not a measure of ranking.
Three seeds take about 32 minutes on one shared CPU core (9 min of reward models, 1.5 of search per seed).
`--retrained_prm` adds rows for a second-round PRM trained on the rollouts plus the answers PRM-guided best-of-N and
sampled-step beam pick on fresh train prompts (`--retrain_sizes`): about 6 more minutes per seed.
MCTS with ORM leaves also runs at c_puct 4 (chosen by `--tune-c-puct` on train-split prompts), and the oracle
best-of-N with 100 samples, about MCTS's actual spend at 64x, gives the gap at matched spend; the two rows add about
a quarter to the search time. `--rm_corrupted N` adds N train prompts' demonstrations and four near misses of each
to the reward models' data (`corrupted_demonstrations`); `--rm_attention SIZE` gives them attention.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from common import emit, load_policy, summarise
from scaling_common import (
    PhaseTimer,
    Spec,
    add_retrained_prm_arguments,
    add_rm_attention_argument,
    emit_runs,
    learned_search_verdict,
    retrained_prm,
    run_spec,
    slug,
    table,
    with_width,
)
from stats import gap_closed, summarise_or_look

from o1_lightning.app.reward_models.fit import fit_reward_models, scorers_of
from o1_lightning.app.task_identity import task_identity
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned import exact_step_labels
from o1_lightning.search import FunctionScorer, OutcomeScorer
from o1_lightning.tasks import CountdownTask
from o1_lightning.tasks.countdown import Step, apply, parse_step, reachable, solve

POLICY_STEPS = 4000
RM_PROMPTS, RM_EPOCHS = 8192, 16  # x 4 rollouts each; 4096 x 4 epochs halved search accuracy (docstring)
CACHE = "checkpoints"
SAMPLED_STEPS = {"sample_steps": True}  # Snell et al.'s beam: width x 2 whole steps sampled per iteration
# PUCT leaning 4x more on the policy's prior: chosen on 200 train-split prompts of the strong policy (seeds 0-2, MCTS
# with ORM leaves at 64x: c_puct 1 0.62, 4 0.68, 8 0.64), never on the eval prompts (docs/REWARD_MODELS.md).
MORE_PRIOR, MORE_PRIOR_LABEL = {"c_puct": 4.0}, "MCTS, ORM leaves, c_puct 4"
TUNING_C_PUCT = (1.0, 2.0, 4.0, 8.0)  # --tune-c-puct
# MCTS spends more of its 64x cap than best-of-64 does (about 2070 token-steps against 1330 on the strong policy):
# the oracle with 100 samples spends about as much, so the gap can also be taken at the same actual spend.
MATCHED_ORACLE, MATCHED_MULTIPLIER = "best-of-N, verifier, 100 samples", 100


def exact_prm(task: CountdownTask) -> FunctionScorer:
    """ORACLE: the exact step labels' minimum (1 while every step is valid and the target still reachable)."""

    def score(prompt: str, completion: str) -> float:
        labels = exact_step_labels(task, prompt, completion)
        return float(all(labels)) if labels else 0.0

    return FunctionScorer(score, name="exact_step_labels", oracle=True)


def corrupted_demonstrations(task: CountdownTask, count: int, seed: int) -> tuple[list[str], list[str]]:
    """`count` train-split prompts, each five times: with its demonstration, and four near misses of it: the
    demonstration of another target the numbers reach (valid steps that end elsewhere); one step's result off by
    1-3; one operand of a step swapped for a number never in the pool; one operand swapped for a number the pool no
    longer holds (used up by an earlier step or by the step itself), results recomputed. The steps after a broken
    one are left as demonstrated, so most near misses still end at the target: the errors the policies' picked
    answers make, which their rollouts hold too rarely. Labels come from the step checker, as for every rollout."""
    generator = torch.Generator().manual_seed(seed * 1000 + 5)  # the rollouts' prompts use offsets 1 and 2

    def draw(options: Sequence):
        return options[int(torch.randint(len(options), (1,), generator=generator))]

    prompts, completions = [], []
    for prompt in task.sample_prompts(count, generator, "train"):
        numbers, target = task.parse(prompt)
        right = task.demonstrate(prompt)
        steps = [parse_step(piece) for piece in task.steps(right)]
        others = [v for v in sorted(reachable(tuple(sorted(numbers)), len(numbers) - 1)) if 0 < v <= task.max_target]
        others = [v for v in others if v != target]
        k = draw(range(len(steps)))
        a, op, b, c = steps[k]
        shifted = (a, op, b, draw([v for v in range(c - 3, c + 4) if v >= 0 and v != c]))
        held = set(numbers) | {step[3] for step in steps[:k]}
        never = swapped_operands(a, op, b, [x for x in range(1, 2 * task.max_number) if x not in held]) or [shifted]
        used_up = [x for step in steps[:k] for x in step[:3:2]] + [x for x in (a, b) if numbers.count(x) < 2]
        reused = swapped_operands(a, op, b, used_up) or never  # nothing to reuse (13/13): another never-held one
        prompts += [prompt] * 5
        completions += [right, solve(numbers, draw(others))]
        completions += [written([*steps[:k], step, *steps[k + 1 :]]) for step in (shifted, draw(never), draw(reused))]
    return prompts, completions


def swapped_operands(a: int, op: str, b: int, candidates: list[int]) -> list[Step]:
    """The steps `a op b` becomes with one operand replaced by a candidate (other than itself), result recomputed."""
    swaps = [(x, op, b) for x in candidates if x != a] + [(a, op, y) for y in candidates if y != b]
    return [(x, op, y, apply(x, op, y)) for x, op, y in swaps if apply(x, op, y) is not None]


def written(steps: list[Step]) -> str:
    """The completion text of (a, op, b, c) steps."""
    return "".join(f"{a}{op}{b}={c};" for a, op, b, c in steps)


def specs_for(task: CountdownTask, orm, prm, prm2=None) -> list[Spec]:
    """The compared searches: learned scorers first (`prm2`: the PRM retrained on search picks, if given), then the
    oracle-scored upper references."""
    retrained = [
        Spec("best-of-N, PRM min round 2", "best_of_n", prm2),
        Spec("beam, PRM min round 2", "beam", prm2),
        Spec("beam (sampled steps), PRM min round 2", "beam", prm2, SAMPLED_STEPS),
        Spec("MCTS, PRM min leaves round 2", "mcts", prm2),
    ]
    return [
        Spec("greedy", "greedy", budgets=[1]),
        Spec("majority vote (self-consistency)", "majority"),
        Spec("best-of-N, ORM", "best_of_n", orm),
        Spec("weighted majority, ORM", "majority", orm, {"weighted": True}),
        Spec("best-of-N, PRM min", "best_of_n", prm),
        Spec("beam, PRM min", "beam", prm),
        Spec("beam (sampled steps), PRM min", "beam", prm, SAMPLED_STEPS),
        Spec("MCTS, ORM leaves", "mcts", orm),
        Spec(MORE_PRIOR_LABEL, "mcts", orm, MORE_PRIOR),
        Spec("MCTS, PRM min leaves", "mcts", prm),
        *(retrained if prm2 is not None else []),
        Spec("best-of-N, verifier", "best_of_n", OutcomeScorer(task)),
        Spec(MATCHED_ORACLE, "best_of_n", OutcomeScorer(task), budgets=[MATCHED_MULTIPLIER]),
        Spec("beam, exact step labels", "beam", exact_prm(task)),
        Spec("beam (sampled steps), exact step labels", "beam", exact_prm(task), SAMPLED_STEPS),
        Spec("MCTS, verifier leaves", "mcts", OutcomeScorer(task)),
    ]


def measure_seed(seed: int, prompts: list[str], multipliers: list[int], args: argparse.Namespace) -> tuple:
    """One seed: its policy and reward models, then every spec at every budget; (figures, runs, specs)."""
    timer = PhaseTimer()
    task = CountdownTask(4)
    tokenizer = CharTokenizer(task.vocab)
    steps = 50 if args.quick else POLICY_STEPS
    with timer("policy"):
        if args.policy_checkpoint:  # e.g. a train.py SFT run's last.ckpt: its CPU time is not this run's
            loaded = load_policy(Path(args.policy_checkpoint.format(seed=seed)))
            if (held := task_identity(loaded.task)) != task_identity(task):
                sys.exit(f"error: {args.policy_checkpoint} holds a policy for {held}, not {task_identity(task)}")
            policy = loaded.model
            name = re.sub(r"\W+", "_", args.policy_checkpoint)
        else:
            policy, name = cached_imitation(task, steps, f"{CACHE}/policies", seed=seed), f"imitation{steps}"
    fit = {
        "cache_dir": f"{CACHE}/reward_models",
        "cache_key": f"countdown4_{name}_policy{seed}",
        "seed": seed,
        "hidden_size": policy.gru.hidden_size,  # the reward models start from the policy's weights
        "attention_size": args.rm_attention,
    }
    if args.rm_corrupted:
        fit["extra_train"] = corrupted_demonstrations(task, args.rm_corrupted, seed)
        fit["cache_key"] += f"_corrupted{args.rm_corrupted}"
    fit |= (
        {"num_prompts": 64, "epochs": 1} if args.quick else {"num_prompts": args.rm_prompts, "epochs": args.rm_epochs}
    )
    with timer("reward_models"):
        models = fit_reward_models(task, policy, **fit)
    if args.reward_models_only:
        print_phase_seconds(seed, timer)
        return {}, {}, []
    figures = {f"countdown_{kind}_rm_val_accuracy": metrics["val/rm_accuracy"] for kind, (_, metrics) in models.items()}
    orm = scorers_of(task, {"outcome": models["outcome"]})["outcome"]
    if args.tune_c_puct:
        return tune_c_puct(policy, tokenizer, task, orm, seed), {}, []
    prm = scorers_of(task, {"process": models["process"]}, "min")["process"]
    prm2 = None
    if args.retrained_prm:
        with timer("retrained_prm"):
            sizes = (16, 4) if args.quick else args.retrain_sizes
            prm2, accuracy, counts = retrained_prm(task, policy, prm, fit, seed, *sizes)
        figures["countdown_process_round2_rm_val_accuracy"] = accuracy
        figures |= {f"countdown_round2_proposals_{name}".replace("_proposals_proposals", "_proposals_count"): value
                    for name, value in counts.items()}  # fmt: skip
    specs, runs = specs_for(task, orm, prm, prm2), {}
    with timer("search"):
        for spec in specs:
            for m in spec.budgets or multipliers:
                runs[(spec.label, m)] = run_spec(
                    with_width(spec, m), policy, tokenizer, task, prompts, m * task.max_length, seed
                )
    top = max(multipliers)
    for oracle in (False, True):
        best = max(run["accuracy"] for (label, m), run in runs.items() if m == top and run["oracle"] == oracle)
        kind = "oracle" if oracle else "learned_or_none"
        figures[f"countdown_best_{kind}_search_{top}x_accuracy"] = best
        greedy = runs[("greedy", 1)]["accuracy"]
        figures[f"countdown_best_{kind}_search_over_greedy"] = best / greedy if greedy else float("nan")
    figures |= timer.seconds
    print_phase_seconds(seed, timer)
    return figures, runs, specs


def print_phase_seconds(seed: int, timer: PhaseTimer) -> None:
    """One stderr line of the seed's wall and CPU seconds per phase."""
    print(f"# seed {seed}: " + ", ".join(f"{k} {v:.0f}" for k, v in timer.seconds.items()), file=sys.stderr, flush=True)


def matched_spend_gap(runs: list[dict], seeds: list[int], top: int) -> None:
    """The share of the greedy-to-oracle gap MCTS with ORM leaves (c_puct 4) closes at `top`x, against the oracle
    best-of-N at about the same actual token-steps (MATCHED_ORACLE) instead of best-of-`top`."""
    greedy = [seed_runs[("greedy", 1)]["accuracy"] for seed_runs in runs]
    mcts = [seed_runs[(MORE_PRIOR_LABEL, top)] for seed_runs in runs]
    oracle = [seed_runs[(MATCHED_ORACLE, MATCHED_MULTIPLIER)] for seed_runs in runs]
    gaps = [gap_closed(m["accuracy"], g, o["accuracy"]) for m, g, o in zip(mcts, greedy, oracle)]
    if all(gap == gap for gap in gaps):
        spends = {"token_steps": [m["token_steps"] for m in mcts]}
        spends["oracle_token_steps"] = [o["token_steps"] for o in oracle]
        name = f"countdown_{slug(MORE_PRIOR_LABEL)}_{top}x_gap_closed_at_matched_spend"
        emit(name, summarise(gaps, seeds), "fraction of gap", reference=MATCHED_ORACLE, **spends)


def tune_c_puct(policy, tokenizer: CharTokenizer, task: CountdownTask, orm, seed: int) -> dict[str, float]:
    """MCTS with ORM leaves at 64x for each of TUNING_C_PUCT on 200 train-split prompts (not the eval prompts):
    where the benchmark's c_puct row comes from."""
    prompts = task.sample_prompts(200, torch.Generator().manual_seed(777), "train")
    figures = {}
    for c_puct in TUNING_C_PUCT:
        spec = Spec(f"MCTS, ORM leaves, c_puct {c_puct}", "mcts", orm, {"c_puct": c_puct})
        run = run_spec(spec, policy, tokenizer, task, prompts, 64 * task.max_length, seed)
        figures[f"countdown_tuning_mcts_orm_c_puct_{c_puct}_64x_accuracy"] = run["accuracy"]
        figures[f"countdown_tuning_mcts_orm_c_puct_{c_puct}_64x_token_steps"] = run["token_steps"]
    return figures


def report_tuning(measured: list[dict[str, float]], seeds: list[int]) -> None:
    """One JSON line per --tune-c-puct figure, over seeds."""
    for name in measured[0]:
        unit = "token-steps" if name.endswith("token_steps") else "fraction"
        emit(name, summarise_or_look([m[name] for m in measured], seeds), unit, prompts="200 train-split (tuning)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a barely trained policy, few prompts, small budgets (a smoke run)"
    )
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument(
        "--policy-checkpoint",
        help="search with this train.py checkpoint's policy ({seed} is replaced by the seed; the task must be "
        "Countdown with 4 numbers) instead of the cached imitation policy",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (at least 3)")
    parser.add_argument("--rm_prompts", type=int, default=RM_PROMPTS, help="train prompts (x4 rollouts) per RM")
    parser.add_argument("--rm_epochs", type=int, default=RM_EPOCHS, help="reward-model training epochs")
    parser.add_argument(
        "--reward-models-only",
        action="store_true",
        help="fit and cache each seed's reward models, then stop (one process per seed, then one run over all)",
    )
    parser.add_argument(
        "--tune-c-puct",
        action="store_true",
        help="only MCTS with ORM leaves at 64x for several c_puct on train-split prompts (where MORE_PRIOR comes from)",
    )
    add_retrained_prm_arguments(parser)
    add_rm_attention_argument(parser)
    parser.add_argument(
        "--rm_corrupted", type=int, default=0, metavar="N",
        help="add N train prompts' demonstrations, each with four near misses of it, to the reward models' data",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = CountdownTask(4)
    multipliers = [1, 4] if args.quick else [1, 4, 16, 64]
    prompts = task.sample_prompts(8 if args.quick else args.prompts, torch.Generator().manual_seed(100), "eval")
    measured = [measure_seed(seed, prompts, multipliers, args) for seed in args.seeds]
    if args.reward_models_only:
        return
    if args.tune_c_puct:
        report_tuning([figures for figures, _, _ in measured], args.seeds)
        return
    for name in measured[0][0]:
        values = [figures[name] for figures, _, _ in measured]
        if any(value != value for value in values):  # a ratio over a greedy accuracy of 0
            emit(name, {"mean": None, "ci95": None, "seeds": args.seeds, "values": values}, "x", note="greedy was 0")
            continue
        unit = "x" if "over_greedy" in name else "s" if name.endswith("_seconds") else "fraction"
        unit = "completions" if name.endswith("_count") else unit
        goal = {"goal": ">= 3"} if "over_greedy" in name else {}
        emit(name, summarise(values, args.seeds, (0, 1) if unit == "fraction" else None), unit, **goal)
    rows, specs = {}, measured[0][2]
    for spec in specs:
        for m in spec.budgets or multipliers:
            runs = [seed_runs[(spec.label, m)] for _, seed_runs, _ in measured]
            rows[(spec.label, m)] = emit_runs("countdown", spec, m, runs, args.seeds)
    learned_search_verdict(
        "countdown", specs, [seed_runs for _, seed_runs, _ in measured], args.seeds, max(multipliers)
    )
    matched_spend_gap([seed_runs for _, seed_runs, _ in measured], args.seeds, max(multipliers))
    print(f"\n### Countdown, 4 numbers ({len(prompts)} eval prompts, 1x = {task.max_length} token-steps)\n")
    print(table(rows, specs, multipliers), flush=True)


if __name__ == "__main__":
    main()
