import math

import torch

from o1_lightning.learning.losses import (
    clip_fraction,
    entropy_bonus,
    k3_kl,
    ppo_clip_loss,
    reinforce_loss,
    sft_loss,
    uniform_kl,
    value_loss,
)
from o1_lightning.policy.gru import log_probs_and_entropy


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


def test_uniform_kl_by_hand_over_allowed_actions():
    three_quarters = math.log(3.0)  # logits (log 3, 0): pi = (3/4, 1/4)
    logits = torch.tensor([[three_quarters, 0.0, float("-inf")], [0.0, 0.0, float("-inf")]])
    # 1/2 log(1/2 / 3/4) + 1/2 log(1/2 / 1/4) = 1/2 log(4/3); a uniform policy over the allowed actions: 0
    torch.testing.assert_close(uniform_kl(logits), torch.tensor([0.5 * math.log(4 / 3), 0.0]))


def test_uniform_kl_gradient_does_not_vanish_where_entropy_does():
    """On a nearly deterministic policy the entropy's gradient is ~0; KL(uniform || pi)'s is pi - uniform."""
    logits = torch.tensor([20.0, 0.0, 0.0, 0.0], requires_grad=True)
    uniform_kl(logits).backward()
    pi = torch.softmax(logits.detach(), 0)
    torch.testing.assert_close(logits.grad, pi - 0.25)
    entropy_logits = logits.detach().clone().requires_grad_(True)
    log_probs_and_entropy(entropy_logits, torch.tensor(0))[1].backward()
    assert entropy_logits.grad.abs().max() < 1e-6 < 0.7 < logits.grad.abs().max()


def test_sft_loss_by_hand_ignores_padding():
    log_probs = torch.tensor([[-1.0, -2.0, float("-inf")]], requires_grad=True)
    mask = torch.tensor([[True, True, False]])
    loss = sft_loss(log_probs, mask)
    assert float(loss) == 1.5
    loss.backward()
    torch.testing.assert_close(log_probs.grad, torch.tensor([[-0.5, -0.5, 0.0]]))


def test_k3_kl_by_hand():
    log_probs = torch.log(torch.tensor([0.5, 0.25]))
    ref_log_probs = torch.log(torch.tensor([0.25, 0.25]))
    expected = torch.tensor([0.5 - math.log(0.5) - 1, 0.0])  # r = 1/2 and r = 1
    torch.testing.assert_close(k3_kl(log_probs, ref_log_probs), expected)


def test_k3_kl_is_unbiased_and_never_negative():
    """Averaged over actions drawn from pi, k3 equals KL(pi || pi_ref) exactly."""
    generator = torch.Generator().manual_seed(0)
    pi = torch.softmax(torch.randn(5, generator=generator), 0)
    ref = torch.softmax(torch.randn(5, generator=generator), 0)
    per_action = k3_kl(pi.log(), ref.log())
    assert bool((per_action >= 0).all())
    torch.testing.assert_close((pi * per_action).sum(), (pi * (pi / ref).log()).sum())


def test_ppo_clip_loss_by_hand():
    ratios = torch.tensor([[1.5, 0.5, 1.1, 0.5, 3.0]])
    old_log_probs = torch.tensor([[-1.0, -2.0, -0.5, -1.0, 0.0]])
    log_probs = (old_log_probs + ratios.log()).requires_grad_()
    advantages = torch.tensor([[1.0, 1.0, -1.0, -1.0, 9.0]])
    mask = torch.tensor([[True, True, True, True, False]])
    loss = ppo_clip_loss(log_probs, old_log_probs, advantages, mask, clip_range=0.2)
    # min(rho A, clip(rho) A): 1.2 (clipped), 0.5, -1.1, -0.8 (clipped: the pessimistic side)
    torch.testing.assert_close(loss, torch.tensor(-(1.2 + 0.5 - 1.1 - 0.8) / 4))
    loss.backward()
    # Clipped terms carry no gradient; the others d(-rho A / 4)/d log pi = -rho A / 4.
    torch.testing.assert_close(log_probs.grad, torch.tensor([[0.0, -0.125, 0.275, 0.0, 0.0]]))
    fraction = clip_fraction(log_probs.detach(), old_log_probs, mask, 0.2)
    torch.testing.assert_close(fraction, torch.tensor(0.75))


def test_ppo_clip_loss_on_policy_is_the_policy_gradient():
    """At ratio 1 (the first minibatch), PPO-clip's gradient is REINFORCE's."""
    log_probs = torch.tensor([[-1.0, -3.0]], requires_grad=True)
    advantages = torch.tensor([[2.0, -1.0]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    ppo_clip_loss(log_probs, log_probs.detach(), advantages, mask, 0.2).backward()
    ppo_grad = log_probs.grad.clone()
    log_probs.grad = None
    reinforce_loss(log_probs, advantages, mask).backward()
    torch.testing.assert_close(ppo_grad, log_probs.grad)


def test_value_loss_by_hand():
    values = torch.tensor([[1.0, 2.0, 50.0]], requires_grad=True)
    returns = torch.tensor([[0.0, 4.0, 0.0]])
    mask = torch.tensor([[True, True, False]])
    loss = value_loss(values, returns, mask)
    assert float(loss) == 0.5 * (1.0 + 4.0) / 2
    loss.backward()
    torch.testing.assert_close(values.grad, torch.tensor([[0.5, -1.0, 0.0]]))


def test_masked_losses_stay_finite_with_padding_log_probs():
    """A padding target's log-prob is -inf; off the mask it must not turn the loss or its gradient into NaN."""
    log_probs = torch.tensor([[-1.0, float("-inf")]], requires_grad=True)
    mask = torch.tensor([[True, False]])
    loss = reinforce_loss(log_probs, torch.tensor([[1.0, 0.0]]), mask) + sft_loss(log_probs, mask)
    loss.backward()
    assert torch.isfinite(loss) and bool(torch.isfinite(log_probs.grad).all())
