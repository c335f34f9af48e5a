"""AdditionTask: prompts, the column scratchpad, the verifier, the step checker and errors."""

import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks import AdditionTask

PROMPT = "47+85="
RIGHT = "750=12;481=13;=132"


def test_demonstration_of_hand_made_prompt() -> None:
    assert AdditionTask().demonstrate(PROMPT) == RIGHT
    assert AdditionTask().demonstrate("0+0=") == "000=00;=0"
    assert AdditionTask().demonstrate("999+1=") == "910=10;901=10;901=10;=1000"


def test_right_solution() -> None:
    task = AdditionTask()
    assert task.outcome(PROMPT, RIGHT)
    assert task.process(PROMPT, RIGHT) == [True, True, True]
    assert task.answer(RIGHT) == "132"
    assert task.mistakes(PROMPT, RIGHT) == 0


def test_wrong_step_right_answer() -> None:
    """The outcome verifier reads only the answer; the step checker flags the bad carry."""
    task = AdditionTask()
    completion = "750=02;481=13;=132"
    assert task.outcome(PROMPT, completion)
    assert task.process(PROMPT, completion) == [False, True, True]
    assert task.mistakes(PROMPT, completion) == 1
    assert task.process(PROMPT, "7x0=12;481=13;=132") == [False, True, True]


def test_carry_in_comes_from_the_true_previous_column() -> None:
    task = AdditionTask()
    assert task.process(PROMPT, "750=12;480=12;=122") == [True, False, False]


def test_wrong_answer() -> None:
    task = AdditionTask()
    completion = "750=12;481=13;=131"
    assert not task.outcome(PROMPT, completion)
    assert task.process(PROMPT, completion) == [True, True, False]
    assert task.answer(completion) == "131"


@pytest.mark.parametrize(
    "completion",
    ["", "75", "750=12;", "750=12;481=13;=", "750=12;481=13;=0132", "750=12;481=13;=132;"],
)
def test_malformed_completion(completion: str) -> None:
    task = AdditionTask()
    assert not task.outcome(PROMPT, completion)
    assert len(task.process(PROMPT, completion)) == len(task.steps(completion))
    assert task.mistakes(PROMPT, completion) >= 1


def test_malformed_answer_is_none() -> None:
    task = AdditionTask()
    assert task.answer("") is None
    assert task.answer("750=12;") is None
    assert task.answer("750=12;=0132") is None


def test_extra_columns_are_wrong() -> None:
    task = AdditionTask()
    assert task.process(PROMPT, "750=12;481=13;001=01;=132") == [True, True, False, True]


def test_missing_steps_count_as_mistakes() -> None:
    task = AdditionTask()
    assert task.mistakes(PROMPT, "") == 3
    assert task.mistakes(PROMPT, "750=12;") == 2


@pytest.mark.parametrize("completion", ["", "75", RIGHT, "750=12;481=13;=132;x", "750=12;;=1"])
def test_steps_concatenate_back(completion: str) -> None:
    assert "".join(AdditionTask().steps(completion)) == completion


@pytest.mark.parametrize(("min_digits", "max_digits"), [(1, 1), (1, 3), (2, 5), (12, 12)])
def test_demonstrations_verify(min_digits: int, max_digits: int) -> None:
    task = AdditionTask(min_digits, max_digits)
    for prompt in task.sample_prompts(100, torch.Generator().manual_seed(0)):
        task.check_prompt(prompt)
        demo = task.demonstrate(prompt)
        assert task.outcome(prompt, demo)
        assert all(task.process(prompt, demo))
        assert task.mistakes(prompt, demo) == 0
        assert len(demo) <= task.max_length
        assert set(prompt + demo) <= set(task.vocab)


def test_max_length_is_reached() -> None:
    task = AdditionTask(3, 3)
    assert task.max_length == 26
    assert len(task.demonstrate("999+999=")) == task.max_length


def test_operand_digit_counts() -> None:
    """Digit counts cover [min_digits, max_digits] and there are no leading zeros."""
    task = AdditionTask(2, 4)
    prompts = task.sample_prompts(300, torch.Generator().manual_seed(1))
    operands = [number for prompt in prompts for number in prompt[:-1].split("+")]
    assert {len(number) for number in operands} == {2, 3, 4}
    assert all(not number.startswith("0") for number in operands)


def test_zero_can_be_drawn() -> None:
    prompts = AdditionTask(1, 1).sample_prompts(200, torch.Generator().manual_seed(2))
    assert any(prompt.startswith("0+") for prompt in prompts)


def test_sampling_is_deterministic() -> None:
    task = AdditionTask(1, 6)
    first = task.sample_prompts(20, torch.Generator().manual_seed(7))
    assert first == task.sample_prompts(20, torch.Generator().manual_seed(7))
    assert first != task.sample_prompts(20, torch.Generator().manual_seed(8))


@pytest.mark.parametrize("prompt", ["", "47+85", "47-85=", "047+85=", "1234+1=", "a+b=", "4 7+85=", "47+85=1"])
def test_bad_prompt(prompt: str) -> None:
    with pytest.raises(O1Error, match="a\\+b=") as error:
        AdditionTask().check_prompt(prompt)
    assert repr(prompt) in str(error.value)
    with pytest.raises(O1Error):
        AdditionTask().demonstrate(prompt)


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [({"min_digits": 0}, "min_digits=0"), ({"max_digits": 13}, "max_digits=13"), ({"min_digits": 4}, "min_digits=4")],
)
def test_bad_constructor_args(kwargs: dict, bad: str) -> None:
    with pytest.raises(O1Error, match=bad):
        AdditionTask(**kwargs)
