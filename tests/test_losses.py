import torch

from o1_lightning.losses import entropy_bonus, reinforce_loss
from o1_lightning.policy import log_probs_and_entropy


def test_reinforce_loss_by_hand():
    log_probs = torch.tensor([[-1.0, -2.0, -5.0]], requires_grad=True)
    advantages = torch.tensor([[1.0, -0.5, 100.0]])
    mask = torch.tensor([[True, True, False]])
    loss = reinforce_loss(log_probs, advantages, mask)
    assert float(loss) == -((-1.0 * 1.0) + (-2.0 * -0.5)) / 2
    loss.backward()
    torch.testing.assert_close(log_probs.grad, torch.tensor([[-0.5, 0.25, 0.0]]))


def test_entropy_of_uniform_and_masked_logits():
    logits = torch.tensor([[0.0, 0.0, float("-inf"), 0.0]])
    log_probs, entropy = log_probs_and_entropy(logits, torch.tensor([1]))
    torch.testing.assert_close(entropy, torch.log(torch.tensor([3.0])))
    torch.testing.assert_close(log_probs, -torch.log(torch.tensor([3.0])))
    assert float(entropy_bonus(entropy.unsqueeze(0), torch.tensor([[True]]))) > 0
