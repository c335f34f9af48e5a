"""Faults through the real command line: Ctrl-C and SIGTERM lose no update, one run per checkpoint folder,
resume with changed options, and train_reward_model.py's bad inputs."""

import errno
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from lightning.fabric.plugins.io import torch_io
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from o1_lightning.app.reward_models.cli import main as reward_model_main
from o1_lightning.app.run_summary import RunSummary
from o1_lightning.errors import O1Error
from o1_lightning.learning.imitation import cached_imitation
from o1_lightning.policy.checkpoint import read_checkpoint, read_saved, save_atomically
from o1_lightning.tasks import AdditionTask

from .conftest import CONFIGS, REPO
from .helpers import run_cli, scalars

DEBUG = str(CONFIGS / "debug.yaml")  # last.ckpt every 5 steps
REWARD_MODEL = str(CONFIGS / "reward_model.yaml")


def start_fit(folder, *args: str) -> subprocess.Popen:
    command = [sys.executable, str(REPO / "train.py"), "fit", "--config", DEBUG, "--trainer.max_steps", "100000", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the fit ended or stalled before writing"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_save_the_exact_state_and_resume(signum, in_tmp):
    fit = start_fit(in_tmp)
    last = in_tmp / "checkpoints/debug/last.ckpt"
    try:
        wait_for(last, fit)  # the first periodic save (step 5): training is under way
        fit.send_signal(signum)
        _, stderr = fit.communicate(timeout=120)
    finally:
        fit.kill()
    assert fit.returncode == 128 + signum, stderr[-2000:]
    step = read_checkpoint(last)["global_step"]  # the update the signal interrupted, saved whole
    assert step >= 5 and f"interrupted ({signal.Signals(signum).name}) after update {step}" in stderr
    assert not list(last.parent.glob("*.part")) and not (last.parent / ".lock").exists()

    resume = ["--ckpt_path", str(last), "--trainer.max_steps", str(step + 2)]
    assert run_cli("fit", "--config", DEBUG, *resume) == 0
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", str(step + 2), "--run_name", "straight") == 0
    straight = torch.load(in_tmp / "checkpoints/straight/last.ckpt", weights_only=True)
    resumed = torch.load(last, weights_only=True)
    for name, weight in straight["state_dict"].items():
        assert torch.equal(weight, resumed["state_dict"][name]), name  # no update lost or repeated
    reference = scalars(in_tmp / "lightning_logs/straight", "train/reward")
    assert scalars(in_tmp / "lightning_logs/debug", "train/reward") == reference
    assert sorted(reference) == list(range(step + 2))


def test_a_second_run_in_the_same_folder_stops_on_the_lock(in_tmp, capsys):
    fit = start_fit(in_tmp)
    try:
        wait_for(in_tmp / "checkpoints/debug/.lock", fit)
        resume = ["--ckpt_path", "checkpoints/debug/last.ckpt", "--trainer.max_steps", "3"]
        wait_for(in_tmp / "checkpoints/debug/last.ckpt", fit)
        assert run_cli("fit", "--config", DEBUG, *resume) == 2
    finally:
        fit.send_signal(signal.SIGTERM)
        fit.communicate(timeout=120)
    error = capsys.readouterr().err
    assert f"error: another run ({socket.gethostname()} {fit.pid}) is writing to 'checkpoints/debug'" in error
    assert fit.returncode == 128 + signal.SIGTERM  # the first run was not disturbed and saved on SIGTERM


def test_a_lock_left_by_a_dead_run_is_taken_over(in_tmp):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (in_tmp / "checkpoints/debug").mkdir(parents=True)
    (in_tmp / "checkpoints/debug/.lock").write_text(f"{socket.gethostname()} {gone.stdout.strip()}\n")
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "2") == 0
    assert not (in_tmp / "checkpoints/debug/.lock").exists()


def test_runs_are_named_after_the_config_or_run_name(in_tmp):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1", "--run_name", "second") == 0
    assert sorted(p.name for p in (in_tmp / "checkpoints").iterdir()) == ["debug", "second"]
    assert sorted(p.name for p in (in_tmp / "lightning_logs").iterdir()) == ["debug", "second"]
    assert [p.name for p in (in_tmp / "lightning_logs/debug").iterdir()] == ["version_0"]


