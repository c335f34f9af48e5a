"""CountdownTask: solvable prompts, the solver, the verifier, the step checker and errors."""

import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks import CountdownTask
from o1_lightning.tasks.countdown import max_completion_length, solve

PROMPT = "3,5,7,11>24"
RIGHT = "7*5=35;35-11=24;"


def test_right_solution() -> None:
    task = CountdownTask()
    assert task.outcome(PROMPT, RIGHT)
    assert task.process(PROMPT, RIGHT) == [True, True]
    assert task.answer(RIGHT) == "24"
    assert task.mistakes(PROMPT, RIGHT) == 0


def test_operand_order_is_free_for_commutative_ops() -> None:
    task = CountdownTask()
    assert task.outcome(PROMPT, "5*7=35;35-11=24;")
    assert task.outcome("3,5,7,11>8", "11-3=8;")


def test_a_wrong_step_leaves_the_pool_unchanged() -> None:
    task = CountdownTask()
    assert task.process("3,5,7,11>8", "11-3=3;5+3=8;") == [False, True]
    assert not task.outcome("3,5,7,11>8", "11-3=3;5+3=8;")  # every step must be correct


@pytest.mark.parametrize(
    ("completion", "checks"),
    [
        ("7*5=36;36-12=24;", [False, False]),  # wrong arithmetic; 36 never joins the pool
        ("7*4=28;28-4=24;", [False, False]),  # 4 is not available
        ("7*5=35;7+3=10;", [True, False]),  # 7 was consumed
        ("3-5=0;", [False]),  # negative subtraction is not allowed
        ("3-5=-2;", [False]),  # and cannot be written
        ("7/3=2;", [False]),  # inexact division
        ("3+3=6;", [False]),  # only one 3
    ],
)
def test_wrong_steps(completion: str, checks: list[bool]) -> None:
    task = CountdownTask()
    assert task.process(PROMPT, completion) == checks
    assert not task.outcome(PROMPT, completion)
    assert task.mistakes(PROMPT, completion) >= 1


def test_exact_division_and_zero() -> None:
    task = CountdownTask()
    assert task.process("6,3,5,5>2", "6/3=2;") == [True]
    assert task.process("6,3,5,5>2", "5-5=0;6/0=0;0/6=0;") == [True, False, True]


def test_wrong_answer_with_right_steps() -> None:
    task = CountdownTask()
    completion = "7*5=35;35-3=32;"
    assert task.process(PROMPT, completion) == [True, True]
    assert not task.outcome(PROMPT, completion)
    assert task.answer(completion) == "32"
    assert task.mistakes(PROMPT, completion) == 1


@pytest.mark.parametrize(
    ("completion", "checks"),
    [
        (RIGHT, [True, True]),
        ("7*5=35;35-3=32;", [True, False]),  # valid, but {11, 32} cannot make 24
        ("11-5=6;7-3=4;6*4=24;", [True, True, True]),  # a three-step solution
        ("11-5=6;6+3=9;", [True, False]),  # {6, 3, 7} still reach 24 (7-3=4, 6*4); {9, 7} do not
        ("3*5=15;", [False]),  # valid, but {7, 11, 15} cannot make 24
        ("7*5=36;7*5=35;35-11=24;", [False, True, True]),  # a wrong step is wrong and leaves the pool as it was
    ],
)
def test_progress_is_a_correct_step_that_keeps_the_target_in_reach(completion: str, checks: list[bool]) -> None:
    assert CountdownTask().progress(PROMPT, completion) == checks


def test_wrong_step_claiming_the_target_fails() -> None:
    task = CountdownTask()
    assert not task.outcome(PROMPT, "3+5=24;")
    assert task.answer("3+5=24;") == "24"


@pytest.mark.parametrize("completion", ["", "7*5=35", "7*5=35;35-11=24", "7x5=35;", "07*5=35;", "7*5=35;;", "=24;"])
def test_malformed_completion(completion: str) -> None:
    task = CountdownTask()
    assert not task.outcome(PROMPT, completion)
    assert len(task.process(PROMPT, completion)) == len(task.steps(completion))
    assert task.mistakes(PROMPT, completion) >= 1


