import importlib.util
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch.cli import LightningCLI

from o1_lightning.app.cli import O1CLI
from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule

from .conftest import CONFIGS
from .helpers import run_cli

NEEDS_REASONING_GYM = pytest.mark.skipif(
    importlib.util.find_spec("reasoning_gym") is None, reason="rg_*.yaml need pip install -e '.[reasoning-gym]'"
)
POLICY_CONFIGS = [
    pytest.param(path, marks=NEEDS_REASONING_GYM) if path.name.startswith("rg_") else path
    for path in sorted(set(CONFIGS.glob("*.yaml")) - set(CONFIGS.glob("reward_model*.yaml")))
]
# reward_model*.yaml are train_reward_model.py's (tests/test_reward_models.py)


@pytest.mark.parametrize("config", POLICY_CONFIGS, ids=lambda path: path.name)
def test_every_config_parses_and_instantiates(config, in_tmp):
    cli = O1CLI(PolicyModule, RolloutDataModule, args=["--config", str(config)], run=False)
    assert isinstance(cli, LightningCLI)
    assert cli.model.hparams.vocab == cli.datamodule.vocab


def test_target_is_changed_from_the_command_line(in_tmp):
    args = ["--config", str(CONFIGS / "hello.yaml"), "--data.task.init_args.target", "good day"]
    cli = O1CLI(PolicyModule, RolloutDataModule, args=args, run=False)
    assert cli.datamodule.task.target == "good day" and cli.model.hparams.max_length == 8


@pytest.mark.parametrize("config", POLICY_CONFIGS, ids=lambda path: path.name)
def test_every_config_writes_a_checkpoint_of_plain_types(config, in_tmp):
    init_from = (yaml.safe_load(config.read_text()).get("model") or {}).get("init_from")
    if init_from:  # RL starts from the checkpoint of another config (checkpoints/<config>/last.ckpt): make it first
        sft = config.with_name(Path(init_from).parent.name + ".yaml")
        assert run_cli("fit", "--config", str(sft), "--trainer.max_steps", "1") == 0
    assert run_cli("fit", "--config", str(config), "--trainer.max_steps", "1") == 0
    last = in_tmp / "checkpoints" / config.stem / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)  # raises on anything beyond tensors and plain types
    assert checkpoint["RolloutDataModule"]["task"]["vocab"] == checkpoint["hyper_parameters"]["vocab"]
