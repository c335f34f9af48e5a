"""The Python API: load_policy from a train.py checkpoint, generate and search with the records predict writes."""

import json
import subprocess
import sys

import pytest
import torch

from o1_lightning import Policy, load_policy
from o1_lightning.errors import O1Error
from o1_lightning.tasks import TargetTask

from .conftest import DEBUG, REPO
from .helpers import run_cli


def test_importing_the_package_and_its_tasks_stays_light():
    code = (
        "import sys, o1_lightning, o1_lightning.tasks; print('lightning' in sys.modules, 'torchmetrics' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    code = "import sys; from o1_lightning import load_policy; print('lightning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]  # the API itself needs no Lightning


def test_load_policy_generates_and_searches_as_predict_does(in_tmp):
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "3") == 0
    policy = load_policy("checkpoints/debug/last.ckpt")
    assert isinstance(policy, Policy) and isinstance(policy.task, TargetTask) and policy.task.target == "hi"
    predict = ["predict", "--config", DEBUG, "--ckpt_path", "checkpoints/debug/last.ckpt"]
    for method, scorer in [("greedy", "none"), ("best_of_n", "outcome"), ("mcts", "logprob")]:
        search = ["--search.method", method, "--search.budget_multiplier", "4", "--search.scorer", scorer]
        assert run_cli(*predict, "--data.predict_prompts", '["", ""]', *search, "--search.output", "p.jsonl") == 0
        written = [json.loads(line) for line in (in_tmp / "p.jsonl").read_text().splitlines()]
        records = policy.search(["", ""], method=method, budget=4 * policy.task.max_length, scorer=scorer)
        assert json.dumps(records) == json.dumps(written), method  # NaN scores compare equal as text
    assert policy.generate([""]) == [policy.search([""], method="greedy")[0]["completion"]]


def test_load_policy_refuses_bad_files_in_one_line(in_tmp):
    with pytest.raises(O1Error, match="'missing.ckpt' does not exist"):
        load_policy("missing.ckpt")
    (in_tmp / "garbage.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(O1Error, match="not a PyTorch checkpoint"):
        load_policy("garbage.ckpt")
    torch.save({"state_dict": {}, "hyper_parameters": {"kind": "process"}}, in_tmp / "reward_model.ckpt")
    with pytest.raises(O1Error, match=r"'reward_model.ckpt' is a reward model \(process\), not a policy"):
        load_policy("reward_model.ckpt")
    torch.save({"state_dict": {}, "hyper_parameters": {}}, in_tmp / "no_hparams.ckpt")
    with pytest.raises(O1Error, match="has no policy hyperparameters"):
        load_policy("no_hparams.ckpt")
    assert run_cli("fit", "--config", DEBUG, "--trainer.max_steps", "1") == 0
    with pytest.raises(O1Error, match="has vocab 'abcdefghijklmnopqrstuvwxyz ', the task's is 'abc'"):
        load_policy("checkpoints/debug/last.ckpt", task=TargetTask("ab", vocab="abc"))
