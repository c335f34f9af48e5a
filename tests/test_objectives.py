"""SFT, RL from an SFT checkpoint with a KL penalty, and PPO, through the real CLI; init_from errors."""

import math
import shutil

import pytest
import torch

from .conftest import CONFIGS, DEBUG
from .helpers import run_cli, scalars

SFT = str(CONFIGS / "addition_sft.yaml")
RL = str(CONFIGS / "addition_rl.yaml")
PPO = str(CONFIGS / "hello_ppo.yaml")
# The addition configs shrunk to seconds: 2-digit sums, a 16-unit GRU, 16 episodes a batch.
TINY = [
    "--data.task.init_args.max_digits", "2",
    "--data.batch_size", "16",
    "--data.val_prompts", "8",
    "--model.embedding_dim", "8",
    "--model.hidden_size", "16",
    "--trainer.log_every_n_steps", "1",
    "--trainer.enable_progress_bar", "false",
]  # fmt: skip


def fit_sft(steps: int = 3, *args: str) -> int:
    limits = ["--trainer.max_steps", str(steps), "--trainer.val_check_interval", str(steps)]
    return run_cli("fit", "--config", SFT, *TINY, *limits, "--trainer.default_root_dir", "sft", *args)


def fit_rl(rollouts: int, root: str, *args: str) -> int:
    """addition_rl.yaml takes 4 optimizer steps (2 PPO epochs x 2 minibatches) per rollout batch."""
    limits = ["--trainer.max_steps", str(4 * rollouts), "--trainer.val_check_interval", "100"]
    return run_cli("fit", "--config", RL, *TINY, *limits, "--trainer.default_root_dir", root, *args)


def test_sft_learns_a_target_from_demonstrations(in_tmp):
    args = ["--model.objective", "sft", "--data.source", "demonstrations", "--data.group_size", "1"]
    assert run_cli("fit", "--config", DEBUG, *args) == 0
    accuracy = scalars(in_tmp / "lightning_logs", "val/accuracy")
    assert accuracy[max(accuracy)] == 1.0
    loss = scalars(in_tmp / "lightning_logs", "train/loss")
    assert loss[max(loss)] < loss[min(loss)]


def test_rl_starts_from_the_sft_checkpoint_with_a_kl_penalty(in_tmp):
    assert fit_sft() == 0
    sft = torch.load(in_tmp / "checkpoints/addition_sft/last.ckpt", weights_only=True)
    assert sft["global_step"] == 3 and scalars(in_tmp / "sft", "val/accuracy")
    assert fit_rl(2, "rl") == 0  # init_from: checkpoints/addition_sft/last.ckpt, from the config
    kl = scalars(in_tmp / "rl", "train/kl")
    assert sorted(kl) == [0, 1] and all(math.isfinite(value) and value >= 0 for value in kl.values())
    rl = torch.load(in_tmp / "checkpoints/addition_rl/last.ckpt", weights_only=True)
    assert rl["global_step"] == 8
    sft_policy = {name[len("policy.") :]: value for name, value in sft["state_dict"].items() if "policy." in name}
    for name, value in sft_policy.items():  # the frozen reference is the SFT policy, which RL started from
        assert torch.equal(rl["state_dict"][f"reference.{name}"], value), name
    assert not torch.equal(rl["state_dict"]["policy.head.weight"], sft_policy["head.weight"])


def test_rl_resume_is_exact_and_does_not_reload_init_from(in_tmp):
    """A resumed fit keeps its trained policy and reference: it runs even with the SFT checkpoint gone."""
    assert fit_sft(1) == 0
    assert fit_rl(4, "full") == 0
    (in_tmp / "checkpoints/addition_rl/last.ckpt").unlink()
    assert fit_rl(2, "resumed") == 0
    (in_tmp / "checkpoints/addition_sft/last.ckpt").unlink()
    assert fit_rl(4, "resumed", "--ckpt_path", "checkpoints/addition_rl/last.ckpt") == 0
    for tag in ("train/reward", "train/kl", "train/loss"):
        full, resumed = scalars(in_tmp / "full", tag), scalars(in_tmp / "resumed", tag)
        assert sorted(full) == sorted(resumed) == [0, 1, 2, 3], tag
        assert [resumed[step] for step in (2, 3)] == [full[step] for step in (2, 3)], tag


def test_hello_ppo_solves_hello(in_tmp):
    assert run_cli("fit", "--config", PPO, "--trainer.enable_progress_bar", "false") == 0
    accuracy = scalars(in_tmp / "lightning_logs", "val/accuracy")
    assert accuracy[max(accuracy)] == 1.0 and max(accuracy) < 15  # solved within 15 rollout batches
    last = torch.load(in_tmp / "checkpoints/hello_ppo/last.ckpt", weights_only=True)
    assert last["global_step"] == 16 * (max(accuracy) + 1)  # 4 epochs x 4 minibatches per rollout batch


