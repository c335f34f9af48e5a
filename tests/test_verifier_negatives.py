"""Hard negatives for verifiers: demonstrations with the errors the policies make and their rollouts rarely hold."""

from pathlib import Path

from o1_lightning.rewards.learned import exact_step_labels
from o1_lightning.tasks import AdditionTask, CountdownTask

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


def test_corrupted_countdown_demonstrations_hold_one_right_and_four_near_misses(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from countdown_search import corrupted_demonstrations

    task = CountdownTask(4)
    prompts, completions = corrupted_demonstrations(task, 40, seed=0)
    assert len(prompts) == len(completions) == 200
    ends_at_target = wrong = 0
    for i in range(0, 200, 5):
        prompt = prompts[i]
        right, elsewhere, *broken = completions[i : i + 5]
        assert prompts[i : i + 5] == [prompt] * 5 and right == task.demonstrate(prompt) and task.outcome(prompt, right)
        target = str(task.parse(prompt)[1])
        assert all(task.process(prompt, elsewhere)) and task.answer(elsewhere) != target  # valid steps, wrong end
        for near_miss in broken:  # one step changed, the others as demonstrated
            assert len(task.steps(near_miss)) == len(task.steps(right))
            assert sum(a != b for a, b in zip(task.steps(near_miss), task.steps(right))) == 1
            wrong += not task.outcome(prompt, near_miss)
            ends_at_target += task.answer(near_miss) == target
    assert wrong >= 115  # of 120; a swapped operand may land on a number the pool does hold twice
    assert ends_at_target > 60  # most still end at the target: only checking the steps rejects them
    again = corrupted_demonstrations(task, 40, seed=0)
    assert again == (prompts, completions) and corrupted_demonstrations(task, 40, seed=1) != again
