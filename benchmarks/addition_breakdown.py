"""Where an addition policy fails: greedy accuracy by operand length, and how often each scratchpad column is right.

Give one checkpoint per seed (at least 3, e.g. those of benchmarks/addition_solved.py's seeds); figures are over
them, on eval-split prompts:

python benchmarks/addition_breakdown.py runs/addition_solved/seed{0,1,2}/checkpoints/addition_attention_sft/last.ckpt
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import torch
from common import emit, load_policy, summarise

from o1_lightning.tasks import AdditionTask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--max-digits", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = AdditionTask(1, args.max_digits)
    prompts = task.sample_prompts(args.prompts, torch.Generator().manual_seed(2024), "eval")  # as policy_init.py's
    header = " | ".join(str(digits) for digits in range(1, args.max_digits + 1))
    by_length_rows, column_rows, by_length_all, by_column_all = [], [], [], []
    for checkpoint in args.checkpoints:
        completions = load_policy(checkpoint).generate(prompts)
        solved, column_right = defaultdict(list), defaultdict(list)
        for prompt, completion in zip(prompts, completions):
            a, b = task.parse(prompt)
            columns = max(len(str(a)), len(str(b)))  # the longer operand's digits = scratchpad columns
            solved[columns].append(task.outcome(prompt, completion))
            checks = task.process(prompt, completion)
            for column in range(columns):
                column_right[column].append(column < len(checks) and checks[column])
        by_length = [sum(solved[d]) / len(solved[d]) for d in range(1, args.max_digits + 1)]
        by_column = [sum(column_right[c]) / len(column_right[c]) for c in range(args.max_digits)]
        by_length_all.append(by_length)
        by_column_all.append(by_column)
        by_length_rows.append(f"| {checkpoint} | " + " | ".join(f"{value:.2f}" for value in by_length) + " |")
        column_rows.append(f"| {checkpoint} | " + " | ".join(f"{value:.2f}" for value in by_column) + " |")
    seeds = list(range(len(args.checkpoints)))  # one seed per checkpoint, in the order given
    fields = {"checkpoints": [str(c) for c in args.checkpoints], "prompts": f"{args.prompts} eval-split"}
    for digits in range(1, args.max_digits + 1):
        values = [row[digits - 1] for row in by_length_all]
        emit(f"addition_breakdown/accuracy_{digits}_digits", summarise(values, seeds, (0, 1)), "fraction", **fields)
        values = [row[digits - 1] for row in by_column_all]
        emit(f"addition_breakdown/column_{digits}_right", summarise(values, seeds, (0, 1)), "fraction", **fields)
    separator = "| --- |" + " ---: |" * args.max_digits
    print(f"Greedy accuracy by the longer operand's digits ({args.prompts} eval-split prompts):\n")
    print(f"| checkpoint | {header} |\n{separator}\n" + "\n".join(by_length_rows))
    print("\nColumn step k right (exactly the true '<a><b><carry>=<carry><digit>;'), over sums with a column k:\n")
    print(f"| checkpoint | {header} |\n{separator}\n" + "\n".join(column_rows))


if __name__ == "__main__":
    main()