EVERY_4_STEPS = """
trainer:
  callbacks:
    - class_path: o1_lightning.app.LastCheckpoint
      init_args: {dirpath: checkpoints/ppo, save_last: true, save_top_k: -1, every_n_train_steps: 4}
"""


def fit_small_ppo(folder, rollouts: int, *args: str) -> int:
    """hello_ppo.yaml on "hi", shrunk: 16 episodes a batch, 2 epochs x 2 minibatches = 4 optimizer steps each."""
    (folder / "every_4_steps.yaml").write_text(EVERY_4_STEPS)
    config = ["--config", PPO, "--config", "every_4_steps.yaml", "--data.task.init_args.target", "hi"]
    small = ["--data.batch_size", "16", "--model.hidden_size", "16", "--trainer.enable_progress_bar", "false"]
    ppo = ["--model.ppo_epochs", "2", "--model.num_minibatches", "2", "--trainer.max_steps", str(4 * rollouts)]
    return run_cli("fit", *config, *small, *ppo, *args)


def test_ppo_global_step_counts_optimizer_steps_and_checkpoints_save(in_tmp):
    assert fit_small_ppo(in_tmp, 3) == 0
    # 3 rollout batches of 2 epochs x 2 minibatches: TensorBoard counts batches, global_step optimizer steps.
    assert sorted(scalars(in_tmp / "lightning_logs", "train/reward")) == [0, 1, 2]
    for tag in ("train/value_loss", "train/clip_fraction", "train/policy_loss", "train/loss", "train/entropy"):
        assert sorted(scalars(in_tmp / "lightning_logs", tag)) == [0, 1, 2], tag
    saved = sorted(path.name for path in (in_tmp / "checkpoints/ppo").iterdir())
    assert saved == ["epoch=0-step=12.ckpt", "epoch=0-step=4.ckpt", "epoch=0-step=8.ckpt", "last.ckpt"]
    assert torch.load(in_tmp / "checkpoints/ppo/last.ckpt", weights_only=True)["global_step"] == 12


def test_init_from_errors_are_one_line(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0  # another task's vocab
    assert fit_sft(1) == 0
    (in_tmp / "garbage.ckpt").write_bytes(b"not a checkpoint")
    capsys.readouterr()
    cases = [
        (["--model.init_from", "missing.ckpt"], "'missing.ckpt' does not exist"),
        (["--model.init_from", "garbage.ckpt"], "not a PyTorch checkpoint"),
        (["--model.init_from", "checkpoints/debug/last.ckpt"], "has vocab 'abcdefghijklmnopqrstuvwxyz ', this task's"),
        (["--model.hidden_size", "32"], "embedding_dim, hidden_size and num_layers must match"),
    ]
    for args, message in cases:
        assert fit_rl(1, "rl", *args) == 2, args
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], (args, errors)
    assert not (in_tmp / "rl").exists()  # refused before any log or checkpoint was written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model.objective", "sft"], "model.objective sft trains on data.source demonstrations"),
        (["--data.source", "demonstrations"], "takes data.group_size 1"),
        (["--data.source", "search"], "unknown data.source 'search'"),
        (["--model.objective", "dpo"], "unknown objective 'dpo'"),
        (["--model.max_grad_norm", "1.0"], "model.max_grad_norm is for objective ppo"),
        (["--model.objective", "ppo", "--model.ppo_epochs", "3"], "is not a multiple of the 12 optimizer steps"),
        (["--model.objective", "ppo", "--model.num_minibatches", "5"], "not a multiple of model.num_minibatches 5"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_inconsistent_objective_settings_are_one_line(args, message, in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, *args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]


def test_ppo_logs_the_batches_lightning_writes(in_tmp):
    """PPO moves global_step within a batch; the log decision is taken before, so every n-th batch logs its own."""
    for every in ("1", "3"):
        run = ["--trainer.log_every_n_steps", every, "--run_name", f"every_{every}"]
        assert fit_small_ppo(in_tmp, 6, *run) == 0
        shutil.rmtree(in_tmp / "checkpoints/ppo")  # EVERY_4_STEPS names the folder; one run per checkpoint folder
    logs = in_tmp / "lightning_logs"
    every_batch, every_third = scalars(logs / "every_1", "train/reward"), scalars(logs / "every_3", "train/reward")
    assert sorted(every_batch) == list(range(6)) and sorted(every_third) == [2, 5]
    assert every_third == {step: every_batch[step] for step in (2, 5)}
