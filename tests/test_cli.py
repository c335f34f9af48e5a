"""The real CLI end to end: solving hello, exact resume, and one-line errors on bad input."""

import pytest
import torch

from .conftest import DEBUG, HELLO
from .helpers import run_cli, scalars


def test_fit_solves_hello_and_leaves_last_checkpoint(in_tmp):
    assert run_cli("fit", "--config", HELLO, "--trainer.enable_progress_bar", "false") == 0
    accuracy = scalars(in_tmp / "lightning_logs", "val/accuracy")
    assert accuracy[max(accuracy)] == 1.0
    assert max(accuracy) < 20  # solved within 20 updates, then stopped early
    last = torch.load(in_tmp / "checkpoints/hello/last.ckpt", weights_only=True)
    assert last["global_step"] == max(accuracy) + 1  # last.ckpt holds the final state, not the last interval
    for tag in ("train/reward", "train/success", "train/entropy", "train/loss", "train/length"):
        assert scalars(in_tmp / "lightning_logs", tag), tag


def test_resumed_run_continues_the_same_curve(in_tmp):
    full, half = 12, 6
    common = ["--config", DEBUG, "--trainer.log_every_n_steps", "1"]
    assert run_cli("fit", *common, "--trainer.max_steps", str(full), "--trainer.default_root_dir", "full") == 0
    (in_tmp / "checkpoints/debug/last.ckpt").unlink()
    assert run_cli("fit", *common, "--trainer.max_steps", str(half), "--trainer.default_root_dir", "resumed") == 0
    assert torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)["global_step"] == half
    resume = ["--ckpt_path", "checkpoints/debug/last.ckpt", "--trainer.max_steps", str(full)]
    assert run_cli("fit", *common, *resume, "--trainer.default_root_dir", "resumed") == 0
    reference = scalars(in_tmp / "full", "train/reward")
    resumed = scalars(in_tmp / "resumed", "train/reward")
    assert sorted(reference) == list(range(full)) and sorted(resumed) == list(range(full))
    assert [resumed[step] for step in range(half, full)] == [reference[step] for step in range(half, full)]


BAD_INPUTS = [
    (["--torch_threads", "-1"], "torch_threads must be >= 0"),
    (["--data.task.init_args.target", "Hello!"], "outside the vocab"),
    (["--data.task.init_args.target", ""], "target is empty"),
    (["--data.batch_size", "0"], "data.batch_size must be at least 1, got 0"),
    (["--data.group_size", "0"], "data.group_size must be at least 1, got 0"),
    (["--data.batch_size", "10", "--data.group_size", "4"], "not a multiple"),
    (["--data.reward", "bonus"], "unknown reward 'bonus'"),
    (["--model.baseline", "critic"], "unknown baseline 'critic'"),
    (["--ckpt_path", "missing.ckpt"], "'missing.ckpt' does not exist"),
    (["--ckpt_path", "."], "checkpoint '.' does not exist or is not a file"),
    (["--data.task.class_path", "o1_lightning.tasks.Nope"], "class_path 'o1_lightning.tasks.Nope'"),
    (["--data.task.init_args.vocab", "aab"], "task vocab 'aab' repeats a character"),
    (["--data.val_prompts", "0"], "data.val_prompts and data.steps_per_epoch must be at least 1, got 0"),
    (["--data.batch_size", "abc"], "key \"data.batch_size\": Expected a <class 'int'>. Got value: abc"),
    (["--data.nonsense", "3"], "unrecognized arguments: --data.nonsense 3"),
    (["--config", "missing.yaml"], "missing.yaml'"),  # "File does not exist: '/absolute/path/missing.yaml'"
    (["--config", "broken.yaml"], "Problems parsing config"),
    (["--config", "unknown_key.yaml"], "does not accept option 'data.nonsense'"),
    (["--model.hidden_size", "0"], "model.hidden_size must be at least 1, got 0"),
    (["--model.lr", "-1"], "model.lr must be positive, got -1.0"),
    (["--trainer.max_steps", "-5"], "non-negative integer or -1 (infinite steps). You passed in -5"),
    (["--guard.max_skipped_steps_in_a_row", "0"], "guard.max_skipped_steps_in_a_row must be at least 1, got 0"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=lambda value: str(value)[:40])
def test_bad_input_is_one_line_and_touches_nothing(args, message, in_tmp, capsys):
    checkpoint = in_tmp / "checkpoints/debug/last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"an earlier run's checkpoint")
    (in_tmp / "broken.yaml").write_text("data: [unclosed\n")
    (in_tmp / "unknown_key.yaml").write_text("data:\n  nonsense: 3\n")
    assert run_cli("fit", "--config", DEBUG, *args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert checkpoint.read_bytes() == b"an earlier run's checkpoint"
    assert not (in_tmp / "lightning_logs").exists()


def test_corrupt_and_unsafe_checkpoints_are_refused(in_tmp, capsys):
    (in_tmp / "garbage.ckpt").write_bytes(b"not a checkpoint")

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"state_dict": {}, "payload": Payload()}, in_tmp / "unsafe.ckpt")
    assert run_cli("fit", "--config", DEBUG, "--ckpt_path", "garbage.ckpt") == 2
    assert run_cli("fit", "--config", DEBUG, "--ckpt_path", "unsafe.ckpt") == 2
    captured = capsys.readouterr()
    assert "not a PyTorch checkpoint" in captured.err and "refused without running them" in captured.err
    assert "this must never run" not in captured.out


def test_checkpoint_of_another_vocab_is_refused(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    args = ["--ckpt_path", "checkpoints/debug/last.ckpt", "--data.task.init_args.vocab", "hij"]
    assert run_cli("fit", "--config", DEBUG, *args) == 2
    assert "does not match this task's vocab 'hij'" in capsys.readouterr().err
