"""The recipes that carry over: short targets with configs/hello.yaml, long ones by RL alone, through the real CLI."""

import pytest

from .conftest import CONFIGS
from .helpers import run_cli, scalars

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def test_readme_example_good_day_is_learned_with_hello_yaml(in_tmp):
    """README: change the target with --data.task.init_args.target "good day" (it used to collapse to 'gooddday')."""
    args = ["--config", str(CONFIGS / "hello.yaml"), "--data.task.init_args.target", "good day", "--trainer.max_steps"]
    assert run_cli("fit", *args, "100", *QUIET) == 0
    accuracy = scalars(in_tmp / "lightning_logs", "val/accuracy")
    assert max(accuracy.values()) == 1.0 and max(accuracy) < 100  # solved, then stopped early


def test_long_target_recipe_learns_without_search(in_tmp):
    """configs/long_target.yaml: process reward and KL(uniform || policy), no search refresh, no demonstrations."""
    args = ["--config", str(CONFIGS / "long_target.yaml"), "--data.task.init_args.target", "reinforce me"]
    assert run_cli("fit", *args, "--trainer.max_steps", "150", *QUIET) == 0
    logs = in_tmp / "lightning_logs"
    assert max(scalars(logs, "val/accuracy").values()) == 1.0
    assert scalars(logs, "train/uniform_kl") and not scalars(logs, "search/success")


@pytest.mark.parametrize("config", ["hello_ppo.yaml", "debug.yaml"])
def test_uniform_kl_term_is_logged_for_ppo_and_reinforce(config, in_tmp):
    args = ["--config", str(CONFIGS / config), "--model.uniform_kl_coef", "0.1", "--trainer.log_every_n_steps", "1"]
    assert run_cli("fit", *args, "--trainer.max_steps", "16", *QUIET) == 0
    values = scalars(in_tmp / "lightning_logs", "train/uniform_kl")
    assert values and all(value >= 0 for value in values.values())  # a KL divergence


def test_negative_uniform_kl_coef_is_one_line(in_tmp, capsys):
    assert run_cli("fit", "--config", str(CONFIGS / "debug.yaml"), "--model.uniform_kl_coef", "-0.1") == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == ["error: model.uniform_kl_coef must be >= 0, got -0.1"]
    assert not (in_tmp / "lightning_logs").exists()