def test_answer_of_malformed_completion_is_none() -> None:
    task = CountdownTask()
    assert task.answer("") is None
    assert task.answer("7*5=35;35-11=24") is None
    assert task.answer("7*5=35;x") is None


@pytest.mark.parametrize("completion", ["", RIGHT, "7*5=35;35-11", ";;x", "7*5=35;;"])
def test_steps_concatenate_back(completion: str) -> None:
    assert "".join(CountdownTask().steps(completion)) == completion


def test_solver() -> None:
    assert solve([3, 5, 7, 11], 24) == RIGHT
    assert solve([2, 3], 6) == "3*2=6;"
    assert solve([1, 1, 1], 100) is None
    assert solve([13, 12, 11, 10, 9], 99991) is None


def test_solver_finds_shortest() -> None:
    """Steps that are not needed are not taken: 13 from 10,3 needs one step, even with more numbers."""
    assert solve([10, 3, 7, 2, 9], 13) == "10+3=13;"


@pytest.mark.parametrize("num_numbers", [3, 4, 5])
def test_sampled_instances_are_solvable_and_demonstrations_verify(num_numbers: int) -> None:
    task = CountdownTask(num_numbers)
    for prompt in task.sample_prompts(100, torch.Generator().manual_seed(0)):
        task.check_prompt(prompt)
        numbers, target = task.parse(prompt)
        assert len(numbers) == num_numbers and all(1 <= x <= 13 for x in numbers) and 1 <= target <= 100
        demo = task.demonstrate(prompt)
        assert demo == solve(numbers, target)
        assert task.outcome(prompt, demo)
        assert all(task.process(prompt, demo))
        assert task.mistakes(prompt, demo) == 0
        assert demo.count(";") >= 2  # no target is a given number or one step away
        assert len(demo) <= task.max_length
        assert set(prompt + demo) <= set(task.vocab)


def test_other_ranges() -> None:
    task = CountdownTask(4, max_number=50, max_target=500)
    for prompt in task.sample_prompts(30, torch.Generator().manual_seed(3)):
        assert task.outcome(prompt, task.demonstrate(prompt))


def test_sampling_is_deterministic() -> None:
    task = CountdownTask(5)
    first = task.sample_prompts(20, torch.Generator().manual_seed(7))
    assert first == task.sample_prompts(20, torch.Generator().manual_seed(7))
    assert first != task.sample_prompts(20, torch.Generator().manual_seed(8))


def test_max_length_bounds_the_longest_chain() -> None:
    """The bound is reached by multiplying the largest numbers in a chain."""
    assert max_completion_length(3, 13) == len("13*13=169;169*13=2197;")
    assert CountdownTask(3).max_length == 22
    assert CountdownTask(5).max_length == 52
    task = CountdownTask(4)
    chain = "13*13=169;169*13=2197;2197*13=28561;"
    assert task.process("13,13,13,13>24", chain) == [True, True, True]
    assert len(chain) <= task.max_length


@pytest.mark.parametrize(
    "prompt", ["", "3,5,7,11", "3,5,7,11>", "3,5,7,11=24", "3;5;7>24", "03,5,7>24", "3,5,7,11,2>24", "3,14,5>24"]
)
def test_bad_prompt(prompt: str) -> None:
    with pytest.raises(O1Error, match="n1,n2,...>target") as error:
        CountdownTask().check_prompt(prompt)
    assert repr(prompt) in str(error.value)


def test_unsolvable_prompt_cannot_be_demonstrated() -> None:
    with pytest.raises(O1Error, match="'1,1,1>100' has no solution"):
        CountdownTask().demonstrate("1,1,1>100")


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"num_numbers": 2}, "num_numbers=2"),
        ({"num_numbers": 6}, "num_numbers=6"),
        ({"max_number": 1}, "max_number=1"),
        ({"max_number": 101, "max_target": 1000}, "max_number=101"),
        ({"max_target": 10}, "max_target=10"),
    ],
)
def test_bad_constructor_args(kwargs: dict, bad: str) -> None:
    with pytest.raises(O1Error, match=bad):
        CountdownTask(**kwargs)
