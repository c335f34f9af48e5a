"""Test-time compute on addition: accuracy against budget for each search method and verifier, by difficulty.

The policy imitates demonstrations of 1-5 digit sums and is stopped early (decent, imperfect); an outcome reward
model (ORM) and a process reward model (PRM) are trained on its own rollouts with exact labels (and, for
comparison, a PRM on Monte Carlo labels, N = 4). Then, on eval-split prompts of d digits (never imitated, never
in the reward models' data), every method runs at budgets of 1x, 4x, 16x and 64x one answer's length (policy
token-steps per problem; reward model calls are not charged). Best-of-N runs share their N samples across scorers
(same seed), so scorer comparisons are paired. Everything (policy, reward models, search draws) is redone per seed.

Prints one JSON line per figure (mean, ci95, seeds, and the token-steps spent), wall and CPU seconds per phase
(policy, reward models, search), issue 10's learned-verifier verdict at 64x, and a markdown table per difficulty.
Run: `python benchmarks/test_time_compute.py [--quick] [--seeds 0 1 2]`; policies and reward models are cached
under checkpoints/.

Sizes: reward models on 8192 prompts x 4 rollouts for 8 epochs (`--rm_prompts`, `--rm_epochs`), not the 16 epochs
of `fit_reward_models`' defaults: validation accuracy gains <= 0.005 from 8 to 16 epochs (docs/REWARD_MODELS.md),
and three seeds then take about 42 minutes on one shared CPU core (11 min of reward models, 3 of search per seed).
`--retrained_prm` adds rows for a second-round PRM trained on the rollouts plus the answers PRM-guided best-of-N and
sampled-step beam pick on fresh train prompts (`--retrain_sizes`): about 7 more minutes per seed.
"""

from __future__ import annotations

import argparse
import sys

import torch
from common import emit, summarise
from scaling_common import (
    PhaseTimer,
    Spec,
    add_retrained_prm_arguments,
    add_rm_attention_argument,
    emit_runs,
    learned_search_verdict,
    retrained_prm,
    run_spec,
    table,
    with_width,
)

from o1_lightning.app.reward_models.fit import fit_reward_models, scorers_of
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search import OutcomeScorer
from o1_lightning.tasks import AdditionTask

POLICY_STEPS = 4000
RM_PROMPTS, RM_EPOCHS = 8192, 8  # x 4 rollouts each; see the module docstring for why not 16 epochs
CACHE = "checkpoints"
SAMPLED_STEPS = {"sample_steps": True}  # Snell et al.'s beam: width x 2 whole steps sampled per iteration


def specs_for(task: AdditionTask, scorers: dict) -> list[Spec]:
    """The compared searches at one difficulty: learned scorers first (the MC-label PRM and the PRM retrained on
    search picks where they were fit), then oracle best-of-N, the reference of the learned-verifier verdict."""
    orm, prm, prm_prod, prm_mc = scorers["orm"], scorers["prm_min"], scorers["prm_prod"], scorers.get("prm_mc")
    prm2 = scorers.get("prm_round2")
    specs = [
        Spec("greedy", "greedy", budgets=[1]),
        Spec("majority vote", "majority"),
        Spec("best-of-N, ORM", "best_of_n", orm),
        Spec("weighted majority, ORM", "majority", orm, {"weighted": True}),
        Spec("best-of-N, PRM min", "best_of_n", prm),
        Spec("best-of-N, PRM product", "best_of_n", prm_prod),
    ]
    if prm_mc is not None:
        specs.append(Spec("best-of-N, PRM min (MC labels)", "best_of_n", prm_mc))
    specs += [
        Spec("beam, PRM min", "beam", prm),
        Spec("beam (sampled steps), PRM min", "beam", prm, SAMPLED_STEPS),
        Spec("MCTS, PRM min leaves", "mcts", prm),
    ]
    if prm2 is not None:
        specs += [
            Spec("best-of-N, PRM min round 2", "best_of_n", prm2),
            Spec("beam (sampled steps), PRM min round 2", "beam", prm2, SAMPLED_STEPS),
            Spec("MCTS, PRM min leaves round 2", "mcts", prm2),
        ]
    return specs + [Spec("best-of-N, verifier", "best_of_n", OutcomeScorer(task))]


