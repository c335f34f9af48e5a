import torch

from o1_lightning.policy.gru import GRUPolicy, log_probs_and_entropy
from o1_lightning.policy.sampler import sample
from o1_lightning.policy.sequences import join_sequences
from o1_lightning.policy.tokenizer import BOS, EOS, PAD, CharTokenizer

from .conftest import tiny_gru


def make_policy(seed: int = 0, **kwargs) -> tuple[GRUPolicy, CharTokenizer]:
    return tiny_gru("abc+=", seed, embedding_dim=8, **kwargs)


def test_stepping_equals_teacher_forcing():
    policy, tokenizer = make_policy(num_layers=2)
    prompts = ["a+b=", "c="]
    prompt_tokens, lengths = tokenizer.encode_prompts(prompts)
    samples = sample(policy, prompt_tokens, lengths, max_length=6, generator=torch.Generator().manual_seed(1))
    tokens, mask, old_log_probs = join_sequences(prompt_tokens, lengths, samples)
    logits, _ = policy(tokens[:, :-1])
    log_probs, _ = log_probs_and_entropy(logits, tokens[:, 1:])
    torch.testing.assert_close(log_probs[mask], old_log_probs[mask], atol=1e-5, rtol=1e-5)


def test_join_places_completions_after_their_prompts():
    _, tokenizer = make_policy()
    prompt_tokens, lengths = tokenizer.encode_prompts(["ab", ""])
    from o1_lightning.policy.sampler import Samples

    samples = Samples(
        torch.tensor([[5, EOS], [4, 4]]), torch.tensor([[-1.0, -2.0], [-3.0, -4.0]]), torch.tensor([2, 2])
    )
    tokens, mask, old = join_sequences(prompt_tokens, lengths, samples)
    assert tokens.tolist() == [[BOS, 3, 4, 5, EOS], [BOS, 4, 4, PAD, PAD]]
    assert mask.tolist() == [[False, False, True, True], [True, True, False, False]]
    assert old.tolist() == [[0, 0, -1.0, -2.0], [-3.0, -4.0, 0, 0]]


def test_never_samples_special_tokens_and_stops_at_eos():
    policy, tokenizer = make_policy()
    prompt_tokens, lengths = tokenizer.encode_prompts(["a"] * 64)
    samples = sample(policy, prompt_tokens, lengths, max_length=8, generator=torch.Generator().manual_seed(0))
    for row, length in zip(samples.tokens.tolist(), samples.lengths.tolist()):
        actions = row[:length]
        assert PAD not in actions and BOS not in actions
        assert EOS not in actions[:-1]
        assert all(t == PAD for t in row[length:])


def test_fixed_length_policy_never_ends_early():
    policy, tokenizer = make_policy(can_stop=False)
    prompt_tokens, lengths = tokenizer.encode_prompts([""] * 32)
    samples = sample(policy, prompt_tokens, lengths, max_length=5, generator=torch.Generator().manual_seed(0))
    assert samples.lengths.tolist() == [5] * 32 and EOS not in samples.tokens.tolist()


def test_sampling_is_reproducible_from_generator_state():
    policy, tokenizer = make_policy()
    prompt_tokens, lengths = tokenizer.encode_prompts(["a"] * 16)
    first = sample(policy, prompt_tokens, lengths, 6, torch.Generator().manual_seed(3))
    second = sample(policy, prompt_tokens, lengths, 6, torch.Generator().manual_seed(3))
    assert torch.equal(first.tokens, second.tokens)


def test_greedy_takes_the_argmax():
    policy, tokenizer = make_policy()
    prompt_tokens, lengths = tokenizer.encode_prompts(["b"])
    greedy = sample(policy, prompt_tokens, lengths, 4, greedy=True)
    logits, hidden = policy.encode(prompt_tokens, lengths)
    expected = []
    for _ in range(int(greedy.lengths[0])):
        token = logits.argmax(-1)
        expected.append(int(token))
        logits, hidden = policy.step(token, hidden)
    assert greedy.tokens[0, : len(expected)].tolist() == expected
