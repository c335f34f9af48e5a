"""Mixed precision: fit, test and predict run under Lightning's autocast, while sampling and search stay float32."""

import json

import pytest

from .conftest import CONFIGS
from .helpers import run_cli, scalars

DEBUG = str(CONFIGS / "debug.yaml")


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_mixed_precision_fit_test_and_predict_run(precision, in_tmp):
    common = ["--config", DEBUG, "--trainer.precision", precision]
    assert run_cli("fit", *common, "--trainer.max_steps", "4") == 0
    assert len(scalars(in_tmp / "lightning_logs", "train/reward")) == 4
    checkpoint = ["--ckpt_path", "checkpoints/debug/last.ckpt"]
    assert run_cli("test", *common, *checkpoint, "--sweep.methods", "[greedy, beam]", "--sweep.repeats", "2") == 0
    predict = ["--data.predict_prompts", '[""]', "--search.method", "beam", "--search.output", "preds.jsonl"]
    assert run_cli("predict", *common, *checkpoint, *predict) == 0
    [line] = (in_tmp / "preds.jsonl").read_text().splitlines()
    assert len(json.loads(line)["completion"]) == 2  # the debug target "hi" is fixed-length
