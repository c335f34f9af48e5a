"""DDP on the CPU: ranks sample different rollouts, metrics are averaged over ranks, one set of files is written,
and a checkpoint holds every rank's generator so that each rank resumes its own stream."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from o1_lightning.app import distributed
from o1_lightning.app.cli import O1CLI
from o1_lightning.app.command_line import run_with_one_line_errors
from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.tasks import AdditionTask

from .conftest import CONFIGS, REPO
from .ddp_probe import fingerprint
from .helpers import run_cli, scalars


def ddp_fit(folder, *args: str) -> list[list[dict]]:
    """Run `train.py fit` of the debug config on 2 CPU ranks; return each rank's probe records of this run."""
    command = [
        sys.executable, str(REPO / "train.py"), "fit", "--config", str(CONFIGS / "debug.yaml"),
        "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
        "--trainer.val_check_interval", "3", "--trainer.callbacks+=tests.ddp_probe.RolloutProbe", *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MASTER_PORT", None)  # Lightning picks a free port
    for probe in folder.glob("probe_rank*.jsonl"):
        probe.unlink()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return [[json.loads(line) for line in open(folder / f"probe_rank{rank}.jsonl")] for rank in (0, 1)]


def test_two_rank_ddp_samples_per_rank_writes_once_and_resumes_each_rank(in_tmp):
    starts, *steps = zip(*ddp_fit(in_tmp, "--trainer.max_steps", "6"))
    assert [a["step"] for a, b in steps] == [b["step"] for a, b in steps] == list(range(6))
    assert starts[0]["generator"] != starts[1]["generator"]  # each rank samples its own rollouts
    assert all(a["completions"] != b["completions"] for a, b in steps)
    logs = in_tmp / "lightning_logs"
    reward, loss = scalars(logs, "train/reward"), scalars(logs, "train/loss")
    for a, b in steps:  # what is logged is the mean over both ranks (equal batch sizes)
        assert reward[a["step"]] == pytest.approx((a["reward"] + b["reward"]) / 2, abs=1e-5)
        assert loss[a["step"]] == pytest.approx((a["loss"] + b["loss"]) / 2, abs=1e-5)
    assert sorted(scalars(logs, "val/accuracy")) == [2, 5]
    assert [p.name for p in (logs / "debug").iterdir()] == ["version_0"]
    assert [p.name for p in (in_tmp / "checkpoints/debug").iterdir()] == ["last.ckpt"]
    checkpoint = torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)
    generators = checkpoint["RolloutDataModule"]["generators"]
    assert checkpoint["global_step"] == 6 and len(generators) == 2 and not torch.equal(*generators)

    resume = ["--ckpt_path", "checkpoints/debug/last.ckpt", "--trainer.max_steps", "8"]
    starts = [records[0] for records in ddp_fit(in_tmp, *resume)]
    assert [start["start"] for start in starts] == [6, 6]
    assert [start["generator"] for start in starts] == [fingerprint(state) for state in generators]
    assert torch.load(in_tmp / "checkpoints/debug/last.ckpt", weights_only=True)["global_step"] == 8


ADDITION = ["--data.task", "o1_lightning.tasks.AdditionTask", "--sweep.methods", "[greedy, best_of_n]"]
ADDITION += ["--sweep.budget_multipliers", "[1, 4]"]
PROMPTS = ["1+2=", "3+4=", "5+6=", "7+8=", "9+1=", "2+2=", "12+5="]


def run_train(folder, *args: str, ranks: int = 1) -> None:
    """`train.py ARGS` on the debug config with the addition task, in-process on one rank, else on `ranks` CPU ranks."""
    if ranks == 1:
        assert run_cli(*args, "--config", str(CONFIGS / "debug.yaml"), *ADDITION) == 0
        return
    ddp = ["--trainer.strategy", "ddp", "--trainer.devices", str(ranks), "--trainer.accelerator", "cpu"]
    command = [sys.executable, str(REPO / "train.py"), *args, "--config", str(CONFIGS / "debug.yaml"), *ADDITION, *ddp]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MASTER_PORT", None)
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


