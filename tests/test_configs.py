import pytest
from lightning.pytorch.cli import LightningCLI

from o1_lightning.cli import O1CLI
from o1_lightning.data import RolloutDataModule
from o1_lightning.module import PolicyModule

from .conftest import CONFIGS


@pytest.mark.parametrize(
    "config", sorted(set(CONFIGS.glob("*.yaml")) - set(CONFIGS.glob("reward_model*.yaml"))), ids=lambda path: path.name
)  # reward_model*.yaml are train_reward_model.py's (tests/test_reward_models.py)
def test_every_config_parses_and_instantiates(config, in_tmp):
    cli = O1CLI(PolicyModule, RolloutDataModule, args=["--config", str(config)], run=False)
    assert isinstance(cli, LightningCLI)
    assert cli.model.hparams.vocab == cli.datamodule.vocab


def test_target_is_changed_from_the_command_line(in_tmp):
    args = ["--config", str(CONFIGS / "hello.yaml"), "--data.task.init_args.target", "good day"]
    cli = O1CLI(PolicyModule, RolloutDataModule, args=args, run=False)
    assert cli.datamodule.task.target == "good day" and cli.model.hparams.max_length == 8
