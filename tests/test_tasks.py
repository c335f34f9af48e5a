import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks import TargetTask


def test_target_task_verifier_and_checker():
    task = TargetTask("hello")
    assert task.outcome("", "hello") and not task.outcome("", "hell")
    assert task.process("", "hxllo") == [True, False, True, True, True]
    assert task.mistakes("", "hxl") == 3  # one wrong, two missing
    assert task.demonstrate("") == "hello" and task.max_length == 5 and not task.can_stop
    assert task.sample_prompts(3, torch.Generator()) == ["", "", ""]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "Hello"}, "outside the vocab: 'H'"),
        ({"target": ""}, "target is empty"),
        ({"target": "ab", "vocab": ""}, "vocab is empty"),
        ({"target": "ab", "vocab": "aab"}, "repeats a character"),
    ],
)
def test_target_task_rejects_bad_input(kwargs, message):
    with pytest.raises(O1Error, match=message):
        TargetTask(**kwargs)


def test_tokenizer_round_trip_and_unknown_character():
    tokenizer = CharTokenizer("ab")
    assert tokenizer.decode(tokenizer.encode("abba")) == "abba"
    with pytest.raises(O1Error, match="'z' outside the vocab"):
        tokenizer.encode("az")