def copy_check(prm, digits: int, column: int, operand: int, prompts: int = 200) -> float:
    """How often the PRM ranks the right column step above one that copied a wrong digit of an operand
    (`operand` 0: a, 1: b) with consistent arithmetic after it; 0.5 is chance. Search explores such alternatives."""
    task = AdditionTask(digits, digits)
    wins = 0
    for prompt in task.sample_prompts(prompts, torch.Generator().manual_seed(7), "eval"):
        a, b = task.parse(prompt)
        steps = task.demonstrate(prompt).split(";")
        digit_a, digit_b = a // 10**column % 10, b // 10**column % 10
        carry = int(steps[column - 1][4]) if column else 0
        digit_a, digit_b = (digit_a + 1) % 10 if operand == 0 else digit_a, (digit_b + 1) % 10 if operand else digit_b
        total = digit_a + digit_b + carry
        before = "".join(step + ";" for step in steps[:column])
        wrong = before + f"{digit_a}{digit_b}{carry}={total // 10}{total % 10};"
        right = before + steps[column] + ";"
        scores = prm.step_scores([prompt, prompt], [right, wrong])
        wins += scores[0][-1] > scores[1][-1]
    return wins / prompts


def miscopied_demonstrations(task: AdditionTask, count: int, seed: int) -> tuple[list[str], list[str]]:
    """`count` train-split prompts, each twice: with its demonstration, and with the demonstration of the same sum
    with one operand digit changed (the arithmetic after it consistent, as the policy's copy errors are). The
    verifier's rollouts almost never hold such an error; these put it in, labelled by the step checker as usual."""
    generator = torch.Generator().manual_seed(seed * 1000 + 5)  # the rollouts' prompts use offsets 1 and 2
    prompts, completions = [], []
    for prompt in task.sample_prompts(count, generator, "train"):
        operands = [str(n) for n in task.parse(prompt)]
        side = int(torch.randint(2, (1,), generator=generator))
        digits = list(operands[side])
        column = int(torch.randint(len(digits), (1,), generator=generator))
        lowest = 1 if column == 0 and len(digits) > 1 else 0  # no leading zero: the number keeps its length
        choices = [d for d in "0123456789"[lowest:] if d != digits[column]]
        digits[column] = choices[int(torch.randint(len(choices), (1,), generator=generator))]
        operands[side] = "".join(digits)
        prompts += [prompt, prompt]
        completions += [task.demonstrate(prompt), task.demonstrate(f"{operands[0]}+{operands[1]}=")]
    return prompts, completions


def setup(train_task: AdditionTask, seed: int, args: argparse.Namespace, timer: PhaseTimer) -> tuple:
    """The seed's imitated policy, its reward models (exact and MC labels) and their validation accuracies."""
    steps = 50 if args.quick else POLICY_STEPS
    with timer("policy"):
        policy = cached_imitation(train_task, steps, f"{CACHE}/policies", seed=seed)
    fit = {"cache_dir": f"{CACHE}/reward_models", "cache_key": f"addition_imitation{steps}_policy{seed}", "seed": seed}
    fit["attention_size"] = args.rm_attention
    if args.rm_miscopied:
        fit["extra_train"] = miscopied_demonstrations(train_task, args.rm_miscopied, seed)
        fit["cache_key"] += f"_miscopied{args.rm_miscopied}"
    fit |= (
        {"num_prompts": 64, "epochs": 1} if args.quick else {"num_prompts": args.rm_prompts, "epochs": args.rm_epochs}
    )
    with timer("reward_models"):
        models = fit_reward_models(train_task, policy, **fit)
    scorers = {
        "orm": scorers_of(train_task, {"outcome": models["outcome"]})["outcome"],
        "prm_min": scorers_of(train_task, {"process": models["process"]}, "min")["process"],
        "prm_prod": scorers_of(train_task, {"process": models["process"]}, "prod")["process"],
    }
    val = {kind: metrics["val/rm_accuracy"] for kind, (_, metrics) in models.items()}
    if args.mc_prm:
        with timer("reward_models"):
            mc_models = fit_reward_models(train_task, policy, kinds=("process",), labels="mc_soft", mc_samples=4, **fit)
        scorers["prm_mc"] = scorers_of(train_task, mc_models, "min", suffix="_mc4")["process"]
        val["process_mc4"] = mc_models["process"][1]["val/rm_accuracy"]
    if args.retrained_prm:
        with timer("retrained_prm"):
            sizes = (16, 4) if args.quick else args.retrain_sizes
            scorers["prm_round2"], val["process_round2"], counts = retrained_prm(
                train_task, policy, scorers["prm_min"], fit, seed, *sizes
            )
        val |= {f"round2_proposals_{name}": value for name, value in counts.items() if name != "proposals"}
    return policy, scorers, val


