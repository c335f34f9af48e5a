"""One GRU step per token for sampling, with the first layer's input side looked up instead of multiplied.

The input side of layer 0 for a token, W_ih @ embedding[token] + b_ih, is a fixed (3H,) vector per vocabulary
entry: one (V, 3H) table, built once per sampling call from the current weights, replaces a (B, E) x (E, 3H)
matmul per step. The recurrent (B, H) x (H, 3H) matmul stays: it is the step's real work.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from o1_lightning.policy.gru import GRUPolicy

StepFunction = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def gru_cell(input_side: torch.Tensor, hidden: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor):
    """PyTorch's GRU cell from a precomputed (B, 3H) input side: (B, H) hidden -> (B, H) next hidden.

    The candidate gate's rows of `input_side`, `weight_hh` and `bias_hh` come pre-scaled by 2 (`double_candidate`):
    tanh(a) = 2 sigmoid(2a) - 1, and this CPU build's tanh is ~9x slower than its sigmoid (measured, one thread).
    """
    size = hidden.shape[1]
    recurrent = F.linear(hidden, weight_hh, bias_hh)  # (B, 3H), gates r | z | 2n
    reset_update = torch.sigmoid(input_side[:, : 2 * size] + recurrent[:, : 2 * size])  # (B, 2H)
    reset, update = reset_update[:, :size], reset_update[:, size:]
    candidate = torch.sigmoid(torch.addcmul(input_side[:, 2 * size :], reset, recurrent[:, 2 * size :]))  # (B, H)
    candidate = candidate.mul_(2).sub_(1)  # tanh of the unscaled pre-activation
    return torch.lerp(candidate, hidden, update)  # (1 - z) * n + z * h


def double_candidate(gates: torch.Tensor, dim: int) -> torch.Tensor:
    """A copy of `gates` (its axis `dim` of size 3H: r | z | n) with the candidate gate's part n doubled."""
    scale = candidate_scale(gates.shape[dim], gates.dtype, gates.device)  # (3H,)
    return gates * (scale if dim == gates.dim() - 1 else scale.unsqueeze(1))


@functools.cache
def candidate_scale(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(3H,) ones over the reset and update gates, twos over the candidate gate."""
    scale = torch.ones(size, dtype=dtype, device=device)
    scale[2 * size // 3 :] = 2
    return scale


class PrecomputedStep:
    """`policy.step` for a GRUPolicy, reading the weights once: (B,) tokens, (L, B, H) hidden -> (B, V), (L, B, H).

    Build it after the last weight update and use it for one sampling call (it holds the weights as they were).
    """

    def __init__(self, policy: nn.Module) -> None:
        gru = policy.gru
        self.num_layers, self.hidden_size = gru.num_layers, gru.hidden_size
        table = F.linear(policy.embedding.weight, gru.weight_ih_l0, gru.bias_ih_l0)  # (V, 3H)
        self.input_table = double_candidate(table, 1)
        self.layers = [
            tuple(
                double_candidate(getattr(gru, f"{name}_l{layer}"), 0)
                # layer 0's input side is the table: its input weights are not needed
                for name in (("weight_ih", "bias_ih") if layer else ()) + ("weight_hh", "bias_hh")
            )
            for layer in range(self.num_layers)
        ]
        self.vocab_size = policy.head.weight.shape[0]
        # The head padded to a multiple of 16 rows (zero weights, -inf bias): MKL's matmul with 32 output columns is
        # ~40% faster than with 30 (measured, one thread), and the pad is sliced off the logits.
        padded = -(-self.vocab_size // 16) * 16
        self.head_weight = F.pad(policy.head.weight, (0, 0, 0, padded - self.vocab_size))  # (V', H)
        bias = policy.head.bias + policy.action_bias  # (V,) masked actions at -inf
        self.head_bias = F.pad(bias, (0, padded - self.vocab_size), value=float("-inf"))  # (V',)

    def __call__(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        input_side = F.embedding(tokens, self.input_table)  # (B, 3H) rows of the table
        states = []
        for layer, weights in enumerate(self.layers):
            if layer:
                input_side = F.linear(states[-1], weights[0], weights[1])  # (B, 3H) from the layer below
            states.append(gru_cell(input_side, hidden[layer], weights[-2], weights[-1]))
        logits = F.linear(states[-1], self.head_weight, self.head_bias)[:, : self.vocab_size]  # (B, V)
        return logits, torch.stack(states) if self.num_layers > 1 else states[0].unsqueeze(0)

    def encode(self, prompt_tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`GRUPolicy.encode` one step per prompt column: (P, S) right-padded prompts -> (P, V) logits, (L, P, H).

        Sampling's prompts are few and short (often the lone BOS), where a step costs less than packing a sequence
        for nn.GRU; a row keeps its state once its own prompt has ended.
        """
        batch, width = prompt_tokens.shape
        hidden = torch.zeros(self.num_layers, batch, self.hidden_size, device=prompt_tokens.device)
        logits = None
        for column in range(width):
            step_logits, step_hidden = self(prompt_tokens[:, column], hidden)
            if logits is None or bool((lengths > column).all()):
                logits, hidden = step_logits, step_hidden
            else:
                reading = (lengths > column).to(prompt_tokens.device)  # (P,) rows still inside their prompt
                logits = torch.where(reading.unsqueeze(1), step_logits, logits)
                hidden = torch.where(reading.view(1, -1, 1), step_hidden, hidden)
        return logits, hidden


def one_layer_step(tokens, hidden, input_table, weight_hh, bias_hh, head_weight, head_bias, vocab_size):
    """PrecomputedStep of a one-layer GRU as a function of tensors only, the form torch.compile takes."""
    state = gru_cell(F.embedding(tokens, input_table), hidden[0], weight_hh, bias_hh)  # (B, H)
    return F.linear(state, head_weight, head_bias)[:, :vocab_size], state.unsqueeze(0)


_compiled_one_layer_step: StepFunction | None = None


def step_function(policy: nn.Module, compiled: bool = False) -> StepFunction:
    """The fastest step the policy offers: PrecomputedStep for a GRUPolicy (torch.compile'd if asked and it has one
    layer), else the policy's own `step`."""
    global _compiled_one_layer_step
    if not isinstance(policy, GRUPolicy):  # e.g. AttentionGRUPolicy: its step also reads its memory
        return policy.step
    step = PrecomputedStep(policy)
    if not compiled or step.num_layers != 1:
        return step
    if _compiled_one_layer_step is None:  # weights are arguments: a weight update does not recompile
        _compiled_one_layer_step = torch.compile(one_layer_step, dynamic=False)
    weight_hh, bias_hh = step.layers[0]
    tables = (step.input_table, weight_hh, bias_hh, step.head_weight, step.head_bias, step.vocab_size)
    return lambda tokens, hidden: _compiled_one_layer_step(tokens, hidden, *tables)


def full_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast switched off while it is on (Lightning's mixed precision wraps test and predict steps in it):
    search and sampling keep float32 states. A no-op otherwise, since entering autocast costs time on a CPU."""
    if torch.is_autocast_enabled(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()
