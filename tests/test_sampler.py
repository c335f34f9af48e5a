"""The one sampler: never a masked token (u = 0, u near 1, ties, rounding, non-finite logits), and its step loop."""

import pytest
import torch

from o1_lightning.policy import sampler as sampler_module
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.gru_step import PrecomputedStep
from o1_lightning.policy.sampler import Samples, binary_search_draw, draw_tokens, sample
from o1_lightning.policy.tokenizer import EOS, PAD, SPECIALS, CharTokenizer

INF = float("inf")
BELOW_ONE = torch.nextafter(torch.tensor(1.0), torch.tensor(0.0)).item()  # the largest float32 below 1


def log_probs(*rows: list[float]) -> torch.Tensor:
    return torch.log_softmax(torch.tensor(rows), dim=-1)


def test_u_zero_takes_the_first_allowed_token_not_a_masked_one():
    # PAD and BOS masked in front, a masked token between: u = 0 lands on cdf = 0 of the masked ones
    drawn = draw_tokens(log_probs([-INF, -INF, 0.0, -INF, 0.0]), torch.tensor([0.0]), EOS)
    assert drawn.tolist() == [2]


def test_u_just_below_one_takes_the_last_allowed_token():
    drawn = draw_tokens(log_probs([-INF, 0.0, 0.0, -INF, -INF]), torch.tensor([BELOW_ONE]), EOS)
    assert drawn.tolist() == [2]


def test_a_draw_above_a_total_rounded_below_one_never_reaches_trailing_masked_tokens():
    # the probabilities sum to just under 1 in float32 and u lies above that: the last positive token, not the tail
    drawn = draw_tokens(log_probs([-INF, 0.3, 1.7, -INF, -INF]), torch.tensor([1.0]), EOS)
    assert drawn.tolist() == [2]


def test_ties_split_at_the_boundary_hand_values():
    # two equal tokens: cdf = [0, .5, .5, 1]; token k when cdf[k-1] <= u < cdf[k]
    rows = log_probs([-INF, 0.0, -INF, 0.0]).repeat(4, 1)
    drawn = draw_tokens(rows, torch.tensor([0.0, 0.49, 0.5, BELOW_ONE]), EOS)
    assert drawn.tolist() == [1, 1, 3, 3]


def test_a_cumulative_sum_that_rounds_up_at_a_masked_token_cannot_pick_it(monkeypatch):
    """A GPU's parallel scan may give a masked token's cdf an ulp above its predecessor's; it is still skipped."""
    cumsum = torch.Tensor.cumsum

    def rounding_scan(self, dim):
        result = cumsum(self, dim)
        result[..., 2] += 1e-3  # the masked token 2 gets a sliver of the interval
        return result

    monkeypatch.setattr(torch.Tensor, "cumsum", rounding_scan)
    drawn = draw_tokens(log_probs([-INF, 0.0, -INF, 0.0]), torch.tensor([0.5]), EOS)
    assert drawn.tolist() == [3]


@pytest.mark.parametrize("bad", [float("nan"), INF])
@pytest.mark.parametrize("greedy", [False, True])
def test_non_finite_logits_give_the_fallback_token_and_a_nan_log_prob(bad, greedy):
    logits = torch.tensor([[-INF, -INF, 0.0, bad, 1.0], [-INF, -INF, 0.0, 1.0, 2.0]])
    rows = torch.log_softmax(logits, dim=-1)
    drawn = draw_tokens(rows, None if greedy else torch.tensor([0.3, 0.3]), SPECIALS)
    assert drawn[0].item() == SPECIALS and drawn[1].item() in (2, 3, 4)
    assert torch.isnan(rows[0].gather(0, drawn[:1])).all()


def test_draw_frequencies_follow_the_probabilities():
    rows = log_probs([-INF, 0.0, 1.0, 2.0]).repeat(200_000, 1)
    drawn = draw_tokens(rows, torch.rand(200_000, generator=torch.Generator().manual_seed(0)), EOS)
    frequencies = torch.bincount(drawn, minlength=4) / 200_000
    torch.testing.assert_close(frequencies, rows[0].exp(), atol=4e-3, rtol=0)


def make_policy(can_stop: bool = True, num_layers: int = 1) -> tuple[GRUPolicy, CharTokenizer]:
    torch.manual_seed(0)
    tokenizer = CharTokenizer("abc")
    return GRUPolicy(tokenizer.size, 8, 16, num_layers, can_stop=can_stop), tokenizer


