"""The addition sweep's hard negatives for verifiers: a demonstration of the same sum with one digit miscopied."""

from pathlib import Path

from o1_lightning.rewards.learned import exact_step_labels
from o1_lightning.tasks import AdditionTask

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_miscopied_demonstrations_pair_each_prompt_with_a_right_and_a_miscopied_one(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the sweep imports its siblings as top-level modules
    from test_time_compute import miscopied_demonstrations

    task = AdditionTask(1, 5)
    prompts, completions = miscopied_demonstrations(task, 50, seed=0)
    assert len(prompts) == len(completions) == 100
    for i in range(0, 100, 2):
        prompt, right, wrong = prompts[i], completions[i], completions[i + 1]
        assert prompts[i + 1] == prompt and right == task.demonstrate(prompt) and task.outcome(prompt, right)
        assert not task.outcome(prompt, wrong)  # one operand digit changed: another sum
        labels = exact_step_labels(task, prompt, wrong)
        first_wrong = labels.index(False)
        assert not any(labels[first_wrong:])  # the copy error is caught where it happens and stays wrong
        assert len(wrong.split(";")) == len(right.split(";"))  # the operand kept its digit count
    again = miscopied_demonstrations(task, 50, seed=0)
    assert again == (prompts, completions) and miscopied_demonstrations(task, 50, seed=1) != again
