"""Test-time compute on addition: accuracy against budget for each search method and verifier, by difficulty.

The policy imitates demonstrations of 1-5 digit sums and is stopped early (decent, imperfect); an outcome reward
model (ORM) and a process reward model (PRM) are trained on its own rollouts with exact labels (and, for
comparison, a PRM on Monte Carlo labels, N = 4). Then, on fresh prompts of d digits, every method runs at budgets
of 1x, 4x, 16x and 64x one answer's length (policy token-steps per problem; reward model calls are not charged).
Best-of-N runs share their N samples across scorers (same seed), so scorer comparisons are paired.

Prints one JSON line per figure {"name", "value", "unit"} and a markdown table per difficulty.
Run: `python benchmarks/test_time_compute.py [--quick]`; policies and reward models are cached under checkpoints/.
"""

from __future__ import annotations

import argparse
import time

import torch
from scaling_common import Spec, accuracy, emit, table, with_width

from o1_lightning.app.reward_models.fit import fit_reward_models, scorers_of
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search import OutcomeScorer
from o1_lightning.tasks import AdditionTask

POLICY_STEPS = 4000
CACHE = "checkpoints"


def specs_for(task: AdditionTask, scorers: dict) -> list[Spec]:
    orm, prm, prm_prod, prm_mc = scorers["orm"], scorers["prm_min"], scorers["prm_prod"], scorers.get("prm_mc")
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
    return specs + [
        Spec("beam, PRM min", "beam", prm),
        Spec("MCTS, PRM min leaves", "mcts", prm),
        Spec("best-of-N, verifier", "best_of_n", OutcomeScorer(task)),
    ]


def copy_check(prm, digits: int, column: int, operand: int, prompts: int = 200) -> float:
    """How often the PRM ranks the right column step above one that copied a wrong digit of an operand
    (`operand` 0: a, 1: b) with consistent arithmetic after it; 0.5 is chance. Search explores such alternatives."""
    task = AdditionTask(digits, digits)
    wins = 0
    for prompt in task.sample_prompts(prompts, torch.Generator().manual_seed(7)):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a barely trained policy, few prompts, small budgets (a smoke run)"
    )
    parser.add_argument("--prompts", type=int, default=200, help="prompts per difficulty")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train_task = AdditionTask(1, 5)
    tokenizer = CharTokenizer(train_task.vocab)
    start = time.perf_counter()
    steps = 50 if args.quick else POLICY_STEPS
    policy = cached_imitation(train_task, steps, f"{CACHE}/policies")
    fit = {"cache_dir": f"{CACHE}/reward_models", "cache_key": f"addition_imitation{steps}"}
    if args.quick:
        fit |= {"num_prompts": 64, "epochs": 1}
    models = fit_reward_models(train_task, policy, **fit)
    mc_models = fit_reward_models(train_task, policy, kinds=("process",), labels="mc_soft", mc_samples=4, **fit)
    emit("setup_seconds", round(time.perf_counter() - start, 1), "s (policy + reward models, or cache reads)")
    for kind, (_, metrics) in models.items():
        emit(f"{kind}_rm_val_accuracy", round(metrics["val/rm_accuracy"], 4), "fraction (exact labels, held out)")
    emit("process_mc4_rm_val_accuracy", round(mc_models["process"][1]["val/rm_accuracy"], 4), "fraction")
    scorers = {
        "orm": scorers_of(train_task, {"outcome": models["outcome"]})["outcome"],
        "prm_min": scorers_of(train_task, {"process": models["process"]}, "min")["process"],
        "prm_prod": scorers_of(train_task, {"process": models["process"]}, "prod")["process"],
        "prm_mc": scorers_of(train_task, mc_models, "min", suffix="_mc4")["process"],
    }
    for digits in (2, 3):  # the PRM's blind spot: copy errors the policy rarely makes (so rarely sees labelled)
        for column, operand in [(0, 0), (0, 1), (digits - 1, 1)]:
            figure = copy_check(scorers["prm_min"], digits, column, operand, 20 if args.quick else 200)
            name = f"prm_copy_check_d{digits}_column{column + 1}_operand_{'ab'[operand]}"
            emit(name, figure, "fraction of pairs ranked right (0.5 = chance)")
    multipliers = [1, 4] if args.quick else [1, 4, 16, 64]
    digits = [2, 4] if args.quick else [2, 3, 4]
    prompts_per = 8 if args.quick else args.prompts
    tables = {}
    for d in digits:
        task = AdditionTask(d, d)
        prompts = task.sample_prompts(prompts_per, torch.Generator().manual_seed(100 + d))
        rows = {}
        specs = specs_for(task, scorers)
        for spec in specs:
            for m in spec.budgets or multipliers:
                row = accuracy(with_width(spec, m), policy, tokenizer, task, prompts, m * task.max_length)
                rows[(spec.label, m)] = row
                slug = spec.label.replace(", ", "_").replace(" ", "_").replace("(", "").replace(")", "")
                emit(f"addition_d{d}_{slug}_{m}x_accuracy", row["accuracy"], f"fraction ({row['scorer']})")
        tables[d] = table(rows, specs, multipliers)
        print(f"\n### {d}-digit addition ({prompts_per} prompts, 1x = {task.max_length} token-steps)\n")
        print(tables[d], flush=True)
    emit("total_seconds", round(time.perf_counter() - start, 1), "s")


if __name__ == "__main__":
    main()
