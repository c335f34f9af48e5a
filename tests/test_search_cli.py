"""Search through the CLI: the test-time scaling sweep, predict, and the search-data refresh with resume."""

import json

import torch

from .conftest import DEBUG
from .helpers import run_cli, scalars

METHODS = ("greedy", "best_of_n", "majority", "beam", "mcts")
REFRESH = """
trainer:
  callbacks:
    - class_path: o1_lightning.app.LastCheckpoint
      init_args: {dirpath: checkpoints/debug, save_last: true, save_top_k: 0, every_n_train_steps: 5}
    - class_path: o1_lightning.app.SearchRefresh
      init_args: {every_n_steps: 2, method: best_of_n, scorer: outcome, budget_multiplier: 8, num_prompts: 2}
data:
  task: {class_path: o1_lightning.tasks.TargetTask, init_args: {target: hi, vocab: hij}}
  buffer_batch_size: 8
"""


def test_sweep_logs_accuracy_against_budget_for_every_method(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "3") == 0
    args = ["--config", DEBUG, "--ckpt_path", "checkpoints/debug/last.ckpt", "--trainer.default_root_dir", "sweep"]
    assert run_cli("test", *args, "--sweep.budget_multipliers", "[1, 4, 16]") == 0
    budgets = [2, 8, 32]  # multiples of the target's length, 2
    for method in METHODS:
        assert sorted(scalars(in_tmp / "sweep", f"test/{method}/accuracy")) == budgets, method
        spent = scalars(in_tmp / "sweep", f"test/{method}/mean_token_steps")
        assert sorted(spent) == budgets and all(spent[b] <= b for b in budgets), method
    folder = next((in_tmp / "sweep").rglob("sweep.csv")).parent
    assert len((folder / "sweep.csv").read_text().splitlines()) == 1 + len(METHODS) * len(budgets)
    table = (folder / "sweep.md").read_text()
    assert "| best_of_n | outcome (oracle) |" in table and "| beam | process_fraction (oracle) |" in table
    assert (folder / "sweep.png").stat().st_size > 0


def test_predict_prints_and_writes_scored_solutions(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "2") == 0
    args = ["--config", DEBUG, "--ckpt_path", "checkpoints/debug/last.ckpt", "--data.predict_prompts", '["", ""]']
    assert run_cli("predict", *args, "--search.method", "best_of_n", "--search.budget_multiplier", "8",
                   "--search.scorer", "outcome", "--search.output", "out/solutions.jsonl") == 0  # fmt: skip
    lines = [json.loads(line) for line in (in_tmp / "out/solutions.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and all(line["method"] == "best_of_n" and line["oracle"] for line in lines)
    assert all(line["compute"] <= 16 for line in lines)
    assert "(outcome) correct=" in capsys.readouterr().out


def test_predict_refuses_a_prompt_the_task_cannot_parse(in_tmp, capsys):
    assert run_cli("predict", "--config", DEBUG, "--data.predict_prompts", '["not empty"]') == 2
    assert "error: TargetTask takes an empty prompt, got 'not empty'" in capsys.readouterr().err


def test_refresh_fills_the_buffer_and_a_resumed_run_keeps_it(in_tmp):
    (in_tmp / "refresh.yaml").write_text(REFRESH)
    common = ["--config", DEBUG, "--config", "refresh.yaml", "--trainer.log_every_n_steps", "1"]
    assert run_cli("fit", *common, "--trainer.max_steps", "10", "--trainer.default_root_dir", "full") == 0
    (in_tmp / "checkpoints/debug/last.ckpt").unlink()
    assert run_cli("fit", *common, "--trainer.max_steps", "5", "--trainer.default_root_dir", "resumed") == 0
    saved = torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)
    assert len(saved["RolloutDataModule"]["buffer"]["items"]) > 0  # verified solutions were kept
    resume = ["--ckpt_path", "checkpoints/debug/last.ckpt", "--trainer.max_steps", "10"]
    assert run_cli("fit", *common, *resume, "--trainer.default_root_dir", "resumed") == 0
    for tag in ("train/reward", "search/buffer_size", "train/imitation_loss", "train/sampled_token_steps"):
        reference, resumed = scalars(in_tmp / "full", tag), scalars(in_tmp / "resumed", tag)
        assert reference and resumed == reference, tag
    # 10 rollouts of 32 x 2 token-steps, and 5 refreshes of best-of-N over 2 prompts at 8 x 2 token-steps each
    final = torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)
    assert final["sampled_token_steps"] == 10 * 64 + 5 * 2 * 16
