"""The policy pillar's floor: the tokenizer, the GRU policy, the one sampler and checkpoint loading.

Everything above may import this package; it imports nothing of ours but `tasks` and `errors`.
"""

from o1_lightning.policy.attention_gru import AttentionGRUPolicy
from o1_lightning.policy.build import build_policy
from o1_lightning.policy.checkpoint import (
    load_policy_weights,
    policy_from_checkpoint,
    read_checkpoint,
    read_policy_weights,
)
from o1_lightning.policy.gru import GRUPolicy, log_probs_and_entropy, policy_device
from o1_lightning.policy.sampler import Samples, draw_tokens, sample
from o1_lightning.policy.sequences import decode_completions, encode_demonstrations, join_sequences
from o1_lightning.policy.tokenizer import BOS, EOS, PAD, SPECIALS, CharTokenizer

__all__ = [
    "AttentionGRUPolicy",
    "BOS",
    "EOS",
    "PAD",
    "SPECIALS",
    "CharTokenizer",
    "GRUPolicy",
    "Samples",
    "build_policy",
    "decode_completions",
    "draw_tokens",
    "encode_demonstrations",
    "join_sequences",
    "load_policy_weights",
    "log_probs_and_entropy",
    "policy_from_checkpoint",
    "policy_device",
    "read_checkpoint",
    "read_policy_weights",
    "sample",
]
