import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.rewards.functions import RewardFunction, parse_reward_names, prefix_potentials, shaping_rewards
from o1_lightning.tasks import CountdownTask, TargetTask


def test_seed_outcome_reward():
    task = TargetTask("hello")
    reward_fn = RewardFunction("outcome")
    assert reward_fn.outcome(task, "", "hello") == (1.0, True)
    value, solved = reward_fn.outcome(task, "", "hxllo")
    assert (round(value, 6), solved) == (-0.1, False)
    assert round(reward_fn.outcome(task, "", "he")[0], 6) == -0.3  # three characters missing
    rewards, _, _ = reward_fn.episode(task, "", "hxllo", 5)
    assert torch.allclose(rewards, torch.tensor([0, 0, 0, 0, -0.1]))


def test_process_reward_per_step():
    rewards, _, _ = RewardFunction("process", process_reward=0.5).episode(TargetTask("abc"), "", "axc", 3)
    assert rewards.tolist() == [0.5, -0.5, 0.5]


def test_progress_reward_pays_for_steps_that_keep_the_target_in_reach():
    task, prompt, completion = CountdownTask(), "3,5,7,11>24", "7*5=35;35-3=32;"  # 35-3=32 leaves {11, 32}
    reward_fn = RewardFunction("progress", process_reward=0.5)
    assert reward_fn.tensor_path is False  # the solver reads the text
    rewards, _, _ = reward_fn.episode(task, prompt, completion, len(completion) + 1)
    assert rewards.nonzero().flatten().tolist() == [6]  # 7*5=35 keeps 24 in reach; 35-3=32 earns nothing
    assert rewards[6] == 0.5
    process, _, _ = RewardFunction("process", process_reward=0.5).episode(task, prompt, completion, 16)
    assert process[[6, 14]].tolist() == [0.5, 0.5]  # the step checker alone calls both steps right


def test_progress_reward_does_not_pay_for_stopping_early():
    task, prompt, reward_fn = CountdownTask(), "3,5,7,11>24", RewardFunction("progress", process_reward=0.5)
    assert task.progress(prompt, "7*5=35;") == [True]  # 35-11=24 is still to come
    stopped, _, _ = reward_fn.episode(task, prompt, "7*5=35;", 8)
    assert stopped[6] == 0.0  # but the episode ended there: its last step is judged by the verifier
    unfinished, _, _ = reward_fn.episode(task, prompt, "7*5=35;35", 9, finished=False)  # still writing
    assert unfinished[6] == 0.5
    solved, _, _ = reward_fn.episode(task, prompt, "7*5=35;35-11=24;", 17)
    assert solved[[6, 15]].tolist() == [0.5, 0.5]


def test_progress_elsewhere_pays_the_step_checker_s_right_steps():
    reward_fn = RewardFunction("progress", process_reward=0.5)
    assert reward_fn.episode(TargetTask("abc"), "", "axc", 3)[0].tolist() == [0.5, 0.0, 0.0]  # unsolved: last unpaid
    assert reward_fn.episode(TargetTask("abc"), "", "abc", 3)[0].tolist() == [0.5, 0.5, 0.5]


def test_shaping_is_potential_difference():
    potentials = prefix_potentials(["a", "b", "x"], [True, True, False], 3, scale=1.0)
    assert potentials.tolist() == [0, 1, 2, 2]
    torch.testing.assert_close(shaping_rewards(potentials, 0.5), torch.tensor([0.5, 0.0, -1.0]))
    rewards, _, _ = RewardFunction("shaping", shaping_scale=1.0, gamma=0.5).episode(TargetTask("abc"), "", "abx", 3)
    torch.testing.assert_close(rewards, torch.tensor([0.5, 0.0, -1.0]))


def test_rewards_combine_and_unknown_names_fail():
    assert parse_reward_names("outcome+process") == ("outcome", "process")
    with pytest.raises(O1Error, match="unknown reward 'bonus'.*allowed: outcome, process, progress, shaping"):
        parse_reward_names("outcome+bonus")


@pytest.mark.parametrize("reward", ["outcome", "outcome+process", "shaping", "outcome+process+shaping"])
def test_vectorised_rewards_equal_per_episode_rewards(reward):
    task = TargetTask("abca", vocab="abc")
    reward_fn = RewardFunction(reward, gamma=0.9)
    char_ids = torch.randint(0, 3, (64, 4), generator=torch.Generator().manual_seed(0))
    char_ids[0] = torch.tensor([0, 1, 2, 0])  # one solved row
    rewards, outcome, solved = reward_fn.fixed_length_batch(task.character_correctness(char_ids))
    for row, ids in enumerate(char_ids.tolist()):
        expected, expected_outcome, expected_solved = reward_fn.episode(task, "", "".join("abc"[i] for i in ids), 4)
        torch.testing.assert_close(rewards[row], expected)
        assert float(outcome[row]) == pytest.approx(expected_outcome) and bool(solved[row]) == expected_solved
    assert bool(solved[0])