def test_resume_applies_safe_options_and_refuses_shape_changes(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "2") == 0
    resume = ["--ckpt_path", "checkpoints/debug/last.ckpt"]
    assert run_cli("fit", "--config", DEBUG, *resume, "--model.hidden_size", "64") == 2
    assert "cannot resume 'checkpoints/debug/last.ckpt' with model.hidden_size 64" in capsys.readouterr().err
    changed = [
        "--model.lr",
        "0.002",
        "--model.entropy_coef",
        "0.5",
        "--model.baseline",
        "rloo",
        "--data.batch_size",
        "64",
    ]
    with pytest.warns(UserWarning) as warned:
        assert run_cli("fit", "--config", DEBUG, *resume, *changed, "--trainer.max_steps", "4") == 0
    message = next(str(w.message) for w in warned if "changed options" in str(w.message))
    applied = "applied: model.lr 0.01 -> 0.002, model.baseline 'group' -> 'rloo', model.entropy_coef 0.01 -> 0.5"
    assert applied in message
    data = next(str(w.message) for w in warned if "changed data options" in str(w.message))
    assert data.endswith("applied: data.batch_size 32 -> 64")
    resumed = torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)
    assert resumed["global_step"] == 4 and resumed["optimizer_states"][0]["param_groups"][0]["lr"] == 0.002
    assert resumed["hyper_parameters"]["entropy_coef"] == 0.5


DAMAGES = {
    "missing_key": (lambda c: c["state_dict"].pop("policy.head.bias"), "does not fit this model: missing"),
    "nan": (lambda c: c["state_dict"]["policy.head.bias"].fill_(float("nan")), "has non-finite values in policy.head"),
    "shape": (lambda c: c["hyper_parameters"].update(hidden_size=64), "policy.gru.weight_ih_l0 has shape (96, 8)"),
    "unknown_hparam": (lambda c: c["hyper_parameters"].update(bogus=1), "hyperparameters this model does not take"),
    "hparams_not_a_dict": (lambda c: c.update(hyper_parameters=3), "has damaged hyper_parameters (not a mapping)"),
    "weights_only": (lambda c: c.pop("optimizer_states"), "holds weights only (no optimizer or loop state)"),
    "generators": (
        lambda c: c["RolloutDataModule"].update(generators=[torch.zeros(3)]),
        "holds damaged rollout generator states",
    ),
}


def test_a_damaged_checkpoint_is_refused_in_one_line(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    for name, (damage, message) in DAMAGES.items():
        saved = torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)
        damage(saved)
        torch.save(saved, in_tmp / f"{name}.ckpt")
        model = ["--model.hidden_size", "64"] if name == "shape" else []  # hyperparameters that fit, weights not
        args = ["--ckpt_path", f"{name}.ckpt", "--run_name", name, *model]
        assert run_cli("fit", "--config", DEBUG, *args) == 2, name
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], (name, errors)
        assert not (in_tmp / f"checkpoints/{name}").exists() and not (in_tmp / f"lightning_logs/{name}").exists()
    assert run_cli("predict", "--config", DEBUG, "--ckpt_path", "nan.ckpt", "--data.predict_prompts", "['']") == 2
    capsys.readouterr()
    assert run_cli("fit", "--config", DEBUG, "--model.init_from", "nan.ckpt", "--run_name", "init_from_nan") == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "has non-finite values in head.bias" in errors[0], errors


