"""Checkpoints survive faults: a fit killed at any moment resumes from last.ckpt, which is never half-written."""

import io
import signal
import subprocess
import sys
import time

import pytest
import torch
from lightning.fabric.plugins.io import torch_io

from o1_lightning.policy.checkpoint import read_checkpoint

from .conftest import CONFIGS, REPO
from .helpers import run_cli

DEBUG = str(CONFIGS / "debug.yaml")  # last.ckpt every 5 steps


def test_a_killed_fit_resumes_from_its_last_checkpoint(in_tmp):
    command = [sys.executable, str(REPO / "train.py"), "fit", "--config", DEBUG, "--trainer.max_steps", "100000"]
    killed = subprocess.Popen(command, cwd=in_tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = in_tmp / "checkpoints/debug/last.ckpt"
    deadline = time.monotonic() + 90
    try:
        while not last.exists():
            assert killed.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
        time.sleep(0.5)  # then kill it at whatever moment it has reached, perhaps in the middle of a later save
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    step = read_checkpoint(last)["global_step"]  # loads with weights_only=True
    assert step > 0 and step % 5 == 0
    assert run_cli("fit", "--config", DEBUG, "--ckpt_path", str(last), "--trainer.max_steps", str(step + 3)) == 0
    assert torch.load(last, weights_only=True)["global_step"] == step + 3


class Killed(BaseException):
    """Stands for the process dying in the middle of writing a checkpoint."""


def test_a_save_cut_short_leaves_the_previous_checkpoint_whole(in_tmp, monkeypatch):
    saves = []

    def write_half_then_die(checkpoint, filepath):  # a non-atomic write (a copy from another filesystem) cut short
        saves.append(filepath)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        with open(filepath, "wb") as file:
            file.write(data if len(saves) == 1 else data[: len(data) // 2])
        if len(saves) == 2:
            raise Killed

    monkeypatch.setattr(torch_io, "_atomic_save", write_half_then_die)
    with pytest.raises(Killed):
        run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "12")
    assert read_checkpoint(in_tmp / "checkpoints/debug/last.ckpt")["global_step"] == 5
