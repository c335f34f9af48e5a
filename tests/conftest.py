"""Shared test fixtures and stubs: folders, configs, one torch thread, hand-checkable stub policies."""

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import EOS, CharTokenizer

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
DEBUG = str(CONFIGS / "debug.yaml")
HELLO = str(CONFIGS / "hello.yaml")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, so checkpoints/ and lightning_logs/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread is faster, and immune to a busy second core; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_gru(vocab: str, seed: int = 0, **kwargs) -> tuple[GRUPolicy, CharTokenizer]:
    """A GRU policy seeded with `seed` (hidden_size 16 unless given) and its tokenizer."""
    torch.manual_seed(seed)
    tokenizer = CharTokenizer(vocab)
    return GRUPolicy(tokenizer.size, **{"hidden_size": 16, **kwargs}), tokenizer


class TablePolicy(nn.Module):
    """Stub policy: next-token probabilities looked up by the text typed so far (the hidden state holds its id).

    `table` maps that text to {char: prob} ('$' is the end token); unlisted texts are uniform over the vocab. The
    text is the completion alone, or with `read_prompt` the prompt + completion, so that a prefix given as part
    of the prompt is read exactly like one typed.
    """

    def __init__(self, tokenizer: CharTokenizer, table: dict[str, dict[str, float]], read_prompt: bool = False):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the stub a device
        self.tokenizer, self.table, self.read_prompt = tokenizer, table, read_prompt
        self.texts, self.ids = [], {}

    def index(self, text: str) -> int:
        if text not in self.ids:
            self.ids[text] = len(self.texts)
            self.texts.append(text)
        return self.ids[text]

    def logits(self, ids: list[int]) -> torch.Tensor:
        rows = torch.full((len(ids), self.tokenizer.size), float("-inf"))
        uniform = {c: 1 / len(self.tokenizer.vocab) for c in self.tokenizer.vocab}
        for row, i in enumerate(ids):
            for char, p in self.table.get(self.texts[i], uniform).items():
                rows[row, EOS if char == "$" else self.tokenizer.ids[char]] = math.log(p)
        return rows

    def encode(self, prompt_tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prompts = [self.tokenizer.decode(row[1:n]) for row, n in zip(prompt_tokens.tolist(), lengths.tolist())]
        ids = [self.index(p if self.read_prompt else "") for p in prompts]
        return self.logits(ids), torch.tensor(ids, dtype=torch.float).view(1, -1, 1)

    def step(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = [
            self.index(self.texts[i] + self.tokenizer.decode([t]))
            for i, t in zip(hidden[0, :, 0].long().tolist(), tokens.tolist())
        ]
        return self.logits(ids), torch.tensor(ids, dtype=torch.float).view(1, -1, 1)
