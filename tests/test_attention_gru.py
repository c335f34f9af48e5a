"""AttentionGRUPolicy: the GRU policy interface with an attention head over earlier states."""

import math

import torch

from o1_lightning.policy import AttentionGRUPolicy, CharTokenizer, join_sequences, policy_from_checkpoint, sample
from o1_lightning.policy.attention_gru import causal_attention
from o1_lightning.policy.gru import log_probs_and_entropy
from o1_lightning.rewards.scorers import PolicyLogProbScorer
from o1_lightning.search import beam_search, greedy, mcts
from o1_lightning.tasks import AdditionTask

from .conftest import CONFIGS
from .helpers import run_cli


def make_policy(seed: int = 0, **kwargs) -> tuple[AttentionGRUPolicy, CharTokenizer]:
    torch.manual_seed(seed)
    tokenizer = CharTokenizer("0123456789+=;")
    return AttentionGRUPolicy(tokenizer.size, embedding_dim=8, hidden_size=16, max_length=12, **kwargs), tokenizer


def test_attention_by_hand():
    """Weights are softmax(q . k / sqrt(d)) over the visible slots; a masked slot gets none."""
    values = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]]])  # (1, 3, 2)
    keys = torch.tensor([[[0.0, 0.0], [2.0 * math.log(3.0) / 2**0.5, 0.0], [50.0, 50.0]]])  # (1, 3, 2)
    queries = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]])  # (1, 2, 2)
    mask = torch.tensor([[[True, False, False], [True, True, False]]])  # (1, 2, 3)
    # query 2 scores slot 2 at 2 ln 3 / sqrt(2) / sqrt(2) = ln 3 against 0: weights 1/4, 3/4
    context = causal_attention(queries, keys, values, mask)
    torch.testing.assert_close(context, torch.tensor([[[1.0, 0.0], [2.5, 1.5]]]))


def test_stepping_equals_teacher_forcing_across_prompt_lengths():
    policy, tokenizer = make_policy(num_layers=2)
    prompt_tokens, lengths = tokenizer.encode_prompts(["47+85=", "1+2=", "123+4="])
    samples = sample(policy, prompt_tokens, lengths, max_length=12, generator=torch.Generator().manual_seed(1))
    tokens, mask, old_log_probs = join_sequences(prompt_tokens, lengths, samples)
    logits, _ = policy(tokens[:, :-1])
    log_probs, _ = log_probs_and_entropy(logits, tokens[:, 1:])
    torch.testing.assert_close(log_probs[mask], old_log_probs[mask], atol=1e-5, rtol=1e-5)


def test_state_value_equals_the_teacher_forced_value():
    policy, tokenizer = make_policy(value_head=True)
    prompt_tokens, lengths = tokenizer.encode_prompts(["47+85=", "1+2="])
    _, state = policy.encode(prompt_tokens, lengths)
    _, state = policy.step(torch.tensor([5, 7]), state)  # one completion token each: "2", "4"
    tokens = torch.tensor([[1, 7, 10, 13, 11, 8, 14, 5], [1, 4, 13, 5, 14, 7, 0, 0]])  # BOS prompt token, padded
    _, values = policy(tokens)
    torch.testing.assert_close(policy.state_value(state), torch.stack([values[0, 7], values[1, 5]]))


def test_search_runs_on_its_states_and_beam_width_one_is_greedy():
    """HiddenStepper's take/put/table index the state's rows: beam and MCTS run unchanged."""
    policy, tokenizer = make_policy()
    task = AdditionTask(max_digits=1)
    scorer = PolicyLogProbScorer(policy, tokenizer)
    prompts = ["4+8=", "3+5="]
    grd = greedy(policy, tokenizer, task, prompts, task.max_length)
    beam = beam_search(policy, tokenizer, task, prompts, task.max_length, scorer, width=1, expansions=1)
    assert [r.completion for r in beam] == [r.completion for r in grd]
    trees = mcts(policy, tokenizer, task, prompts, 4 * task.max_length, scorer)
    assert all(r.compute <= 4 * task.max_length for r in trees)


def test_attention_is_a_config_option_and_survives_the_checkpoint(in_tmp):
    args = ["--config", str(CONFIGS / "debug.yaml"), "--model.attention", "true", "--trainer.max_steps", "2"]
    assert run_cli("fit", *args) == 0
    policy, _ = policy_from_checkpoint(in_tmp / "checkpoints/debug/last.ckpt")
    assert isinstance(policy, AttentionGRUPolicy)
