"""Guards: a checkpoint of another task is refused."""

import shutil

import pytest
import torch

from .conftest import CONFIGS
from .helpers import run_cli

DEBUG = str(CONFIGS / "debug.yaml")
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
    assert [p.name for p in (in_tmp / "lightning_logs").iterdir()] == ["version_0"]  # the refusals wrote nothing


def test_changed_target_of_the_same_length_resumes_with_a_warning(in_tmp):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    shutil.copy(in_tmp / "checkpoints/debug/last.ckpt", in_tmp / "hi.ckpt")
    args = ["--ckpt_path", "hi.ckpt", "--data.task.init_args.target", "ho", "--trainer.max_steps", "2"]
    with pytest.warns(UserWarning, match="resuming checkpoint 'hi.ckpt' on a changed task: target 'hi' -> 'ho'"):
        assert run_cli("fit", "--config", DEBUG, *args) == 0
    assert torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)["global_step"] == 2
