"""model.lr_schedule: the decay factor by hand, the learning rate the optimizer really uses each step, bad values."""

import math

import pytest

from o1_lightning.learning.lr_schedule import lr_factor

from .conftest import DEBUG
from .helpers import run_cli, scalars


def test_factors_by_hand():
    assert lr_factor("constant", 7, 10) == 1.0
    assert lr_factor("linear", 0, 4) == 1.0 and lr_factor("linear", 1, 4) == 0.75 and lr_factor("linear", 4, 4) == 0
    assert lr_factor("cosine", 1, 4) == pytest.approx((1 + math.sqrt(0.5)) / 2)  # cos(pi/4) = sqrt(1/2)
    assert lr_factor("cosine", 2, 4) == pytest.approx(0.5) and lr_factor("cosine", 9, 4) == 0.0  # 0 past the end
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        lr_factor("step", 1, 4)


def test_warmup_factors_by_hand():
    """2 warmup steps ramp 1/2, 1; a linear decay then spans the 4 steps left; constant stays at 1 after it."""
    linear = [lr_factor("linear", step, 6, warmup_steps=2) for step in range(7)]
    assert linear == [0.5, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    assert [lr_factor("constant", step, 6, warmup_steps=4) for step in (0, 3, 4, 9)] == [0.25, 1.0, 1.0, 1.0]
    assert lr_factor("cosine", 4, 6, warmup_steps=2) == pytest.approx(0.5)  # halfway through the decay
    with pytest.raises(ValueError, match="needs more steps than the warmup's 6, got 6"):
        lr_factor("cosine", 6, 6, warmup_steps=6)


MONITOR = "--trainer.callbacks+=lightning.pytorch.callbacks.LearningRateMonitor"


@pytest.mark.parametrize(
    ("objective", "extra"),
    [("reinforce", []), ("ppo", ["--model.ppo_epochs", "1", "--model.num_minibatches", "1"])],
)
def test_the_optimizer_steps_with_the_schedule(objective, extra, in_tmp):
    """lr at optimizer step k is lr * (1 - k / max_steps), in automatic (REINFORCE) and manual (PPO) optimisation."""
    args = ["--model.objective", objective, *extra, "--model.lr_schedule", "linear", "--trainer.max_steps", "8"]
    assert run_cli("fit", "--config", DEBUG, *args, MONITOR) == 0
    logged = scalars(in_tmp / "lightning_logs", "lr-Adam")  # logged before each step k
    assert logged == pytest.approx({k: 0.01 * (1 - k / 8) for k in range(8)}, abs=1e-7)


def test_the_optimizer_steps_with_warmup_then_decay(in_tmp):
    """PPO (manual optimisation) with 2 warmup steps and a linear decay over the other 4: lr * factor each step."""
    ppo = ["--model.objective", "ppo", "--model.ppo_epochs", "1", "--model.num_minibatches", "1"]
    schedule = ["--model.lr_schedule", "linear", "--model.lr_warmup_steps", "2", "--trainer.max_steps", "6"]
    assert run_cli("fit", "--config", DEBUG, *ppo, *schedule, MONITOR) == 0
    logged = scalars(in_tmp / "lightning_logs", "lr-Adam")
    assert logged == pytest.approx({0: 0.005, 1: 0.01, 2: 0.01, 3: 0.0075, 4: 0.005, 5: 0.0025}, abs=1e-7)


def test_a_resume_with_a_new_lr_rescales_the_schedule(in_tmp):
    """4 steps decaying over 4 at lr 0.01, then resumed to 8 with lr 0.02: from step 4 the lr is 0.02 * (1 - k / 8),
    the new base times the schedule's factor (the scheduler's restored base would bring 0.01 back)."""
    common = ["--config", DEBUG, "--model.lr_schedule", "linear", MONITOR, "--run_name", "decay"]
    assert run_cli("fit", *common, "--trainer.max_steps", "4") == 0
    resume = ["--ckpt_path", "checkpoints/decay/last.ckpt", "--model.lr", "0.02", "--trainer.max_steps", "8"]
    assert run_cli("fit", *common, *resume) == 0
    logged = scalars(in_tmp / "lightning_logs", "lr-Adam")
    expected = {k: 0.01 * (1 - k / 4) for k in range(4)} | {k: 0.02 * (1 - k / 8) for k in range(4, 8)}
    assert logged == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model.lr_schedule", "step"], "unknown model.lr_schedule 'step'; allowed: constant, linear, cosine"),
        (["--model.lr_schedule", "cosine", "--trainer.max_steps", "-1"], "set trainer.max_steps >= 1, got -1"),
        (["--model.lr_warmup_steps", "-3"], "model.lr_warmup_steps must be >= 0, got -3"),
        (
            ["--model.lr_schedule", "linear", "--model.lr_warmup_steps", "8", "--trainer.max_steps", "8"],
            "after 8 warmup steps: set trainer.max_steps >= 9, got 8",
        ),
    ],
)
def test_bad_schedule_is_one_error_line(args, message, in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, *args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert not any(in_tmp.iterdir())  # nothing written
