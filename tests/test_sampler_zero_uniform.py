"""torch.rand returns exactly 0 once in 2^24 draws (every ~1,100 updates of 256 x 60 characters): a sampler that
maps it to the masked pad token crashes the fit. Inverse-CDF sampling must pick the smallest i with cdf_i > u."""

import torch

from o1_lightning.policy import sampler
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import BOS, SPECIALS


def test_a_zero_uniform_samples_a_real_character_not_padding(monkeypatch):
    policy = GRUPolicy(SPECIALS + 4, 8, 16, can_stop=False)
    monkeypatch.setattr(
        sampler.torch, "rand", lambda *size, generator=None, device=None: torch.zeros(*size, device=device)
    )
    samples = sampler.sample(policy, torch.tensor([[BOS]]), torch.tensor([1]), max_length=3)
    assert bool((samples.tokens >= SPECIALS).all()), samples.tokens
    assert bool(torch.isfinite(samples.log_probs).all())
