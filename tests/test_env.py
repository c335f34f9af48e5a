import pytest
from gymnasium.utils.env_checker import check_env

from o1_lightning.app.env import TextGenerationEnv
from o1_lightning.rewards import RewardFunction, make_reward_function
from o1_lightning.tasks import TargetTask


def test_passes_gymnasium_env_checker():
    check_env(TextGenerationEnv(TargetTask("hello")), skip_render_check=True)


def type_text(env, text):
    env.reset(seed=0)
    total = 0.0
    for char in text:
        _, reward, terminated, truncated, info = env.step(env.task.vocab.index(char))
        total += reward
    return total, terminated, truncated, info


def test_seed_episode_rewards():
    env = TextGenerationEnv(TargetTask("hello"))
    total, terminated, truncated, info = type_text(env, "hello")
    assert (total, terminated, truncated, info) == (1.0, True, False, {"success": True})
    total, terminated, _, info = type_text(env, "jello")
    assert round(total, 6) == -0.1 and terminated and info == {"success": False}


@pytest.mark.parametrize("reward", ["outcome", "outcome+process", "process+shaping"])
def test_env_total_equals_batched_reward(reward):
    reward_fn = RewardFunction(reward)
    env = TextGenerationEnv(TargetTask("hello"), reward_fn)
    total, *_ = type_text(env, "helpo")
    batched, _, _ = reward_fn.episode(env.task, "", "helpo", 5)
    assert total == pytest.approx(float(batched.sum()))


def test_invalid_action_is_refused():
    env = TextGenerationEnv(TargetTask("hi"))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside Discrete"):
        env.step(99)


def test_env_adds_the_other_terms_of_the_reward_at_the_end(tmp_path, monkeypatch):
    (tmp_path / "env_rewards.py").write_text(
        "def vowels(prompts, completions):\n    return [float(sum(ch in 'aeiou' for ch in c)) for c in completions]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    task = TargetTask("hello")
    env = TextGenerationEnv(task, make_reward_function("outcome+0.5*env_rewards.vowels", task))
    total, terminated, *_ = type_text(env, "helpo")
    assert terminated and total == pytest.approx(-0.1 + 0.5 * 2)  # one wrong character, two vowels
