import torch

from o1_lightning.learning.buffer import SolutionBuffer
from o1_lightning.policy.sequences import encode_demonstrations
from o1_lightning.policy.tokenizer import BOS, EOS, PAD, CharTokenizer


def test_buffer_keeps_unique_newest_solutions():
    buffer = SolutionBuffer(capacity=2)
    assert buffer.add("p", "a") and buffer.add("p", "b")
    assert not buffer.add("p", "a")  # known: refreshed as the newest, not duplicated
    assert buffer.add("q", "c")  # evicts the oldest, ("p", "b")
    assert list(buffer.items) == [("p", "a"), ("q", "c")]
    restored = SolutionBuffer(capacity=2)
    restored.load_state_dict(buffer.state_dict())
    assert list(restored.items) == list(buffer.items)
    assert set(buffer.sample(8, torch.Generator().manual_seed(0))) <= set(buffer.items)


def test_demonstrations_are_laid_out_like_rollouts():
    tokenizer = CharTokenizer("ab")
    tokens, mask = encode_demonstrations(tokenizer, ["a", ""], ["b", "ab"], end=True)
    assert tokens.tolist() == [[BOS, 3, 4, EOS], [BOS, 3, 4, EOS]]
    assert mask.tolist() == [[False, True, True], [True, True, True]]
    tokens, mask = encode_demonstrations(tokenizer, ["ab", ""], ["b", "a"], end=False)
    assert tokens.tolist() == [[BOS, 3, 4, 4], [BOS, 3, PAD, PAD]]
    assert mask.tolist() == [[False, False, True], [True, False, False]]