@pytest.mark.parametrize("num_layers", [1, 2])
def test_precomputed_step_equals_the_gru_step(num_layers):
    policy, _ = make_policy(num_layers=num_layers)
    tokens, hidden = torch.tensor([3, 4, 5, 2]), torch.randn(num_layers, 4, 16)
    logits, next_hidden = policy.step(tokens, hidden)
    fast_logits, fast_hidden = PrecomputedStep(policy)(tokens, hidden)
    torch.testing.assert_close(fast_hidden, next_hidden, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(fast_logits, logits, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("can_stop", [True, False])
def test_uniforms_of_exactly_zero_never_emit_pad(can_stop, monkeypatch):
    real_rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *shape, **kwargs: torch.zeros_like(real_rand(*shape, **kwargs)))
    policy, tokenizer = make_policy(can_stop)
    prompts, lengths = tokenizer.encode_prompts(["", "ab"])
    samples = sample(policy, prompts, lengths, 6, torch.Generator().manual_seed(0), rows=torch.tensor([0, 0, 1]))
    for row, length in zip(samples.tokens.tolist(), samples.lengths.tolist()):
        assert PAD not in row[:length] and all(token == PAD for token in row[length:])


@pytest.mark.parametrize("batch", [6, 64])  # 64 rows of one prompt: the first step is shared (P x V = 6 states)
def test_one_prompt_encoded_once_equals_the_prompt_repeated(batch):
    policy, tokenizer = make_policy()
    generator = torch.Generator().manual_seed(5)
    prompts, lengths = tokenizer.encode_prompts(["ab"])
    expanded = sample(policy, prompts, lengths, 5, generator, rows=torch.zeros(batch, dtype=torch.long))
    repeated, repeated_lengths = tokenizer.encode_prompts(["ab"] * batch)
    generator.manual_seed(5)
    plain = sample(policy, repeated, repeated_lengths, 5, generator)
    assert torch.equal(expanded.tokens, plain.tokens) and torch.equal(expanded.lengths, plain.lengths)
    torch.testing.assert_close(expanded.log_probs, plain.log_probs)


def test_the_binary_search_draw_equals_the_full_rule(monkeypatch):
    """The CPU fast path (one searchsorted) draws exactly what the full rule draws, masked tokens and ties included."""
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(4000, 9, generator=generator).mul_(3).round_()  # rounding makes ties
    logits[:, :2] = -INF  # masked in front, as PAD and BOS are
    logits[torch.rand(4000, 9, generator=generator) < 0.2] = -INF  # masked tokens in between and at the tail
    logits[:, 4] = 0.0  # every row keeps a positive token
    rows = torch.log_softmax(logits, dim=-1)
    uniforms = torch.rand(4000, generator=generator)
    uniforms[:50] = 0.0
    fast = binary_search_draw(rows, uniforms, None)
    assert fast is not None  # the fast path settled every row itself
    monkeypatch.setattr(sampler_module, "binary_search_draw", lambda *args: None)
    assert torch.equal(fast, draw_tokens(rows, uniforms, EOS))


def test_a_draw_the_binary_search_cannot_settle_goes_to_the_full_rule():
    # p = (0.198, 0.802); u = 1 lies above a total rounded below 1: the search lands on the masked tail,
    # so the full rule decides
    rows, uniforms = log_probs([-INF, 0.3, 1.7, -INF, -INF]).repeat(2, 1), torch.tensor([0.1, 1.0])
    assert binary_search_draw(rows, uniforms, None) is None
    assert draw_tokens(rows, uniforms, EOS).tolist() == [1, 2]


def test_draws_through_shared_rows_equal_draws_on_expanded_rows():
    table = log_probs([-INF, -INF, 0.0, 1.0], [-INF, -INF, 2.0, -1.0])  # two distinct distributions
    shared = torch.tensor([1, 0, 0, 1, 1])
    uniforms = torch.tensor([0.1, 0.5, 0.9, 0.95, 0.99])
    assert torch.equal(draw_tokens(table, uniforms, EOS, shared), draw_tokens(table[shared], uniforms, EOS))


@pytest.mark.parametrize("can_stop", [True, False])
def test_rows_sharing_a_prefix_sample_what_rows_stepped_one_by_one_sample(can_stop, monkeypatch):
    """Sharing the GRU state of rows that drew the same prefix changes no sample (SHARE_LIMIT 0: never shared)."""
    policy, tokenizer = make_policy(can_stop)
    prompts, lengths = tokenizer.encode_prompts(["", "ab"])
    rows = torch.tensor([0, 1]).repeat_interleave(200)

    def draw() -> Samples:
        return sample(policy, prompts, lengths, 7, torch.Generator().manual_seed(1), rows=rows)

    shared = draw()
    monkeypatch.setattr(sampler_module, "SHARE_LIMIT", 0.0)
    alone = draw()
    assert torch.equal(shared.tokens, alone.tokens) and torch.equal(shared.lengths, alone.lengths)
    torch.testing.assert_close(shared.log_probs, alone.log_probs)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_the_step_by_step_prompt_encoding_equals_the_gru_encoding(num_layers):
    policy, tokenizer = make_policy(num_layers=num_layers)
    prompts, lengths = tokenizer.encode_prompts(["", "ab", "cabca"])  # lengths 1, 3 and 6 with BOS
    logits, hidden = policy.encode(prompts, lengths)
    fast_logits, fast_hidden = PrecomputedStep(policy).encode(prompts, lengths)
    torch.testing.assert_close(fast_hidden, hidden, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(fast_logits, logits, atol=1e-6, rtol=1e-5)
