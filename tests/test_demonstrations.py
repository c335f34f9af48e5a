"""Demonstration batches: the task's solutions in the rollout layout, end token included."""

import torch

from o1_lightning.learning.demonstrations import make_demonstrations
from o1_lightning.policy.tokenizer import BOS, EOS, PAD, CharTokenizer
from o1_lightning.tasks import AdditionTask, TargetTask


def test_addition_demonstrations_end_with_the_end_token():
    task = AdditionTask()
    tokenizer = CharTokenizer(task.vocab)
    batch = make_demonstrations(task, tokenizer, ["47+85=", "1+2="])
    assert batch.completions == ["750=12;481=13;=132", "120=03;=3"]
    first = [BOS, *tokenizer.encode("47+85=750=12;481=13;=132"), EOS]
    assert batch.tokens[0].tolist() == first
    second = [BOS, *tokenizer.encode("1+2=120=03;=3"), EOS]
    assert batch.tokens[1].tolist() == second + [PAD] * (len(first) - len(second))
    # The mask covers the transitions that predict the completion and its end token, nothing else.
    assert batch.action_mask[0].tolist() == [False] * 6 + [True] * 19
    assert batch.action_mask[1].sum() == len("120=03;=3") + 1 and not batch.action_mask[1, :4].any()
    assert batch.lengths.tolist() == [19, 10]
    assert batch.rewards.abs().sum() == 0 and batch.old_log_probs.abs().sum() == 0
    assert batch.success.tolist() == [1.0, 1.0] and batch.group_size == 1


def test_fixed_length_demonstrations_have_no_end_token():
    task = TargetTask("hi")
    batch = make_demonstrations(task, CharTokenizer(task.vocab), ["", ""])
    assert EOS not in batch.tokens.tolist()[0]
    assert batch.action_mask.tolist() == [[True, True]] * 2
    assert torch.equal(batch.lengths, torch.tensor([2, 2]))