def test_ddp_predict_and_test_gather_every_rank(in_tmp):
    """7 prompts on 2 ranks: every prompt is solved once, in order, and the sweep covers all test prompts."""
    predict = ["predict", "--data.predict_prompts", json.dumps(PROMPTS), "--search.output"]
    for ranks in (1, 2):
        run_train(in_tmp, *predict, f"preds{ranks}.jsonl", ranks=ranks)
        run_train(in_tmp, "test", "--data.test_prompts", "7", "--run_name", f"sweep{ranks}", ranks=ranks)
    one, two = ([json.loads(line) for line in open(in_tmp / f"preds{r}.jsonl")] for r in (1, 2))
    assert [item["prompt"] for item in two] == PROMPTS
    assert [item["completion"] for item in two] == [item["completion"] for item in one]
    assert [item["score"] for item in two] == pytest.approx([item["score"] for item in one], abs=1e-5)
    rows = {}
    for ranks in (1, 2):
        with open(in_tmp / f"lightning_logs/sweep{ranks}/version_0/sweep.csv") as file:
            rows[ranks] = {(row["method"], row["budget"]): row for row in csv.DictReader(file)}
    for key in [("greedy", budget) for budget in ("26", "104")]:  # greedy draws nothing at random
        assert float(rows[2][key]["mean_token_steps"]) == pytest.approx(float(rows[1][key]["mean_token_steps"]))
        assert float(rows[2][key]["accuracy"]) == pytest.approx(float(rows[1][key]["accuracy"]))
    assert rows[2].keys() == rows[1].keys()


def test_a_frozen_rank_ends_the_run_after_the_collective_timeout(in_tmp):
    """Rank 1 freezes at step 2: rank 0 fails after --collective_timeout instead of waiting 30 minutes, and no rank
    is left running."""
    command = [
        sys.executable, str(REPO / "train.py"), "fit", "--config", str(CONFIGS / "debug.yaml"), "--collective_timeout",
        "15", "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
        "--trainer.callbacks+=tests.ddp_freeze.FreezeRankOne",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MASTER_PORT", None)
    run = subprocess.Popen(command, cwd=in_tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = run.communicate(timeout=240)
    finally:
        run.kill()
    assert run.returncode != 0
    assert running_with("ddp_freeze.FreezeRankOne") == [], stderr[-2000:]


def running_with(text: str) -> list[int]:
    """Process ids whose command line contains `text` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # the process ended while we looked
    return found


def test_ddp_collective_timeout_is_short_by_default_and_configurable():
    def strategy(*args):
        base = ["--config", str(CONFIGS / "debug.yaml"), "--trainer.strategy", "ddp", "--trainer.accelerator", "cpu"]
        cli = O1CLI(PolicyModule, RolloutDataModule, args=[*base, *args], run=False)
        return cli.trainer.strategy

    assert strategy()._timeout.total_seconds() == 120
    assert strategy("--collective_timeout", "20")._timeout.total_seconds() == 20


def make_datamodule(seed: int = 0) -> RolloutDataModule:
    return RolloutDataModule(AdditionTask(), batch_size=8, group_size=1, seed=seed, val_prompts=8)


def test_no_rank_replays_the_validation_prompts():
    datamodule = make_datamodule()
    validation = datamodule.val_prompts()
    for rank in range(4):
        generator = torch.Generator().manual_seed(distributed.rank_seed(datamodule.seed, rank))
        assert datamodule.task.sample_prompts(8, generator) != validation
    assert distributed.rank_seed(7, 0) == 7  # a one-process run keeps its seed


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_each_rank_resumes_its_own_stream_on_any_number_of_ranks(world_size, monkeypatch):
    saved = [torch.Generator().manual_seed(100 + r).get_state() for r in range(2)]
    for rank in range(world_size):
        monkeypatch.setattr(distributed, "rank_and_world_size", lambda rank=rank: (rank, world_size))
        datamodule = make_datamodule()
        if world_size == 2:
            datamodule.load_state_dict({"generators": saved})
        else:
            with pytest.warns(UserWarning, match=f"generators of 2 rank\\(s\\) and this run has {world_size}"):
                datamodule.load_state_dict({"generators": saved})
        fresh = torch.Generator().manual_seed(distributed.rank_seed(0, rank)).get_state()
        assert torch.equal(datamodule.generator.get_state(), saved[rank] if rank < 2 else fresh)


def test_checkpoint_of_the_single_generator_format_still_loads():
    state = torch.Generator().manual_seed(5).get_state()
    datamodule = make_datamodule()
    datamodule.load_state_dict({"generator": state})
    assert torch.equal(datamodule.generator.get_state(), state)


def test_a_finished_command_destroys_its_process_group(tmp_path):
    """The command line destroys the gloo group before the interpreter exits; a group left to finalization can
    abort a finished run ("terminate called without an active exception")."""

    def make_cli():
        store = torch.distributed.FileStore(str(tmp_path / "store"), 1)
        torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
        assert distributed.gather_objects("rank zero") == ["rank zero"]

    run_with_one_line_errors(make_cli)
    assert not torch.distributed.is_initialized()
