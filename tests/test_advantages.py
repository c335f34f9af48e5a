import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.learning import advantages as adv


def returns_loop(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """The seed's backward loop, kept as the slow reference."""
    out = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        running = rewards[:, t] + gamma * running
        out[:, t] = running
    return out


def test_discounted_returns_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, -0.5]])
    expected = torch.tensor([[0.81, 0.9, 1.0], [1.0 - 0.405, -0.45, -0.5]])
    torch.testing.assert_close(adv.discounted_returns(rewards, 0.9), expected)


def test_discounted_returns_match_loop():
    rewards = torch.randn(7, 13, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(adv.discounted_returns(rewards, 0.97), returns_loop(rewards, 0.97))


def test_leave_one_out_by_hand():
    returns = torch.tensor([[1.0], [2.0], [6.0], [0.0], [0.0], [3.0]])  # two groups of three
    expected = torch.tensor([[1 - 4.0], [2 - 3.5], [6 - 1.5], [0 - 1.5], [0 - 1.5], [3 - 0.0]])
    torch.testing.assert_close(adv.leave_one_out_baseline(returns, 3), expected)


def test_group_normalized_by_hand_and_sums_to_zero():
    returns = torch.tensor([[1.0], [3.0], [5.0], [5.0]])  # groups (1, 3) and (5, 5)
    out = adv.group_normalized(returns, 2)
    torch.testing.assert_close(out[:2], torch.tensor([[-1.0], [1.0]]), atol=1e-5, rtol=0)
    assert torch.equal(out[2:], torch.zeros(2, 1))  # equal returns give zeros, not NaN
    assert abs(float(out.sum())) < 1e-5


@pytest.mark.parametrize("estimator", [adv.leave_one_out_baseline, adv.group_normalized])
def test_group_estimators_need_two_samples(estimator):
    with pytest.raises(O1Error, match="group_size"):
        estimator(torch.zeros(4, 3), 1)


def test_episode_normalization_ignores_padding():
    values = torch.tensor([[1.0, 3.0, 99.0]])
    mask = torch.tensor([[True, True, False]])
    out = adv.normalize(values, mask, "episode")
    torch.testing.assert_close(out, torch.tensor([[-1.0, 1.0, 0.0]]), atol=1e-5, rtol=0)


def test_moving_average_baseline_per_position():
    returns = torch.tensor([[2.0, 1.0, 0.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    mean, present = adv.per_position_mean(returns, mask, max_length=3)
    torch.testing.assert_close(mean, torch.tensor([3.0, 1.0, 0.0]))
    assert present.tolist() == [True, True, False]
    average = adv.moving_average_update(torch.tensor([1.0, 1.0, 7.0]), mean, present, momentum=0.5)
    torch.testing.assert_close(average, torch.tensor([2.0, 1.0, 7.0]))
    out = adv.moving_average_advantages(returns, mask, average)
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]))


def test_completion_positions_start_after_prompt():
    mask = torch.tensor([[False, True, True], [False, False, True]])
    assert adv.completion_positions(mask).tolist() == [[-1, 0, 1], [-1, -1, 0]]


def gae_loop(rewards, values, mask, gamma, lam):
    """CleanRL's backward loop over time, one row at a time: the slow reference for `gae`."""
    advantages = torch.zeros_like(rewards)
    for row in range(rewards.shape[0]):
        last = 0.0
        for t in reversed(range(rewards.shape[1])):
            if not mask[row, t]:
                continue
            nonterminal = t + 1 < rewards.shape[1] and bool(mask[row, t + 1])
            next_value = values[row, t + 1] if nonterminal else 0.0
            delta = rewards[row, t] + gamma * next_value - values[row, t]
            last = delta + gamma * lam * nonterminal * last
            advantages[row, t] = last
    return advantages, (advantages + values) * mask


GAE_MASK = torch.tensor([[False, True, True, True, False]])  # a prompt transition, 3 actions, padding
GAE_REWARDS = torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.0]])
GAE_VALUES = torch.tensor([[9.0, 0.5, 0.25, 1.0, 7.0]])  # off-mask values must not leak in


def test_gae_by_hand():
    advantages, returns = adv.gae(GAE_REWARDS, GAE_VALUES, GAE_MASK, gamma=0.5, lam=0.5)
    # deltas: 0.5*0.25 - 0.5 = -0.375, 0.5*1.0 - 0.25 = 0.25, 1 - 1.0 = 0 (no value after the last action)
    torch.testing.assert_close(advantages, torch.tensor([[0.0, -0.375 + 0.25 * 0.25, 0.25, 0.0, 0.0]]))
    torch.testing.assert_close(returns, torch.tensor([[0.0, 0.1875, 0.5, 1.0, 0.0]]))


def test_gae_extremes_are_td_and_monte_carlo():
    td, _ = adv.gae(GAE_REWARDS, GAE_VALUES, GAE_MASK, gamma=0.5, lam=0.0)
    torch.testing.assert_close(td, torch.tensor([[0.0, -0.375, 0.25, 0.0, 0.0]]))
    _, monte_carlo = adv.gae(GAE_REWARDS, GAE_VALUES, GAE_MASK, gamma=0.5, lam=1.0)
    torch.testing.assert_close(monte_carlo, adv.discounted_returns(GAE_REWARDS, 0.5) * GAE_MASK)


def test_gae_matches_loop():
    generator = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(6, 11, generator=generator), torch.randn(6, 11, generator=generator)
    starts, lengths = [0, 2, 3, 1, 4, 0], [11, 5, 1, 9, 7, 3]  # prompts of various lengths, then the actions
    mask = torch.zeros(6, 11, dtype=torch.bool)
    for row, (start, length) in enumerate(zip(starts, lengths)):
        mask[row, start : start + length] = True
    rewards = rewards * mask
    for advantage, expected in zip(adv.gae(rewards, values, mask, 0.9, 0.8), gae_loop(rewards, values, mask, 0.9, 0.8)):
        torch.testing.assert_close(advantage, expected)
