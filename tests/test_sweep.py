"""The test-time sweep reports compute as spent and does not repeat deterministic methods."""

import csv

import pytest
import torch

from o1_lightning.app.sweep import markdown_table, sweep, write_sweep
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search import OutcomeScorer, ProcessScorer, is_deterministic, run_search
from o1_lightning.tasks import AdditionTask, TargetTask


def gru(task, seed: int = 0):
    torch.manual_seed(seed)
    tokenizer = CharTokenizer(task.vocab)
    return GRUPolicy(tokenizer.size, hidden_size=16, can_stop=task.can_stop).eval(), tokenizer


@pytest.mark.parametrize(
    ("method", "options", "deterministic"),
    [
        ("greedy", {}, True),
        ("beam", {}, True),
        ("mcts", {}, True),
        ("mcts", {"rollout": "sample"}, False),
        ("best_of_n", {}, False),
        ("sampling", {}, False),
    ],
)
def test_deterministic_methods_give_one_answer_whatever_the_generator(method, options, deterministic):
    task = AdditionTask(1, 2)
    policy, tokenizer = gru(task)
    prompts = task.sample_prompts(6, torch.Generator().manual_seed(0), "eval")
    scorer = ProcessScorer(task) if method in ("beam", "mcts") else OutcomeScorer(task)

    def answers(seed: int) -> list[str]:
        generator = torch.Generator().manual_seed(seed)
        results = run_search(
            method, policy, tokenizer, task, prompts, 4 * task.max_length, scorer, generator, **options
        )
        return [r.completion for r in results]

    assert is_deterministic(method, options) == deterministic
    assert (answers(0) == answers(1)) == deterministic  # a random method (untrained policy) draws other answers


def test_the_sweep_reports_token_steps_spent_and_solves_deterministic_methods_once(tmp_path):
    task = TargetTask("hello")
    policy, tokenizer = gru(task)
    budget = 64 * task.max_length
    rows = sweep(policy, tokenizer, task, [""], ["greedy", "best_of_n", "beam"], [budget], {}, repeats=4)
    by_method = {row.method: row for row in rows}
    assert [by_method[m].solves for m in ("greedy", "best_of_n", "beam")] == [1, 4, 1]
    assert by_method["greedy"].mean_token_steps == task.max_length  # one answer of 5 characters
    assert by_method["best_of_n"].mean_token_steps == budget  # 64 samples of 5 characters
    assert by_method["beam"].mean_token_steps < budget  # beam search stops when its beams finish
    assert by_method["beam"].deterministic and not by_method["best_of_n"].deterministic
    written = write_sweep(rows, tmp_path)
    with open(written[0]) as handle:
        table = list(csv.DictReader(handle))
    assert [float(row["mean_token_steps"]) for row in table] == [row.mean_token_steps for row in rows]
    greedy_row = markdown_table(rows).splitlines()[2]
    assert greedy_row == "| greedy | none | 1 (deterministic: one per prompt) | " + f"{rows[0].accuracy:.3f} @ 5 |"
