"""Teacher forcing over shared prefixes equals nn.GRU's pass over every row, in values and in gradients."""

import pytest
import torch

from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.shared_prefix import distinct_prefixes, prefix_levels, shared_prefix_features


def test_the_trie_of_three_rows_by_hand():
    tokens = torch.tensor([[1, 2, 3], [1, 2, 4], [1, 5, 3]])
    levels = prefix_levels(tokens)
    assert [len(level.token) for level in levels] == [1, 2, 3]  # "1"; "12", "15"; "123", "124", "153"
    assert levels[0].row_node.tolist() == [0, 0, 0]
    assert levels[1].token.tolist() == [2, 5] and levels[1].parent.tolist() == [0, 0]
    assert levels[1].row_node.tolist() == [0, 0, 1]
    assert levels[2].token.tolist() == [3, 4, 3] and levels[2].parent.tolist() == [0, 0, 1]
    assert levels[2].row_node.tolist() == [0, 1, 2]
    assert distinct_prefixes(levels) == 6


@pytest.mark.parametrize("num_layers", [1, 2])
def test_shared_prefix_pass_equals_nn_gru_with_its_gradients(num_layers):
    torch.manual_seed(0)
    policy = GRUPolicy(12, 8, 16, num_layers, value_head=True)
    tokens = torch.randint(3, 12, (48, 6))
    tokens[:, 0] = 1  # BOS
    tokens[:24, :3] = tokens[0, :3]  # half the rows share a three-token prefix
    tokens[40:] = tokens[39]  # and the last ones are one episode repeated

    def loss_and_grads(features_of):
        policy.zero_grad()
        features = features_of(tokens)
        loss = (features * torch.linspace(-1, 1, features.shape[-1])).sum() + policy.value(features).square().sum()
        loss.backward()
        return features.detach(), [p.grad.clone() for p in policy.parameters() if p.grad is not None]

    shared, shared_grads = loss_and_grads(lambda t: shared_prefix_features(policy.gru, policy.embedding, t))
    plain, plain_grads = loss_and_grads(lambda t: policy.gru(policy.embedding(t))[0])
    assert distinct_prefixes(prefix_levels(tokens)) < tokens.numel()
    torch.testing.assert_close(shared, plain, atol=1e-6, rtol=1e-5)
    assert len(shared_grads) == len(plain_grads)
    for ours, reference in zip(shared_grads, plain_grads):
        torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-4)


def test_policy_forward_uses_the_shared_pass_and_keeps_its_logits():
    torch.manual_seed(1)
    policy = GRUPolicy(10, 8, 16, can_stop=False)
    tokens = torch.randint(3, 10, (32, 5))
    tokens[:, 0] = 1
    logits, _ = policy(tokens)
    features, _ = policy.gru(policy.embedding(tokens))
    allowed = torch.isfinite(logits)
    assert torch.equal(allowed, torch.isfinite(policy._logits(features)))  # the same tokens are masked
    torch.testing.assert_close(logits[allowed], policy._logits(features)[allowed], atol=1e-5, rtol=1e-5)
