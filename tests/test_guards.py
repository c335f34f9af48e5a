"""Guards: a non-finite step never reaches the weights, and a checkpoint of another task is refused."""

import itertools
import os
import shutil

import pytest
import torch

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.learning import objectives as objectives_file
from o1_lightning.learning.objectives import PolicyGradient

from .conftest import DEBUG
from .helpers import run_cli, scalars

MOVING_AVERAGE = ["--model.baseline", "moving_average"]  # its buffer must be restored on a skipped step too


def poison(monkeypatch, where: str, calls: set[int]) -> None:
    """Make the rewards, the advantages or the loss non-finite on the given calls (0: the first step's)."""
    counter = itertools.count()

    def hit() -> bool:
        return next(counter) in calls

    if where == "rewards":
        original = RolloutDataModule.next_rollout

        def next_rollout(self):
            rollout = original(self)
            if hit():
                rollout.rewards[0] = float("nan")
            return rollout

        monkeypatch.setattr(RolloutDataModule, "next_rollout", next_rollout)
    elif where == "advantages":
        original = PolicyGradient.advantages  # still updates the moving-average buffer, with finite returns

        def advantages(self, rollout, values):
            result, returns = original(self, rollout, values)
            return (torch.full_like(result, float("nan")) if hit() else result), returns

        monkeypatch.setattr(PolicyGradient, "advantages", advantages)
    else:
        original = objectives_file.reinforce_loss

        def reinforce_loss(log_probs, advantages, mask):
            loss = original(log_probs, advantages, mask)
            return loss + float("inf") if hit() else loss

        monkeypatch.setattr(objectives_file, "reinforce_loss", reinforce_loss)


@pytest.fixture(scope="module")
def two_clean_steps(tmp_path_factory):
    """last.ckpt of two clean steps of the debug config."""
    folder = tmp_path_factory.mktemp("clean")
    here = os.getcwd()
    os.chdir(folder)
    try:
        assert run_cli("fit", "--config", DEBUG, *MOVING_AVERAGE, "--trainer.max_steps", "2") == 0
    finally:
        os.chdir(here)
    return torch.load(folder / "checkpoints/debug/last.ckpt", weights_only=True)


@pytest.mark.parametrize("where", ["rewards", "advantages", "loss"])
def test_a_non_finite_step_is_skipped_and_changes_nothing(where, two_clean_steps, in_tmp, monkeypatch):
    poison(monkeypatch, where, calls={2})
    assert run_cli("fit", "--config", DEBUG, *MOVING_AVERAGE, "--trainer.max_steps", "3") == 0
    after = torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)
    assert after["global_step"] == 3
    for name, tensor in two_clean_steps["state_dict"].items():  # weights and the moving-average buffer
        assert torch.equal(after["state_dict"][name], tensor), name
    clean_adam, adam = two_clean_steps["optimizer_states"][0]["state"], after["optimizer_states"][0]["state"]
    for index, state in clean_adam.items():  # Adam's step count and moments did not move
        assert all(torch.equal(adam[index][key], value) for key, value in state.items()), index
    assert scalars(in_tmp / "lightning_logs", "train/skipped_steps") == {0: 0.0, 1: 0.0, 2: 1.0}
    assert after["callbacks"]["NonFiniteGuard"] == {"skipped_steps": 1, "in_a_row": 1}  # the last step was skipped


def test_non_finite_steps_in_a_row_stop_the_run_in_one_line(in_tmp, monkeypatch, capsys):
    poison(monkeypatch, "rewards", calls=set(range(1, 100)))
    args = ["--trainer.max_steps", "10", "--guard.max_skipped_steps_in_a_row", "3"]
    assert run_cli("fit", "--config", DEBUG, *args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "3 training steps in a row (up to step 3) had non-finite" in errors[0]
    assert scalars(in_tmp / "lightning_logs", "train/skipped_steps") == {0: 0.0, 1: 1.0, 2: 2.0}


DIGITS = "0123456789+=;"  # AdditionTask's vocab; its default max_length is 26


def test_checkpoint_of_another_task_is_refused(in_tmp, capsys):
    same_shape = ["--data.task.init_args.vocab", DIGITS, "--data.task.init_args.target", "0" * 26]
    assert run_cli("fit", "--config", DEBUG, *same_shape, "--trainer.max_steps", "1") == 0
    resume = ["--ckpt_path", "checkpoints/debug/last.ckpt"]
    assert run_cli("fit", "--config", DEBUG, *resume, "--data.task", "o1_lightning.tasks.AdditionTask") == 2
    shorter = ["--data.task.init_args.vocab", DIGITS, "--data.task.init_args.target", "0" * 25]
    assert run_cli("fit", "--config", DEBUG, *resume, *shorter) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert "was made for task TargetTask(target='00000000000000000000000000', vocab=" in errors[0]
    assert "cannot resume task AdditionTask(min_digits=1, max_digits=3)" in errors[0] and "class_path" in errors[0]
    assert "its max_length differs (26 vs 25)" in errors[1]
    assert [p.name for p in (in_tmp / "lightning_logs/debug").iterdir()] == ["version_0"]  # the refusals wrote nothing


def test_changed_target_of_the_same_length_resumes_with_a_warning(in_tmp):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    shutil.copy(in_tmp / "checkpoints/debug/last.ckpt", in_tmp / "hi.ckpt")
    args = ["--ckpt_path", "hi.ckpt", "--data.task.init_args.target", "ho", "--trainer.max_steps", "2"]
    assert run_cli("fit", "--config", DEBUG, *args) == 2  # checkpoints/debug holds the first run: not overwritten
    with pytest.warns(UserWarning, match="resuming checkpoint 'hi.ckpt' on a changed task: target 'hi' -> 'ho'"):
        assert run_cli("fit", "--config", DEBUG, *args, "--run_name", "ho") == 0
    assert torch.load(in_tmp / "checkpoints/ho/last.ckpt", weights_only=True)["global_step"] == 2
    assert torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)["global_step"] == 1