def figure_name(key: str) -> str:
    """A `setup` check's figure name: reward-model validation accuracies, or what the round-2 proposals hold."""
    return f"addition_{key}" if key.startswith("round2_proposals") else f"{key}_rm_val_accuracy"


def measure_seed(
    seed: int, eval_prompts: dict[int, list[str]], multipliers: list[int], args: argparse.Namespace
) -> tuple:
    """Every figure of one seed: {name: value} of the reward-model checks and timings, and {(digits, label, m): run}."""
    timer = PhaseTimer()
    train_task = AdditionTask(1, 5)
    tokenizer = CharTokenizer(train_task.vocab)
    policy, scorers, val = setup(train_task, seed, args, timer)
    figures = {figure_name(key): value for key, value in val.items()}
    for d in (2, 3):  # the PRM's blind spot: copy errors the policy rarely makes (so rarely sees labelled)
        for column, operand in [(0, 0), (0, 1), (d - 1, 1)]:
            name = f"prm_copy_check_d{d}_column{column + 1}_operand_{'ab'[operand]}"
            figures[name] = copy_check(scorers["prm_min"], d, column, operand, 20 if args.quick else 200)
    runs, specs = {}, {}
    with timer("search"):
        for d, prompts in eval_prompts.items():
            task = AdditionTask(d, d)
            specs[d] = specs_for(task, scorers)
            for spec in specs[d]:
                for m in spec.budgets or multipliers:
                    spec_m, budget = with_width(spec, m), m * task.max_length
                    runs[(d, spec.label, m)] = run_spec(spec_m, policy, tokenizer, task, prompts, budget, seed)
    figures |= timer.seconds
    print(f"# seed {seed}: " + ", ".join(f"{k} {v:.0f}" for k, v in timer.seconds.items()), file=sys.stderr, flush=True)
    return figures, runs, specs


def seed_runs_of(measured_seed: tuple, digits: int) -> dict:
    """One seed's runs on `digits`-digit prompts as {(label, multiplier): run}."""
    return {(label, m): run for (d, label, m), run in measured_seed[1].items() if d == digits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a barely trained policy, few prompts, small budgets (a smoke run)"
    )
    parser.add_argument("--prompts", type=int, default=200, help="prompts per difficulty")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (at least 3)")
    parser.add_argument("--rm_prompts", type=int, default=RM_PROMPTS, help="train prompts (x4 rollouts) per RM")
    parser.add_argument("--rm_epochs", type=int, default=RM_EPOCHS, help="reward-model training epochs")
    parser.add_argument(
        "--mc_prm", action=argparse.BooleanOptionalAction, default=True, help="also a PRM on Monte Carlo labels"
    )
    parser.add_argument("--digits", type=int, nargs="+", default=[2, 3, 4], help="eval difficulties (digits)")
    add_retrained_prm_arguments(parser, "train prompts (1-5 digits)")
    add_rm_attention_argument(parser)
    parser.add_argument(
        "--rm_miscopied", type=int, default=0, metavar="N",
        help="add N train prompts' demonstrations and N with one operand digit miscopied to the reward models' data",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    multipliers = [1, 4] if args.quick else [1, 4, 16, 64]
    prompts_per = 8 if args.quick else args.prompts
    eval_prompts = {
        d: AdditionTask(d, d).sample_prompts(prompts_per, torch.Generator().manual_seed(100 + d), "eval")
        for d in ([2, 4] if args.quick else args.digits)
    }
    measured = [measure_seed(seed, eval_prompts, multipliers, args) for seed in args.seeds]
    for name in measured[0][0]:
        values = [figures[name] for figures, _, _ in measured]
        unit = "s (a cache read when cached)" if name.endswith("_seconds") else "fraction"
        emit(name, summarise(values, args.seeds, None if unit != "fraction" else (0, 1)), unit, machine="CPU")
    specs, top = measured[0][2], max(multipliers)
    for d in eval_prompts:
        rows = {}
        for spec in specs[d]:
            for m in spec.budgets or multipliers:
                runs = [seed_runs[(d, spec.label, m)] for _, seed_runs, _ in measured]
                rows[(spec.label, m)] = emit_runs(f"addition_d{d}", spec, m, runs, args.seeds)
        learned_search_verdict(f"addition_d{d}", specs[d], [seed_runs_of(one, d) for one in measured], args.seeds, top)
        task = AdditionTask(d, d)
        print(f"\n### {d}-digit addition ({prompts_per} eval prompts, 1x = {task.max_length} token-steps)\n")
        print(table(rows, specs[d], multipliers), flush=True)


if __name__ == "__main__":
    main()
