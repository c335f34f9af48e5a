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


def series(log_dir, tag: str) -> list[dict[int, float]]:
    """{step: value} of `tag` in each event file under `log_dir` (one per run or resume), in file order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found = []
    for events in sorted(log_dir.rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            found.append({event.step: event.value for event in accumulator.Scalars(tag)})
    return found


@pytest.mark.parametrize("half", [5, 6])  # 5: saved on the checkpoint interval; 6: at max_steps, after a validation
def test_resumed_run_continues_the_same_curve(half, in_tmp):
    """The TensorBoard series of 2k straight equals k + a resume to 2k at every step, with the same step numbers."""
    full = 2 * half
    common = ["--config", DEBUG, "--trainer.log_every_n_steps", "1", "--trainer.val_check_interval", "2"]
    assert run_cli("fit", *common, "--trainer.max_steps", str(full), "--run_name", "full") == 0
    assert run_cli("fit", *common, "--trainer.max_steps", str(half), "--run_name", "resumed") == 0
    assert torch.load(in_tmp / "checkpoints/resumed/last.ckpt", weights_only=True)["global_step"] == half
    resume = ["--ckpt_path", "checkpoints/resumed/last.ckpt", "--trainer.max_steps", str(full)]
    assert run_cli("fit", *common, *resume, "--run_name", "resumed") == 0
    for tag in ("train/reward", "train/entropy", "val/accuracy", "train/sampled_token_steps"):
        reference = scalars(in_tmp / "lightning_logs/full", tag)
        first, second = series(in_tmp / "lightning_logs/resumed", tag)
        assert not set(first) & set(second), tag  # no step logged twice
        assert {**first, **second} == reference, tag  # same steps, same values
    assert sorted(scalars(in_tmp / "lightning_logs/full", "train/reward")) == list(range(full))


def test_the_run_counts_the_token_steps_it_sampled(in_tmp):
    """debug.yaml: 32 episodes of "hi" (2 actions each, no end token) per update: 64 token-steps per update."""
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "6") == 0
    counted = scalars(in_tmp / "lightning_logs/debug", "train/sampled_token_steps")
    assert counted == {step: 64.0 * (step + 1) for step in range(6)}
    assert torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)["sampled_token_steps"] == 6 * 64


BAD_INPUTS = [
    (["--torch_threads", "-1"], "torch_threads must be in [0, 1024] (0: torch's default), got -1"),
    (["--torch_threads", "100000"], "torch_threads must be in [0, 1024]"),
    (["--config", "latin1.txt"], "config 'latin1.txt' is not UTF-8 text"),
    (
        ["--trainer.callbacks.init_args.every_n_train_steps", "-1"],
        "Invalid value for every_n_train_steps=-1. Must be >= 0",
    ),
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
    (["--model.lr", "-1"], "model.lr must be a finite number in (0, 1] (Adam's step size), got -1"),
    (["--model.lr", "1e38"], "model.lr must be a finite number in (0, 1]"),
    (["--config", "inf_lr.yaml"], "model.lr must be a finite number in (0, 1] (Adam's step size), got inf"),
    (["--model.entropy_coef", "-1"], "model.entropy_coef must be a finite number >= 0.0, got -1.0"),
    (["--model.log_samples_every_n_steps", "-1"], "model.log_samples_every_n_steps must be >= 0"),
    (["--trainer.max_steps", "-5"], "trainer.max_steps must be >= 0, or -1 for no limit; got -5"),
    (["--trainer.max_epochs", "-5"], "trainer.max_epochs must be >= 0, or -1 for no limit; got -5"),
    (["--trainer.val_check_interval", "0"], "trainer.val_check_interval must be > 0"),
    (["--data.temperature", "0"], "data.temperature must be a finite number > 0, got 0.0"),
    (["--data.temperature", "-1"], "data.temperature must be a finite number > 0, got -1.0"),
    (["--data.gamma", "5"], "data.gamma must be a finite number in [0.0, 1.0], got 5.0"),
    (["--data.gamma", "-1"], "data.gamma must be a finite number in [0.0, 1.0], got -1.0"),
    (["--data.seed", "-1"], "data.seed must be an integer in [0, 4294967295], got -1"),
    (["--data.seed", "1e23"], 'Parser key "data.seed"'),
    (["--seed_everything", "1099511627776"], "seed_everything must be an integer in [0, 4294967295]"),
    (["--data.test_prompts", "0"], "data.test_prompts must be at least 1, got 0"),
    (["--sweep.methods", "[]"], "sweep.methods is empty"),
    (["--data.task.class_path", "this.Nope"], "module 'this' defines no 'Nope' (not imported)"),
    (["--data.task.class_path", "no_such_module_zz.Task"], "no module named 'no_such_module_zz'"),
    (["--data.predict_file", "latin1.txt"], "data.predict_file 'latin1.txt' is not UTF-8 text"),
    (["--data.predict_file", "missing.txt"], "data.predict_file 'missing.txt' cannot be read"),
    (["--search.output", "a_folder"], "search.output 'a_folder' is a folder"),
    (["--run_name", "a/b"], "run_name 'a/b' must be a plain folder name"),
    (["--collective_timeout", "0"], "collective_timeout must be a positive number of seconds"),
    (["--trainer.default_root_dir", "a_file"], "log folder 'a_file/lightning_logs/debug' cannot be made"),
    (["--trainer.callbacks.init_args.dirpath", "a_file/x"], "checkpoint folder 'a_file/x' cannot be made"),
    ([], "holds another run's last.ckpt: resume it with --ckpt_path checkpoints/debug/last.ckpt"),
    (["--guard.max_skipped_steps_in_a_row", "0"], "guard.max_skipped_steps_in_a_row must be at least 1, got 0"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=lambda value: str(value)[:40])
def test_bad_input_is_one_line_and_touches_nothing(args, message, in_tmp, capsys):
    checkpoint = in_tmp / "checkpoints/debug/last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"an earlier run's checkpoint")
    (in_tmp / "broken.yaml").write_text("data: [unclosed\n")
    (in_tmp / "unknown_key.yaml").write_text("data:\n  nonsense: 3\n")
    (in_tmp / "inf_lr.yaml").write_text("model:\n  lr: .inf\n")
    (in_tmp / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (in_tmp / "a_folder").mkdir()
    (in_tmp / "a_file").write_text("not a folder")
    written_before = sorted(path for path in in_tmp.rglob("*"))
    assert run_cli("fit", "--config", DEBUG, *args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert checkpoint.read_bytes() == b"an earlier run's checkpoint"
    assert sorted(path for path in in_tmp.rglob("*")) == written_before  # nothing written, not even a folder


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
