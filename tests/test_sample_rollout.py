"""Rollouts from the live policy: tensors end to end, tensor verifiers equal the string ones, resumable streams."""

import pytest
import torch

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.device_generator import DeviceGenerator
from o1_lightning.app.module import PolicyModule
from o1_lightning.learning.objectives import teacher_forced
from o1_lightning.learning.sample_rollout import make_rollout
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import EOS, PAD, SPECIALS, CharTokenizer
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks import AdditionTask, TargetTask, Task

from .conftest import CONFIGS
from .helpers import run_cli

REWARDS = ["outcome", "outcome+process", "shaping", "outcome+process+shaping"]


def policy_for(task: Task) -> tuple[GRUPolicy, CharTokenizer]:
    torch.manual_seed(0)
    tokenizer = CharTokenizer(task.vocab)
    return GRUPolicy(tokenizer.size, 8, 16, can_stop=task.can_stop), tokenizer


def test_uniforms_of_zero_build_a_consistent_rollout(monkeypatch):
    """The old sampler turned u = 0 into PAD mid-completion and make_rollout died with a shape mismatch."""
    real_rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *shape, **kwargs: torch.zeros_like(real_rand(*shape, **kwargs)))
    task = AdditionTask(1, 2)
    policy, tokenizer = policy_for(task)
    prompts = task.sample_prompts(4, torch.Generator().manual_seed(0))
    rollout = make_rollout(policy, task, tokenizer, RewardFunction("outcome+process"), prompts, 3, torch.Generator())
    assert torch.equal(rollout.action_mask.sum(-1), rollout.lengths)
    assert not (rollout.tokens[:, 1:][rollout.action_mask] == PAD).any()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_a_tempered_rollout_is_scored_by_the_loss_at_its_temperature(temperature):
    """PPO's ratio is 1 before the first update only if the loss takes log-probs at the sampling temperature."""
    task = AdditionTask(1, 2)
    policy, tokenizer = policy_for(task)
    prompts = task.sample_prompts(6, torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(1)
    rollout = make_rollout(policy, task, tokenizer, RewardFunction(), prompts, 4, generator, temperature=temperature)
    assert rollout.temperature == temperature
    mask = rollout.action_mask
    tempered, *_ = teacher_forced(policy, rollout.tokens, mask, temperature=rollout.temperature)
    torch.testing.assert_close(tempered[mask], rollout.old_log_probs[mask], atol=1e-5, rtol=0)
    logits, _ = policy(rollout.tokens[:, :-1])  # by hand: log_softmax(logits / T) of the taken tokens
    by_hand = torch.log_softmax(logits / temperature, -1).gather(-1, rollout.tokens[:, 1:, None]).squeeze(-1)
    torch.testing.assert_close(tempered[mask], by_hand[mask], atol=1e-5, rtol=0)
    if temperature != 1.0:
        untempered, *_ = teacher_forced(policy, rollout.tokens, mask)
        assert not torch.allclose(untempered[mask], rollout.old_log_probs[mask], atol=1e-3)


def test_nan_weights_end_the_fit_with_one_error_line(in_tmp, monkeypatch, capsys):
    def poisoned_start(self):
        with torch.no_grad():
            for parameter in self.policy.parameters():
                parameter.fill_(float("nan"))

    monkeypatch.setattr(PolicyModule, "on_fit_start", poisoned_start)
    args = ["fit", "--config", str(CONFIGS / "debug.yaml"), "--guard.max_skipped_steps_in_a_row", "2"]
    assert run_cli(*args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: 2 training steps in a row") and "non-finite" in error


@pytest.mark.parametrize("task", [TargetTask("hey", vocab="ehy"), AdditionTask(1, 3)], ids=["target", "addition"])
def test_a_tensor_verified_rollout_runs_no_python_loop_over_episodes(task, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a per-episode string path ran")

    monkeypatch.setattr(RewardFunction, "episode", refuse)
    monkeypatch.setattr(type(task), "process", refuse)
    monkeypatch.setattr(type(task), "outcome", refuse)
    monkeypatch.setattr(CharTokenizer, "decode", refuse)
    policy, tokenizer = policy_for(task)
    prompts = task.sample_prompts(8, torch.Generator().manual_seed(0))
    rollout = make_rollout(
        policy, task, tokenizer, RewardFunction("outcome+process+shaping"), prompts, 4, torch.Generator()
    )
    assert rollout.tokens.shape[0] == 32 and torch.isfinite(rollout.rewards).all()


def addition_completions(task: AdditionTask, prompts: list[str], generator: torch.Generator) -> list[str]:
    """Right answers, and answers broken in every way a scratchpad can be (a wrong or missing piece, cut short)."""
    completions = []
    for prompt in prompts:
        right = task.demonstrate(prompt)
        cut = int(torch.randint(0, len(right) + 1, (1,), generator=generator))
        spot = int(torch.randint(0, len(right), (1,), generator=generator))
        noise = "".join(task.vocab[int(i)] for i in torch.randint(0, len(task.vocab), (6,), generator=generator))
        changed = right[:spot] + noise[0] + right[spot + 1 :]
        completions += [right, right[:cut], changed, noise, right.replace(";", "", 1), right + ";", ""]
    return completions


@pytest.mark.parametrize("reward", REWARDS)
def test_addition_tensor_verdicts_equal_the_string_verifier(reward):
    task, reward_fn = AdditionTask(1, 4), RewardFunction(reward, gamma=0.9)
    tokenizer = CharTokenizer(task.vocab)
    prompts = task.sample_prompts(40, torch.Generator().manual_seed(1)) + ["0+0=", "999+1="]
    completions = addition_completions(task, prompts, torch.Generator().manual_seed(2))
    rows = torch.arange(len(prompts)).repeat_interleave(len(completions) // len(prompts))
    ends = torch.randint(0, 2, (len(completions),), generator=torch.Generator().manual_seed(3)).bool()
    width = task.max_length + 2  # room for a stray ";" and the end token
    tokens = torch.full((len(completions), width), PAD)
    for row, (completion, end) in enumerate(zip(completions, ends.tolist())):
        ids = tokenizer.encode(completion) + ([EOS] if end or not completion else [])
        tokens[row, : len(ids)] = torch.tensor(ids)
    num_chars = torch.tensor([len(c) for c in completions])
    num_actions = (tokens != PAD).sum(-1)
    verdicts = task.verify_tokens(prompts, rows, tokens - SPECIALS, num_chars)
    rewards, outcome, solved = reward_fn.batch(verdicts, num_actions)
    for row, (completion, actions) in enumerate(zip(completions, num_actions.tolist())):
        prompt = prompts[rows[row]]
        expected, expected_outcome, expected_solved = reward_fn.episode(task, prompt, completion, actions)
        torch.testing.assert_close(rewards[row, :actions], expected, msg=f"{prompt} {completion!r}")
        assert float(outcome[row]) == pytest.approx(expected_outcome), (prompt, completion)
        assert bool(solved[row]) == expected_solved and int(verdicts.mistakes[row]) == task.mistakes(prompt, completion)
    assert solved.any() and not solved.all()


def test_a_device_stream_is_made_on_its_device_and_restored_from_its_state():
    stream = DeviceGenerator(7)
    first = stream.on(torch.device("cpu"))
    torch.rand(3, generator=first)
    state = stream.state_dict()
    expected = torch.rand(3, generator=first)
    resumed = DeviceGenerator(7)
    resumed.load_state_dict(state)
    assert torch.equal(torch.rand(3, generator=resumed.on(torch.device("cpu"))), expected)
    assert DeviceGenerator(7).state_dict() is None  # not made yet: still at its seed


def test_the_rollout_streams_resume_from_the_datamodule_state():
    datamodule = RolloutDataModule(AdditionTask(1, 2), batch_size=8, group_size=2)
    policy, _ = policy_for(datamodule.task)
    datamodule.attach_policy(policy)
    datamodule.next_rollout()
    state = datamodule.state_dict()
    assert state["device_generators"] == [None]  # on a CPU the uniforms come from the CPU stream
    expected = datamodule.next_rollout()
    resumed = RolloutDataModule(AdditionTask(1, 2), batch_size=8, group_size=2)
    resumed.attach_policy(policy)
    resumed.load_state_dict(state)
    again = resumed.next_rollout()
    assert torch.equal(again.tokens, expected.tokens) and list(again.prompts) == list(expected.prompts)