def reward_model_cli(*args: str) -> int:
    try:
        reward_model_main(["fit", "--config", REWARD_MODEL, *args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trainer.max_steps", "-3"], "trainer.max_steps must be >= 0, or -1 for no limit; got -3"),
        (["--data.temperature", "0"], "data.temperature must be a finite number > 0, got 0.0"),
        (["--data.nonsense", "3"], "unrecognized arguments: --data.nonsense 3"),  # not a 70-line usage dump
        (["--ckpt_path", "missing.ckpt"], "checkpoint 'missing.ckpt' does not exist or is not a file"),
        (["--ckpt_path", "garbage.ckpt"], "checkpoint 'garbage.ckpt' is not a PyTorch checkpoint"),
        (["--ckpt_path", "unsafe.ckpt"], "refused without running them"),
        (["--data.policy_checkpoint", "garbage.ckpt"], "checkpoint 'garbage.ckpt' is not a PyTorch checkpoint"),
        (["--model.lr", "2"], "model.lr must be a finite number in [0.0, 1.0], got 2.0"),
        (["--data.seed", "-4"], "data.seed must be an integer in [0, 4294967295], got -4"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_reward_model_bad_input_is_one_line(args, message, in_tmp, capsys):
    (in_tmp / "garbage.ckpt").write_bytes(b"not a checkpoint")

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"state_dict": {}, "payload": Payload()}, in_tmp / "unsafe.ckpt")
    assert reward_model_cli(*args) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "this must never run" not in captured.out
    assert not (in_tmp / "lightning_logs").exists() and not (in_tmp / "checkpoints").exists()


def test_a_policy_checkpoint_is_not_a_reward_model_checkpoint(in_tmp, capsys):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    assert reward_model_cli("--ckpt_path", "checkpoints/debug/last.ckpt") == 2
    assert "is not a reward model checkpoint (no model kind): is it a policy?" in capsys.readouterr().err


def test_a_torn_imitation_cache_is_refused_and_caches_are_written_whole(in_tmp):
    task = AdditionTask(1, 1)
    cached_imitation(task, 1, in_tmp / "cache", batch_size=4)
    (cache,) = (in_tmp / "cache").iterdir()
    assert not list((in_tmp / "cache").glob("*.part"))
    cache.write_bytes(cache.read_bytes()[:100])  # what a non-atomic write cut short would leave
    with pytest.raises(O1Error, match="imitation cache .* is corrupt .*delete it"):
        cached_imitation(task, 1, in_tmp / "cache", batch_size=4)


def test_samples_are_logged_when_their_interval_and_the_metric_interval_never_meet(in_tmp):
    args = ["--trainer.log_every_n_steps", "5", "--model.log_samples_every_n_steps", "10", "--trainer.max_steps", "15"]
    assert run_cli("fit", "--config", DEBUG, *args) == 0  # as in alphabet.yaml and long_target.yaml
    (events,) = (in_tmp / "lightning_logs/debug/version_0").glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    assert [event.step for event in accumulator.Tensors("train/samples/text_summary")] == [4, 14]


class FakeTrainer:
    def __init__(self, step: int, **metrics: float) -> None:
        self.global_step, self.callback_metrics = step, {k.replace("_", "/", 1): v for k, v in metrics.items()}
        self.sanity_checking, self.callbacks, self.checkpoint_callbacks, self.logger = False, [], [], None
        self.is_global_zero = True


def test_run_summary_says_when_it_was_solved_and_warns_of_a_collapse():
    summary = RunSummary(solved_accuracy=0.999)
    for step, accuracy in [(2, 0.0), (4, 0.5), (6, 1.0), (8, 1.0)]:
        summary.on_validation_end(FakeTrainer(step, val_accuracy=accuracy), None)
    assert summary.summary(FakeTrainer(8)).startswith("run: solved at update 6 (val/accuracy >= 0.999)")
    unsolved = RunSummary()
    unsolved.on_validation_end(FakeTrainer(3, val_accuracy=0.25), None)
    assert "not solved in 9 updates (best val/accuracy 0.250 at update 3)" in unsolved.summary(FakeTrainer(9))
    unsolved.on_train_batch_end(FakeTrainer(4, train_entropy=0.5, train_success=0.0), None)  # still exploring
    with pytest.warns(UserWarning, match="policy collapse at update 5: train/entropy 0.010 nats while train/success"):
        unsolved.on_train_batch_end(FakeTrainer(5, train_entropy=0.01, train_success=0.0), None)


def test_a_full_disk_during_a_save_is_one_line_and_keeps_the_previous_checkpoint(in_tmp, monkeypatch, capsys):
    real_save, saves = torch_io._atomic_save, []

    def disk_full_on_second_save(checkpoint, filepath):
        saves.append(filepath)
        if len(saves) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(checkpoint, filepath)

    monkeypatch.setattr(torch_io, "_atomic_save", disk_full_on_second_save)
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "12") == 2
    error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert error == [
        f"error: could not write checkpoint '{in_tmp}/checkpoints/debug/last.ckpt': No space left on device; "
        "the previous checkpoint there, if any, is whole"
    ]
    assert read_checkpoint(in_tmp / "checkpoints/debug/last.ckpt")["global_step"] == 5
    assert sorted(p.name for p in (in_tmp / "checkpoints/debug").iterdir()) == ["last.ckpt"]  # no .part, no .lock


def test_a_cache_write_that_fails_leaves_the_previous_file_whole(in_tmp, monkeypatch):
    save_atomically({"version": 1}, in_tmp / "cache.pt")

    def disk_full(value, file):
        file.write(b"PK half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(O1Error, match="could not write '.*cache.pt': No space left on device"):
        save_atomically({"version": 2}, in_tmp / "cache.pt")
    monkeypatch.undo()
    assert read_saved(in_tmp / "cache.pt", "cache") == {"version": 1}
    assert [p.name for p in in_tmp.iterdir()] == ["cache.pt"]
